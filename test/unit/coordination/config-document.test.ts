import { describe, expect, it } from '@jest/globals';
import { canonicalJson, configHash, decideConfigWrite, decodeConfigDocument, encodeConfigDocument, maxConfigBytes } from '../../../src/coordination/config-mirror.js';
import { sampleConfig } from '../../contract/zookeeper/coordination-scenarios.js';
import { thrown } from '../../contract/zookeeper/waiting.js';

describe('config document', () => {
  it('hashes equal content equally, whatever the key order', () => {
    const a = sampleConfig({ config: { x: '1', y: { b: 2, a: 1 } } });
    const b = sampleConfig({ config: { y: { a: 1, b: 2 }, x: '1' } });
    expect(configHash(a)).toBe(configHash(b));
    expect(configHash(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(configHash(sampleConfig({ config: { x: '2' } }))).not.toBe(configHash(a));
    expect(canonicalJson({ b: [2, { d: 1, c: 0 }], a: null })).toBe('{"a":null,"b":[2,{"c":0,"d":1}]}');
  });

  it('round-trips through the znode format, and an empty node means nothing published', () => {
    const { data, hash } = encodeConfigDocument(4, sampleConfig());
    expect(decodeConfigDocument(data)).toEqual({ schema: 1, generation: 4, hash, content: sampleConfig() });
    expect(decodeConfigDocument(Buffer.alloc(0))).toBeNull();
    expect(() => decodeConfigDocument(Buffer.from('{"schema":2}'), '/c')).toThrow(/schema 1/);
  });

  it('refuses a document over the limit as an invalid spec naming spec.config', () => {
    const big = sampleConfig({ config: { blob: 'x'.repeat(maxConfigBytes) } });
    expect(thrown(() => encodeConfigDocument(1, big))).toMatchObject({ code: 'SK_CONFIG_TOO_LARGE', kind: 'invalid-spec', field: 'spec.config' });
    expect(maxConfigBytes).toBeLessThan(1024 * 1024);
  });

  it.each(['db.password', 'apiKey', 'SECRET_NAME', 'sasl.jaas.config'])('refuses the secret-looking config key %p', (key) => {
    expect(thrown(() => encodeConfigDocument(1, sampleConfig({ config: { [key]: 'v' } })))).toMatchObject({ code: 'SK_INVALID_SPEC', field: `spec.config.${key}` });
  });

  it('writes only when the mirrored hash differs, conditionally on the version read', () => {
    expect(decideConfigWrite({ hash: 'sha256:a', version: 3 }, 'sha256:a')).toEqual({ write: false });
    expect(decideConfigWrite({ hash: 'sha256:a', version: 3 }, 'sha256:b')).toEqual({ write: true, expectedVersion: 3 });
    expect(decideConfigWrite({ hash: undefined, version: 0 }, 'sha256:b')).toEqual({ write: true, expectedVersion: 0 });
  });
});
