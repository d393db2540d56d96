import { describe, expect, it } from '@jest/globals';
import type { InputRecord, ProcessorContext } from '../../../../src/runtime/processors/api.js';
import { builtinProcessor } from '../../../../src/runtime/processors/builtins.js';
import { silentLogger } from '../../../../src/logging/logger.js';

function record(offset: number, value: string | null, key: string | null = null): InputRecord {
  return { topic: 'in', partition: 0, offset, key: key === null ? null : Buffer.from(key), value: value === null ? null : Buffer.from(value), headers: [{ key: 'h', value: Buffer.from('v') }], timestamp: 1000 + offset };
}

function context(): ProcessorContext & { rejected: [number, string][] } {
  const rejected: [number, string][] = [];
  return {
    job: { namespace: 'ns', name: 'job' },
    batchId: '0000000001',
    taskId: '0000000001-00000',
    topic: 'in',
    partition: 0,
    attempt: 1,
    params: {},
    config: {},
    logger: silentLogger(),
    reject: (r, reason) => rejected.push([r.offset, reason instanceof Error ? reason.message : String(reason)]),
    rejected,
  };
}

async function run(name: Parameters<typeof builtinProcessor>[0], params: Record<string, string>, records: InputRecord[]) {
  const ctx = context();
  const out = await builtinProcessor(name, params)(records, ctx);
  return { out: out.map((o) => ({ key: o.key === null || o.key === undefined ? null : o.key.toString(), value: o.value === null ? null : o.value.toString() })), rejected: ctx.rejected };
}

describe('passthrough', () => {
  it('copies key, value, headers and timestamp', async () => {
    const input = record(3, 'x', 'k');
    const out = await builtinProcessor('passthrough', {})([input], context());
    expect(out).toEqual([{ key: input.key, value: input.value, headers: input.headers, timestamp: 1003 }]);
  });
});

describe('filter', () => {
  it.each<[string, Record<string, string>, string[], string[]]>([
    ['keeps records whose field equals the text', { field: 'level', equals: 'ERROR' }, ['{"level":"ERROR"}', '{"level":"INFO"}'], ['{"level":"ERROR"}']],
    ['compares numbers by their text', { field: 'code', equals: '42' }, ['{"code":42}', '{"code":7}'], ['{"code":42}']],
    ['matches the whole value with a regex', { regex: '^(WARN|ERROR) ' }, ['ERROR disk', 'INFO ok', 'WARN cpu'], ['ERROR disk', 'WARN cpu']],
    ['matches a nested field with a regex', { field: 'user.country', regex: '^D' }, ['{"user":{"country":"DE"}}', '{"user":{"country":"FR"}}'], ['{"user":{"country":"DE"}}']],
  ])('%s', async (_name, params, values, kept) => {
    const { out } = await run('filter', params, values.map((v, i) => record(i, v)));
    expect(out.map((o) => o.value)).toEqual(kept);
  });

  it('rejects records that are not JSON or lack the field, and goes on', async () => {
    const { out, rejected } = await run('filter', { field: 'level', equals: 'ERROR' }, [record(0, 'not json'), record(1, '{"other":1}'), record(2, '{"level":"ERROR"}'), record(3, null)]);
    expect(out.map((o) => o.value)).toEqual(['{"level":"ERROR"}']);
    expect(rejected.map(([offset]) => offset)).toEqual([0, 1, 3]);
    expect(rejected[1]?.[1]).toBe('the value has no field level');
  });
});

describe('map', () => {
  it('projects and renames fields into a JSON object, keeping the key', async () => {
    const { out } = await run('map', { fields: 'id, country=user.address.country' }, [record(0, '{"id":7,"user":{"address":{"country":"DE"}},"x":1}', 'k')]);
    expect(out).toEqual([{ key: 'k', value: '{"id":7,"country":"DE"}' }]);
  });

  it('rejects a record without one of the fields', async () => {
    const { out, rejected } = await run('map', { fields: 'id' }, [record(0, '{"name":"x"}')]);
    expect(out).toEqual([]);
    expect(rejected).toEqual([[0, 'the value has no field id']]);
  });
});

describe('wordcount', () => {
  it('counts words per task, lower-cased, in first-appearance order', async () => {
    const { out } = await run('wordcount', {}, [record(0, 'The cat and the hat'), record(1, 'Über den Hat: 2 cats, 2 hats!')]);
    expect(out).toEqual([
      { key: 'the', value: '2' },
      { key: 'cat', value: '1' },
      { key: 'and', value: '1' },
      { key: 'hat', value: '2' },
      { key: 'über', value: '1' },
      { key: 'den', value: '1' },
      { key: '2', value: '2' },
      { key: 'cats', value: '1' },
      { key: 'hats', value: '1' },
    ]);
  });

  it('keeps case when asked and reads a field', async () => {
    const { out, rejected } = await run('wordcount', { field: 'text', lowercase: 'false' }, [record(0, '{"text":"Go go"}'), record(1, '{"nope":1}')]);
    expect(out).toEqual([{ key: 'Go', value: '1' }, { key: 'go', value: '1' }]);
    expect(rejected.map(([offset]) => offset)).toEqual([1]);
  });
});

describe('builtin params', () => {
  it('refuses params the builtin does not take, naming the param', () => {
    expect(() => builtinProcessor('passthrough', { field: 'x' })).toThrow(expect.objectContaining({ code: 'SK_INVALID_SPEC', field: 'spec.processor.params[field]' }));
  });
});
