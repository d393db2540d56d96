import { describe, expect, it } from '@jest/globals';
import { builtinParamDocs, parseBuiltinParams, parseFieldPath } from '../../../src/api/v1alpha1/processor-params.js';
import { builtinProcessors } from '../../../src/api/v1alpha1/schema.js';
import type { BuiltinProcessor } from '../../../src/api/v1alpha1/types.js';

function problems(builtin: BuiltinProcessor, params: Record<string, string>): (string | undefined)[][] {
  const parsed = parseBuiltinParams(builtin, params);
  return parsed.ok ? [] : parsed.problems.map((p) => [p.param, p.message]);
}

describe('builtin processor params', () => {
  it('documents every builtin', () => {
    expect(Object.keys(builtinParamDocs).sort()).toEqual([...builtinProcessors].sort());
  });

  describe('passthrough', () => {
    it('takes no params', () => {
      expect(parseBuiltinParams('passthrough', {})).toEqual({ ok: true, params: {} });
      expect(parseBuiltinParams('passthrough')).toEqual({ ok: true, params: {} });
      expect(problems('passthrough', { x: '1' })).toEqual([['x', 'unknown param: passthrough takes no params']]);
    });
  });

  describe('filter', () => {
    it('compares a field with equals', () => {
      expect(parseBuiltinParams('filter', { field: 'user.country', equals: 'NL' })).toEqual({
        ok: true,
        params: { field: ['user', 'country'], match: { equals: 'NL' } },
      });
    });

    it('matches the whole value or a field with a Unicode regex', () => {
      const whole = parseBuiltinParams('filter', { regex: '^\\p{Lu}' });
      expect(whole.ok && whole.params.field).toBeUndefined();
      expect(whole.ok && 'regex' in whole.params.match && whole.params.match.regex.test('Élan')).toBe(true);
      const onField = parseBuiltinParams('filter', { field: 'msg', regex: 'timeout' });
      expect(onField.ok && onField.params.field).toEqual(['msg']);
    });

    it.each([
      ['no condition', { field: 'a' }, [[undefined, 'filter needs exactly one of equals or regex']]],
      ['both conditions', { field: 'a', equals: 'x', regex: 'x' }, [[undefined, 'filter needs exactly one of equals or regex']]],
      ['equals without field', { equals: 'x' }, [['field', 'filter with equals needs field']]],
      ['a regex that does not compile', { regex: '[' }, [['regex', expect.stringContaining('does not compile')]]],
      ['an empty path segment', { field: 'a..b', equals: 'x' }, [['field', expect.stringContaining('dotted field path')]]],
      ['an unknown param', { field: 'a', equals: 'x', ignoreCase: 'true' }, [['ignoreCase', 'unknown param: filter takes field, equals, regex']]],
    ])('refuses %s', (_name, params, expected) => {
      expect(problems('filter', params)).toEqual(expected);
    });
  });

  describe('map', () => {
    it('names each output property by name= or by the path\'s last segment', () => {
      expect(parseBuiltinParams('map', { fields: 'id, country = user.address.country,user.name' })).toEqual({
        ok: true,
        params: {
          fields: [
            { name: 'id', path: ['id'] },
            { name: 'country', path: ['user', 'address', 'country'] },
            { name: 'name', path: ['user', 'name'] },
          ],
        },
      });
    });

    it.each([
      ['no fields', {}, [['fields', expect.stringContaining('map needs fields')]]],
      ['blank fields', { fields: ' ' }, [['fields', expect.stringContaining('map needs fields')]]],
      ['an empty entry', { fields: 'a,,b' }, [['fields', '"" is not path or name=path']]],
      ['an empty name', { fields: '=a' }, [['fields', '"=a" is not path or name=path']]],
      ['a name used twice', { fields: 'a.id, b.id' }, [['fields', 'output property "id" is named twice']]],
    ])('refuses %s', (_name, params, expected) => {
      expect(problems('map', params)).toEqual(expected);
    });
  });

  describe('wordcount', () => {
    it('counts the whole value in lower case by default', () => {
      expect(parseBuiltinParams('wordcount', {})).toEqual({ ok: true, params: { field: undefined, lowercase: true } });
      expect(parseBuiltinParams('wordcount', { field: 'text', lowercase: 'false' })).toEqual({ ok: true, params: { field: ['text'], lowercase: false } });
    });

    it('refuses a lowercase that is not true or false', () => {
      expect(problems('wordcount', { lowercase: 'yes' })).toEqual([['lowercase', 'must be true or false']]);
    });
  });
});

describe('parseFieldPath', () => {
  it.each([
    ['a', ['a']],
    ['a.b.c', ['a', 'b', 'c']],
    ['', undefined],
    ['a.', undefined],
    ['.a', undefined],
  ])('%s', (text, path) => {
    expect(parseFieldPath(text)).toEqual(path);
  });
});
