/**
 * Health that tells the truth, end to end: jobs whose spec is valid but whose world is not (a
 * topic missing, brokers that do not answer, a processor that does not load, a record that is
 * poison). Their pods come up, yet the job is not Ready: the status names the cause and the field
 * to fix, one Event announces it, and once the cause goes the job is Ready again by itself.
 */
import { describe, expect, it } from '@jest/globals';
import type { StreamingJobStatus } from '../../../src/api/v1alpha1/index.js';
import { kafkaBrokers } from '../../harness/servers.js';
import type { E2eWorld } from './support/e2e-world.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import type { WordcountJob } from './support/wordcount-job.js';

type Condition = NonNullable<StreamingJobStatus['conditions']>[number];

function readyOf(status: StreamingJobStatus): Condition | undefined {
  return status.conditions?.find((c) => c.type === 'Ready');
}

/** Waits until Ready is False for `reason`, with a message naming `names` (a field, a resource). */
async function waitForCause(job: WordcountJob, reason: string, names: readonly string[]): Promise<Condition> {
  const stored = await job.waitFor((_job, status) => {
    expect(readyOf(status)).toMatchObject({ status: 'False', reason });
    for (const name of names) expect(readyOf(status)?.message).toContain(name);
  }, `Ready=False for ${reason}`);
  const ready = readyOf((stored.status ?? {}) as StreamingJobStatus);
  if (ready === undefined) throw new Error('no Ready condition');
  return ready;
}

/** Exactly one Warning Event for `reason` about the job (not one per retry or per pass). */
async function expectOneEvent(world: E2eWorld, job: WordcountJob, reason: string): Promise<void> {
  await eventually(async () => {
    const events = (await world.events(job.name)).filter((e) => e.reason === reason);
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('Warning');
  }, `${job.name}: one ${reason} Event`);
}

describe('a job that cannot move data is not Ready, says why, and recovers by itself', () => {
  const e2e = e2eSuite({ name: 'health', ordered: false });

  it('a source topic that does not exist: SourceTopicMissing naming spec.source.kafka.topics; Ready once the topic is created', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('no-source', { executors: 1, sourcePartitions: 1 });
    await world.kafka.admin.deleteTopic(job.sourceTopic);
    await job.apply();
    await job.waitForPodsReady(1);
    await waitForCause(job, 'SourceTopicMissing', ['spec.source.kafka.topics', job.sourceTopic]);
    expect(await job.condition('Stalled')).toMatchObject({ status: 'True', reason: 'SourceTopicMissing' });
    await expectOneEvent(world, job, 'SourceTopicMissing');

    await world.kafka.admin.createTopic(job.sourceTopic, { partitions: 1 });
    await job.produceSample(20);
    await job.waitForRunning(1);
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    expect(await job.condition('Stalled')).toBeUndefined();
    await job.delete();
  }), e2eTimeoutMs);

  it('a sink topic that does not exist (no auto-creation): SinkTopicMissing naming spec.sink.kafka.topic; the output arrives once it is created', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('no-sink', {
      executors: 1,
      sourcePartitions: 1,
      customize: (spec) => ({ ...spec, executors: { ...spec.executors, maxTaskAttempts: 100 } }),
    });
    await world.kafka.admin.deleteTopic(job.sinkTopic);
    await job.produceSample(20);
    await job.apply();
    await waitForCause(job, 'SinkTopicMissing', ['spec.sink.kafka.topic', job.sinkTopic]);
    await expectOneEvent(world, job, 'SinkTopicMissing');

    await world.kafka.admin.createTopic(job.sinkTopic, { partitions: 2 });
    await job.waitForRunning(1);
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    await job.delete();
  }), e2eTimeoutMs);

  it('brokers that do not answer: KafkaUnreachable naming spec.source.kafka.bootstrapServers; Ready once they are fixed', e2e.scenario(async (world) => {
    const brokers = kafkaBrokers();
    const job = await world.wordcountJob('unreachable', {
      executors: 1,
      sourcePartitions: 1,
      customize: (spec) => ({ ...spec, source: { kafka: { ...spec.source.kafka, bootstrapServers: ['127.0.0.1:1'] } }, sink: { kafka: { ...spec.sink.kafka, bootstrapServers: [...brokers] } } }),
    });
    await job.produceSample(20);
    await job.apply();
    await waitForCause(job, 'KafkaUnreachable', ['spec.source.kafka.bootstrapServers', '127.0.0.1:1']);
    await expectOneEvent(world, job, 'KafkaUnreachable');

    await job.patchSpec({ source: { kafka: { bootstrapServers: [...brokers] } } });
    await job.waitForRunning(1);
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    await job.delete();
  }), e2eTimeoutMs);

  it('a processor module absent from the image: ProcessorFailed naming spec.processor.module and the module', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('no-module', {
      executors: 1,
      sourcePartitions: 1,
      customize: (spec) => ({ ...spec, processor: { module: '/opt/streamkeeper/processors/absent.mjs' }, executors: { ...spec.executors, maxTaskAttempts: 100 } }),
    });
    await job.produceSample(5);
    await job.apply();
    await waitForCause(job, 'ProcessorFailed', ['spec.processor.module', '/opt/streamkeeper/processors/absent.mjs']);
    expect(await job.condition('Stalled')).toMatchObject({ status: 'True', reason: 'ProcessorFailed' });
    await expectOneEvent(world, job, 'ProcessorFailed');
    await job.delete();
  }), e2eTimeoutMs);

  it('a record that is not JSON with poisonRecords: fail: the failed batch names the record and spec.failurePolicy.poisonRecords', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('poison', {
      executors: 1,
      sourcePartitions: 1,
      customize: (spec) => ({ ...spec, processor: { builtin: 'filter', params: { field: 'level', equals: 'ERROR' } }, failurePolicy: { poisonRecords: 'fail' }, executors: { ...spec.executors, maxTaskAttempts: 2 } }),
    });
    await job.produce(['this is not JSON']);
    await job.apply();
    await job.waitFor((_job, status) => {
      expect(status.phase).toBe('Failed');
      expect(readyOf(status)).toMatchObject({ status: 'False', reason: 'BatchFailed' });
      expect(readyOf(status)?.message).toContain('cause (PoisonRecord)');
      expect(readyOf(status)?.message).toContain(`${job.sourceTopic}/0@0`);
      expect(readyOf(status)?.message).toContain('spec.failurePolicy.poisonRecords');
    }, 'Failed, with the poison record as the cause');
    await job.delete();
  }), e2eTimeoutMs);

  it('a SASL secretRef naming a Secret that does not exist: PodConfigError naming the pod and the Secret', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('no-secret', {
      executors: 1,
      sourcePartitions: 1,
      customize: (spec) => ({ ...spec, source: { kafka: { ...spec.source.kafka, sasl: { mechanism: 'plain', secretRef: { name: 'absent-sasl' } } } } }),
    });
    await job.apply();
    await waitForCause(job, 'PodConfigError', [`pod ${job.name}-driver`, 'absent-sasl']);
    expect(await job.condition('Stalled')).toMatchObject({ status: 'True', reason: 'PodConfigError' });
    await expectOneEvent(world, job, 'PodConfigError');
    await job.delete();
  }), e2eTimeoutMs);

  it('an image that is not a streamkeeper image: ImagePullFailed naming the pod and the image', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('wrong-image', { executors: 1, sourcePartitions: 1, customize: (spec) => ({ ...spec, image: 'example.com/not-streamkeeper:1.0' }) });
    await job.apply();
    await waitForCause(job, 'ImagePullFailed', [`pod ${job.name}-driver`, 'example.com/not-streamkeeper:1.0']);
    await job.delete();
  }), e2eTimeoutMs);
});
