import { describe, expect, it } from '@jest/globals';
import { canonicalJson, configHash, configSyncedCondition, decideConfigWrite, decodeConfigDocument, encodeConfigDocument, maxConfigBytes } from '../../../src/coordination/config-mirror.js';
import { StreamkeeperError } from '../../../src/errors/index.js';
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

  const conditions: [string, Parameters<typeof configSyncedCondition>[0], string, string][] = [
    ['synced when the hashes match', { desiredHash: 'sha256:a', mirroredHash: 'sha256:a' }, 'True', 'Synced'],
    ['pending when they differ', { desiredHash: 'sha256:a', mirroredHash: 'sha256:b' }, 'False', 'Pending'],
    ['pending before anything is mirrored', { desiredHash: 'sha256:a', mirroredHash: undefined }, 'False', 'Pending'],
    ['too large', { desiredHash: undefined, mirroredHash: 'sha256:b', error: new StreamkeeperError('SK_CONFIG_TOO_LARGE', 'big', { field: 'spec.config' }) }, 'False', 'ConfigTooLarge'],
    ['invalid', { desiredHash: undefined, mirroredHash: undefined, error: new StreamkeeperError('SK_INVALID_SPEC', 'bad', { field: 'spec.config.password' }) }, 'False', 'InvalidConfig'],
    ['failed to write', { desiredHash: 'sha256:a', mirroredHash: undefined, error: new StreamkeeperError('SK_ZK_CONNECTION_LOSS', 'lost') }, 'False', 'MirrorFailed'],
  ];
  it.each(conditions)('reports ConfigSynced %s', (_name, input, status, reason) => {
    expect(configSyncedCondition(input)).toMatchObject({ status, reason });
  });

  it('names the field in the ConfigSynced message of a too-large config', () => {
    const condition = configSyncedCondition({ desiredHash: undefined, mirroredHash: undefined, error: new StreamkeeperError('SK_CONFIG_TOO_LARGE', 'is 2000000 bytes', { field: 'spec.config' }) });
    expect(condition.message).toBe('SK_CONFIG_TOO_LARGE: spec.config: is 2000000 bytes');
  });
});
