import { describe, expect, it } from '@jest/globals';
import { configHash, type JobConfigContent, type JobConfigDocument } from '../../../src/coordination/config-mirror.js';
import { batchPlan, decodePlanContext, jobSettings, planContext } from '../../../src/runtime/job-settings.js';
import { jobConfig } from '../../support/operator-stand-in.js';

function document(content: JobConfigContent, generation = 3): JobConfigDocument {
  return { schema: 1, generation, hash: configHash(content), content };
}

describe('jobSettings', () => {
  it('reads what the driver plans with and what tasks are processed with', () => {
    const content = jobConfig({ processor: { name: 'filter', params: { regex: '^a', n: 3 } }, batchInterval: '1m30s', config: { greeting: 'hi' }, failurePolicy: { onTaskExhausted: 'degrade', poisonRecords: 'deadLetter', deadLetterTopic: 'dlq' } });
    const settings = jobSettings(document(content));
    expect(settings.planning).toEqual({ batchIntervalMs: 90_000, maxRecordsPerPartition: 1000, partitionGroups: 16, topics: ['in'], startingOffsets: 'earliest', onTaskExhausted: 'degrade' });
    expect(settings.processing).toEqual({ processor: 'filter', params: { regex: '^a', n: '3' }, sinkTopic: 'out', delivery: 'exactlyOnce', poisonRecords: 'deadLetter', deadLetterTopic: 'dlq' });
    expect(settings.config).toEqual({ greeting: 'hi' });
    expect(settings.generation).toBe(3);
  });

  it.each<[string, Partial<JobConfigContent>, string]>([
    ['an unreadable batch interval', { batchInterval: 'soon' }, 'spec.batchInterval'],
    ['no source topic', { source: { bootstrapServers: ['b:9092'], topics: [] } }, 'spec.source.kafka.topics'],
    ['deadLetter without a topic', { failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'deadLetter' } }, 'spec.failurePolicy.deadLetterTopic'],
  ])('refuses %s, naming the field', (_name, overrides, field) => {
    expect(() => jobSettings(document(jobConfig(overrides)))).toThrow(expect.objectContaining({ code: 'SK_INVALID_SPEC', field }));
  });
});

describe('plan context', () => {
  it('round-trips through a batch record', () => {
    const settings = jobSettings(document(jobConfig()));
    expect(decodePlanContext(JSON.parse(JSON.stringify(planContext(settings))) as Record<string, unknown>)).toEqual(planContext(settings));
  });

  it('is undefined for a batch without one, or with one this version cannot read', () => {
    expect(decodePlanContext(undefined)).toBeUndefined();
    expect(decodePlanContext({ config: { generation: 1, hash: 'h' }, processing: { processor: 'x', params: {}, sinkTopic: 'o', delivery: 'twice', poisonRecords: 'fail' } })).toBeUndefined();
  });

  it('records everything a task runs with: processing settings, the config map and both clusters\' brokers', () => {
    const settings = jobSettings(document(jobConfig({ config: { greeting: 'hi' }, source: { bootstrapServers: ['src:9092'], topics: ['in'] }, sink: { bootstrapServers: ['dst:9092'], topic: 'out', delivery: 'exactlyOnce' } })));
    const recorded = JSON.parse(JSON.stringify(planContext(settings, 42))) as Record<string, unknown>;
    expect(batchPlan('0000000007', { plannedWith: recorded })).toEqual({
      config: { generation: 3, hash: settings.hash },
      processing: settings.processing,
      configMap: { greeting: 'hi' },
      brokers: { source: ['src:9092'], sink: ['dst:9092'] },
      watermark: 42,
    });
  });

  const complete = JSON.parse(JSON.stringify(planContext(jobSettings(document(jobConfig()))))) as Record<string, unknown>;
  it.each<[string, Record<string, unknown> | undefined]>([
    ['no plan at all (written before batches recorded one)', undefined],
    ['no config map', { ...complete, configMap: undefined }],
    ['no brokers', { ...complete, brokers: undefined }],
    ['brokers that are not a list of addresses', { ...complete, brokers: { source: 'src:9092', sink: ['dst:9092'] } }],
  ])('refuses to run a task of a batch with %s, naming the batch, instead of using the live configuration', (_what, plannedWith) => {
    expect(() => batchPlan('0000000007', plannedWith === undefined ? {} : { plannedWith })).toThrow(expect.objectContaining({ code: 'SK_ZK_ERROR', field: 'batches/0000000007.plannedWith' }));
  });

  it('says a task whose batch is gone is stale', () => {
    expect(() => batchPlan('0000000007', null)).toThrow(expect.objectContaining({ code: 'SK_TASK_STALE' }));
  });
});

describe('aggregation settings', () => {
  const aggregation = { groupBy: 'url', aggregates: [{ name: 'bytes', function: 'sum', field: 'bytes' }], statePartitions: 4, stateMemoryBytes: 1 << 26 };

  it('are processing settings, recorded with each batch', () => {
    const settings = jobSettings(document(jobConfig({ aggregation })));
    expect(settings.processing.aggregation).toEqual(aggregation);
    expect(decodePlanContext(JSON.parse(JSON.stringify(planContext(settings))) as Record<string, unknown>)).toEqual(planContext(settings));
  });

  it.each<[string, Partial<JobConfigContent>, string]>([
    ['an unknown function', { aggregation: { ...aggregation, aggregates: [{ name: 'b', function: 'median' }] } }, 'spec.aggregation.aggregates[0].function'],
    ['no state partitions', { aggregation: { ...aggregation, statePartitions: 0 } }, 'spec.aggregation.statePartitions'],
    ['at-least-once delivery', { aggregation, sink: { bootstrapServers: ['b:9092'], topic: 'out', delivery: 'atLeastOnce' } }, 'spec.aggregation'],
  ])('refuses %s, naming the field', (_name, overrides, field) => {
    expect(() => jobSettings(document(jobConfig(overrides)))).toThrow(expect.objectContaining({ code: 'SK_INVALID_SPEC', field }));
  });
});
