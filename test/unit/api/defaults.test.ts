import { describe, expect, it } from '@jest/globals';
import { applyDefaults, applySchemaDefaults, sinkCluster } from '../../../src/api/v1alpha1/defaults.js';
import { openApiV3Schema } from '../../../src/api/v1alpha1/crd.js';
import type { StreamingJobSpec } from '../../../src/api/v1alpha1/types.js';

function minimalSpec(): StreamingJobSpec {
  return {
    image: 'streamkeeper:dev',
    source: { kafka: { bootstrapServers: ['kafka:9092'], topics: ['in'] } },
    sink: { kafka: { topic: 'out' } },
    processor: { builtin: 'passthrough' },
  };
}

/** Every `default` the CRD declares, by JSON path under spec. */
function declaredDefaults(): Map<string, unknown> {
  const found = new Map<string, unknown>();
  const walk = (node: Record<string, unknown>, path: string): void => {
    if (node.default !== undefined) found.set(path, node.default);
    for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
      walk(child, path === '' ? name : `${path}.${name}`);
    }
  };
  const spec = (openApiV3Schema().properties as Record<string, Record<string, unknown>>).spec;
  if (spec !== undefined) walk(spec, '');
  return found;
}

function at(value: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

describe('applyDefaults', () => {
  it('fills in the defaults the API server would', () => {
    const spec = applyDefaults(minimalSpec());
    expect(spec).toMatchObject({
      imagePullPolicy: 'IfNotPresent',
      suspend: false,
      batchInterval: '5s',
      source: { kafka: { startingOffsets: 'latest', maxRecordsPerPartition: 10000 } },
      sink: { kafka: { delivery: 'exactlyOnce' } },
      driver: {},
      executors: { replicas: 2, maxTaskAttempts: 4, terminationGracePeriodSeconds: 30 },
      failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'fail' },
    });
    // The type says so too: defaulted fields are no longer optional.
    const replicas: number = spec.executors.replicas;
    expect(replicas).toBe(2);
  });

  it('applies every default the CRD declares, from the same values', () => {
    const spec = applyDefaults({
      ...minimalSpec(),
      source: {
        kafka: {
          bootstrapServers: ['kafka:9092'],
          topics: ['in'],
          tls: { caSecretRef: { name: 'ca' } },
          sasl: { mechanism: 'plain', secretRef: { name: 'creds' } },
        },
      },
      sink: { kafka: { topic: 'out', tls: { caSecretRef: { name: 'ca' } }, sasl: { mechanism: 'plain', secretRef: { name: 'creds' } } } },
      aggregation: { module: '/app/aggregator.mjs', window: { type: 'tumbling', size: '1m' } },
    });
    const declared = declaredDefaults();
    expect(declared.size).toBeGreaterThanOrEqual(20);
    for (const [path, value] of declared) {
      // An object default ({}) is filled in further by its own properties' defaults.
      if (typeof value === 'object') expect({ path, value: at(spec, path) }).toMatchObject({ path, value });
      else expect({ path, value: at(spec, path) }).toEqual({ path, value });
    }
  });

  it('fills defaults inside optional blocks only when the block is present', () => {
    const spec = applyDefaults({
      ...minimalSpec(),
      source: { kafka: { bootstrapServers: ['kafka:9092'], topics: ['in'], tls: {} } },
    });
    expect(spec.source.kafka.tls).toEqual({ enabled: true });
    expect(spec.source.kafka.sasl).toBeUndefined();
    expect(spec.sink.kafka.tls).toBeUndefined();
  });

  it('keeps values that are set', () => {
    const spec = applyDefaults({
      ...minimalSpec(),
      suspend: true,
      batchInterval: '250ms',
      executors: { replicas: 0 },
      failurePolicy: { poisonRecords: 'skip' },
    });
    expect(spec.suspend).toBe(true);
    expect(spec.batchInterval).toBe('250ms');
    expect(spec.executors).toEqual({ replicas: 0, maxTaskAttempts: 4, terminationGracePeriodSeconds: 30 });
    expect(spec.failurePolicy).toEqual({ onTaskExhausted: 'fail', poisonRecords: 'skip' });
  });

  it('treats null as absent, as the API server does for non-nullable fields', () => {
    const spec = applyDefaults({ ...minimalSpec(), batchInterval: null, config: null } as unknown as StreamingJobSpec);
    expect(spec.batchInterval).toBe('5s');
    expect('config' in spec).toBe(false);
  });

  it('does not modify its input or share default objects between results', () => {
    const input = minimalSpec();
    const before = structuredClone(input);
    const first = applyDefaults(input);
    const second = applyDefaults(input);
    expect(input).toEqual(before);
    first.executors.replicas = 9;
    expect(second.executors.replicas).toBe(2);
    expect(applyDefaults(input).executors.replicas).toBe(2);
  });

  it('leaves values it has no schema for alone', () => {
    expect(applySchemaDefaults('text', { type: 'string' } as never)).toBe('text');
    expect(applySchemaDefaults([1, 2], { type: 'array' } as never)).toEqual([1, 2]);
  });
});

describe('sinkCluster', () => {
  const tls = { enabled: true };
  const sasl = { mechanism: 'scram-sha-512' as const, secretRef: { name: 'creds', usernameKey: 'username', passwordKey: 'password' } };

  it('writes to the source cluster with its TLS and SASL when the sink names no brokers', () => {
    const spec = applyDefaults({
      ...minimalSpec(),
      source: { kafka: { bootstrapServers: ['a:9093'], topics: ['in'], tls, sasl } },
    });
    expect(sinkCluster(spec)).toEqual({ bootstrapServers: ['a:9093'], tls, sasl });
  });

  it('lets a sink on the source cluster use its own credentials', () => {
    const own = { ...sasl, secretRef: { ...sasl.secretRef, name: 'writer' } };
    const spec = applyDefaults({
      ...minimalSpec(),
      source: { kafka: { bootstrapServers: ['a:9093'], topics: ['in'], tls, sasl } },
      sink: { kafka: { topic: 'out', sasl: own } },
    });
    expect(sinkCluster(spec)).toEqual({ bootstrapServers: ['a:9093'], tls, sasl: own });
  });

  it('uses only the sink\'s own settings when it names its brokers', () => {
    const spec = applyDefaults({
      ...minimalSpec(),
      source: { kafka: { bootstrapServers: ['a:9093'], topics: ['in'], tls, sasl } },
      sink: { kafka: { topic: 'out', bootstrapServers: ['b:9092'] } },
    });
    expect(sinkCluster(spec)).toEqual({ bootstrapServers: ['b:9092'], tls: undefined, sasl: undefined });
  });
});
