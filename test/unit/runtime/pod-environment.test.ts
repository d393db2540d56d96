import { describe, expect, it } from '@jest/globals';
import { readPodEnvironment, runtimeEnv } from '../../../src/runtime/pod-environment.js';
import { podEnv } from '../../../src/runtime/pod-environment.js';

const base = { STREAMKEEPER_JOB: 'team-a/orders', POD_NAME: 'orders-executor-0', ZK_CONNECT: 'zk:2181/platform', STREAMKEEPER_ZK_USER: 'job.team-a.orders', STREAMKEEPER_ZK_PASSWORD: 'pw' };

describe('readPodEnvironment', () => {
  it('reads what the operator sets on a pod', () => {
    expect(readPodEnvironment({ ...base, STREAMKEEPER_ZK_ROOT: '/sk' })).toEqual({
      job: { namespace: 'team-a', name: 'orders' },
      pod: 'orders-executor-0',
      zkConnect: 'zk:2181/platform',
      zkRoot: '/sk',
      credential: { user: 'job.team-a.orders', password: 'pw' },
      source: {},
      sink: {},
      metricsAddr: undefined,
      kafkaClient: 'librdkafka',
    });
  });

  it('reads which Kafka client library to use and names the variable when it is unknown', () => {
    expect(readPodEnvironment({ ...base, STREAMKEEPER_KAFKA_CLIENT: 'librdkafka' }).kafkaClient).toBe('librdkafka');
    expect(() => readPodEnvironment({ ...base, STREAMKEEPER_KAFKA_CLIENT: 'rdkafka' })).toThrow(/STREAMKEEPER_KAFKA_CLIENT must be one of librdkafka, kafkajs/);
  });

  it('uses the operator\'s variable names', () => {
    expect(runtimeEnv).toMatchObject(podEnv);
  });

  it('lets flags win over the environment', () => {
    const env = readPodEnvironment(base, { job: 'other/job', zkConnect: 'elsewhere:2181', metricsAddr: ':9999' });
    expect(env).toMatchObject({ job: { namespace: 'other', name: 'job' }, zkConnect: 'elsewhere:2181', metricsAddr: ':9999', zkRoot: '/streamkeeper' });
  });

  it('reads TLS and SASL for the source and the sink', () => {
    const env = readPodEnvironment({
      ...base,
      STREAMKEEPER_KAFKA_SOURCE_TLS: 'true',
      STREAMKEEPER_KAFKA_SOURCE_SASL_MECHANISM: 'scram-sha-512',
      STREAMKEEPER_KAFKA_SOURCE_SASL_USERNAME: 'orders-app',
      STREAMKEEPER_KAFKA_SOURCE_SASL_PASSWORD: 's3cret',
      STREAMKEEPER_KAFKA_SINK_TLS_CA: '-----BEGIN CERTIFICATE-----',
    });
    expect(env.source).toEqual({ tls: {}, sasl: { mechanism: 'scram-sha-512', username: 'orders-app', password: 's3cret' } });
    expect(env.sink).toEqual({ tls: { ca: '-----BEGIN CERTIFICATE-----' } });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['no job', { STREAMKEEPER_JOB: '' }, /--job NAMESPACE\/NAME \(or STREAMKEEPER_JOB\) is required/],
    ['a job without namespace', { STREAMKEEPER_JOB: 'orders' }, /STREAMKEEPER_JOB must be NAMESPACE\/NAME/],
    ['no ZooKeeper', { ZK_CONNECT: '' }, /ZK_CONNECT/],
    ['no pod name', { POD_NAME: '' }, /POD_NAME/],
    ['SASL credentials without mechanism', { STREAMKEEPER_KAFKA_SINK_SASL_USERNAME: 'u', STREAMKEEPER_KAFKA_SINK_SASL_PASSWORD: 'p' }, /STREAMKEEPER_KAFKA_SINK_SASL_MECHANISM must be one of/],
    ['half the SASL credentials', { STREAMKEEPER_KAFKA_SOURCE_SASL_USERNAME: 'u' }, /must be set together/],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => readPodEnvironment({ ...base, ...overrides })).toThrow(message);
  });

  it('never falls back to anonymous ZooKeeper access', () => {
    expect(() => readPodEnvironment({ ...base, STREAMKEEPER_ZK_USER: '', STREAMKEEPER_ZK_PASSWORD: '' })).toThrow(expect.objectContaining({ code: 'SK_ZK_CREDENTIALS_MISSING' }));
    expect(readPodEnvironment({ ...base, STREAMKEEPER_ZK_USER: '', STREAMKEEPER_ZK_PASSWORD: '', STREAMKEEPER_ZK_INSECURE_OPEN_ACL: 'true' }).credential).toBeUndefined();
  });
});
