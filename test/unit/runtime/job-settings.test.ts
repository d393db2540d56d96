import { describe, expect, it } from '@jest/globals';
import { configHash, type JobConfigContent, type JobConfigDocument } from '../../../src/coordination/config-mirror.js';
import { decodePlanContext, jobSettings, planContext } from '../../../src/runtime/job-settings.js';
import { jobConfig } from '../../support/operator-stand-in.js';

function document(content: JobConfigContent, generation = 3): JobConfigDocument {
  return { schema: 1, generation, hash: configHash(content), content };
}

describe('jobSettings', () => {
  it('reads what the driver plans with and what tasks are processed with', () => {
    const content = jobConfig({ processor: { name: 'filter', params: { regex: '^a', n: 3 } }, batchInterval: '1m30s', config: { greeting: 'hi' }, failurePolicy: { onTaskExhausted: 'degrade', poisonRecords: 'deadLetter', deadLetterTopic: 'dlq' } });
    const settings = jobSettings(document(content));
    expect(settings.planning).toEqual({ batchIntervalMs: 90_000, maxRecordsPerPartition: 1000, topics: ['in'], startingOffsets: 'earliest', onTaskExhausted: 'degrade' });
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
