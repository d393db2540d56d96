import { describe, expect, it } from '@jest/globals';
import { applyDefaults } from '../../../../src/api/v1alpha1/index.js';
import type { Service, Stored } from '../../../../src/kube/objects.js';
import { jobConfigContent } from '../../../../src/operator/reconciler/job-config.js';
import { credentialSecret, desiredDriverService, serviceChange } from '../../../../src/operator/reconciler/job-objects.js';
import { sampleSpec } from '../support/reconciler-world.js';

const job = { namespace: 'team-a', name: 'wordcount', uid: 'uid-1' };

function stored(service: Service, changes: { spec?: Partial<NonNullable<Service['spec']>>; labels?: Record<string, string> } = {}): Stored<Service> {
  return {
    ...service,
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...service.metadata, name: 'wordcount-driver', uid: 's', resourceVersion: '1', creationTimestamp: '2025-01-01T00:00:00Z', ...(changes.labels === undefined ? {} : { labels: changes.labels }) },
    spec: { ...service.spec, ...changes.spec },
  };
}

describe('the driver Service', () => {
  const desired = desiredDriverService(job);

  it('is headless, selects the driver pod and publishes it before it is ready', () => {
    expect(desired.spec).toEqual({
      clusterIP: 'None',
      selector: { 'app.kubernetes.io/name': 'streamkeeper', 'app.kubernetes.io/instance': 'wordcount', 'app.kubernetes.io/component': 'driver', 'app.kubernetes.io/managed-by': 'streamkeeper-operator' },
      publishNotReadyAddresses: true,
    });
    expect(desired.metadata?.ownerReferences?.[0]).toMatchObject({ uid: 'uid-1', controller: true });
  });

  it('is left alone when it matches, with defaults the API server added', () => {
    expect(serviceChange(stored(desired, { spec: { type: 'ClusterIP', sessionAffinity: 'None', clusterIPs: ['None'] } }), desired)).toEqual({ kind: 'none' });
  });

  it('gets its selector and labels patched back when they drift, removing selector keys we do not set', () => {
    const drifted = stored(desired, { spec: { selector: { 'app.kubernetes.io/instance': 'wordcount', extra: 'x' } }, labels: { 'app.kubernetes.io/name': 'other' } });
    const change = serviceChange(drifted, desired);
    expect(change.kind).toBe('patch');
    expect(change).toMatchObject({ patch: { metadata: { labels: desired.metadata?.labels }, spec: { selector: { extra: null, 'app.kubernetes.io/component': 'driver' } } } });
  });

  it('is recreated when it stopped being headless (a cluster IP cannot be removed)', () => {
    expect(serviceChange(stored(desired, { spec: { clusterIP: '10.0.0.7' } }), desired)).toEqual({ kind: 'recreate' });
  });
});

describe('the credential Secret', () => {
  it('holds the credential under the keys the pods read, owned by the job', () => {
    const secret = credentialSecret(job, { user: 'job.team-a.wordcount', password: 'p4ss' });
    expect(secret.metadata?.name).toBe('wordcount-zookeeper');
    expect(secret.stringData).toEqual({ user: 'job.team-a.wordcount', password: 'p4ss' });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StreamingJob', uid: 'uid-1' });
  });
});

describe('the configuration mirrored to ZooKeeper', () => {
  it('carries what the runtime needs from the spec and names Secrets without their content', () => {
    const spec = applyDefaults(
      sampleSpec({
        config: { 'window.size': '10' },
        processor: { builtin: 'filter', params: { field: 'level', equals: 'ERROR' } },
        source: { kafka: { bootstrapServers: ['k:9092'], topics: ['in'], sasl: { mechanism: 'plain', secretRef: { name: 'kafka-user' } }, tls: { caSecretRef: { name: 'kafka-ca' } } } },
        failurePolicy: { poisonRecords: 'deadLetter', deadLetterTopic: 'dead' },
      }),
    );
    expect(jobConfigContent(spec)).toEqual({
      config: { 'window.size': '10' },
      processor: { name: 'filter', params: { field: 'level', equals: 'ERROR' } },
      batchInterval: '5s',
      maxRecordsPerPartition: 10_000,
      partitionGroups: 16,
      maxTaskAttempts: 4,
      source: { bootstrapServers: ['k:9092'], topics: ['in'], startingOffsets: 'latest', secretRef: { name: 'kafka-user' }, caSecretRef: { name: 'kafka-ca' } },
      sink: { bootstrapServers: ['k:9092'], topic: 'counts', delivery: 'exactlyOnce', secretRef: { name: 'kafka-user' }, caSecretRef: { name: 'kafka-ca' } },
      failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'deadLetter', deadLetterTopic: 'dead' },
    });
  });

  it('names a module processor by its path', () => {
    expect(jobConfigContent(applyDefaults(sampleSpec({ processor: { module: '/app/p.mjs' } }))).processor).toEqual({ name: '/app/p.mjs', params: {} });
  });
});
