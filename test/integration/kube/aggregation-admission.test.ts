/**
 * The API server's own admission of spec.aggregation, from the generated CRD: defaults, the
 * exactly-once requirement, and the CEL transition rules that keep the state partitions fixed
 * (declared, or implied by the builtin wordcount).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeClient } from '../../../src/kube/client.js';
import { adminKubeClient, createNamespace, deleteNamespace } from '../../harness/kube.js';

function jobSpec(aggregation: Record<string, unknown>, delivery = 'exactlyOnce'): Record<string, unknown> {
  return {
    image: 'streamkeeper/streamkeeper:0.1.0',
    source: { kafka: { bootstrapServers: ['kafka.example:9092'], topics: ['access-logs'] } },
    sink: { kafka: { topic: 'bytes-per-url', delivery } },
    processor: { builtin: 'passthrough' },
    aggregation,
  };
}

const bytesPerUrl = { groupBy: { field: 'url' }, aggregates: [{ name: 'bytes', function: 'sum', field: 'bytes' }] };

async function rejection(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  throw new Error('the API server accepted the request');
}

describe('spec.aggregation on the API server', () => {
  let admin: KubeClient;
  let namespace: string;

  beforeAll(async () => {
    admin = adminKubeClient();
    namespace = await createNamespace('aggregation');
  });

  afterAll(async () => {
    await deleteNamespace(namespace);
  });

  it('defaults statePartitions and stateMemory', async () => {
    const created = await admin.create('StreamingJob', { metadata: { namespace, name: 'defaults' }, spec: jobSpec(bytesPerUrl) });
    expect(created.spec?.aggregation).toMatchObject({ statePartitions: 8, stateMemory: '256Mi', groupBy: { field: 'url' } });
  });

  it('refuses to change statePartitions, naming the field and saying why, and allows other changes', async () => {
    await admin.create('StreamingJob', { metadata: { namespace, name: 'fixed' }, spec: jobSpec({ ...bytesPerUrl, statePartitions: 4 }) });
    const message = await rejection(admin.patch('StreamingJob', { namespace, name: 'fixed' }, { spec: { aggregation: { statePartitions: 8 } } }));
    expect(message).toContain('spec.aggregation.statePartitions');
    expect(message).toContain('statePartitions is fixed when the job is created');
    const patched = await admin.patch('StreamingJob', { namespace, name: 'fixed' }, { spec: { aggregation: { stateMemory: '512Mi' } } });
    expect(patched.spec?.aggregation).toMatchObject({ statePartitions: 4, stateMemory: '512Mi' });
  });

  it('keeps the builtin wordcount\'s implied 8 state partitions when an aggregation is added, and refuses it at-least-once', async () => {
    const wordcount = { ...jobSpec({}), processor: { builtin: 'wordcount' } } as Record<string, unknown>;
    delete wordcount.aggregation;
    await admin.create('StreamingJob', { metadata: { namespace, name: 'words' }, spec: wordcount });
    const message = await rejection(admin.patch('StreamingJob', { namespace, name: 'words' }, { spec: { aggregation: { aggregates: [{ name: 'count', function: 'sum' }], statePartitions: 4 } } }));
    expect(message).toContain('spec.aggregation');
    expect(message).toContain('the builtin wordcount without aggregation has 8');
    const added = await admin.patch('StreamingJob', { namespace, name: 'words' }, { spec: { aggregation: { aggregates: [{ name: 'count', function: 'sum' }] } } });
    expect(added.spec?.aggregation).toMatchObject({ statePartitions: 8 });
    expect(await rejection(admin.create('StreamingJob', { metadata: { namespace, name: 'words-twice' }, spec: { ...wordcount, sink: { kafka: { topic: 'counts', delivery: 'atLeastOnce' } } } }))).toContain('the builtin wordcount keeps running totals per word');
  });

  it('refuses an aggregation without exactly-once delivery, and one with both aggregates and a module', async () => {
    expect(await rejection(admin.create('StreamingJob', { metadata: { namespace, name: 'twice' }, spec: jobSpec(bytesPerUrl, 'atLeastOnce') }))).toContain('an aggregation needs sink.kafka.delivery exactlyOnce');
    expect(await rejection(admin.create('StreamingJob', { metadata: { namespace, name: 'both' }, spec: jobSpec({ ...bytesPerUrl, module: '/app/a.mjs' }) }))).toContain('set exactly one of aggregates or module');
  });
});
