import { describe, expect, it } from '@jest/globals';
import { applyDefaults, StreamingJobSpecSchema, validateSpec, type StreamingJobSpec } from '../../../src/api/v1alpha1/index.js';
import { jobConfigContent } from '../../../src/operator/reconciler/job-config.js';

type Json = Record<string, unknown>;

function spec(aggregation: Json, sink: Json = { topic: 'out' }): Json {
  return {
    image: 'streamkeeper:dev',
    source: { kafka: { bootstrapServers: ['kafka-0.kafka:9092'], topics: ['in'] } },
    sink: { kafka: sink },
    processor: { builtin: 'passthrough' },
    aggregation,
  };
}

const bytesPerUrl = { groupBy: { field: 'url' }, aggregates: [{ name: 'requests', function: 'count' }, { name: 'bytes', function: 'sum', field: 'bytes' }] };

describe('spec.aggregation', () => {
  it('accepts a builtin aggregation and defaults the state partitions and memory', () => {
    expect(validateSpec(spec(bytesPerUrl))).toEqual([]);
    const defaulted = applyDefaults(spec(bytesPerUrl) as StreamingJobSpec);
    expect(defaulted.aggregation).toMatchObject({ statePartitions: 8, stateMemory: '256Mi', groupBy: { field: 'url' } });
  });

  it('accepts a module aggregator grouped by the record key', () => {
    expect(validateSpec(spec({ module: '/app/distinct-users.mjs' }))).toEqual([]);
  });

  it.each<[string, Json, Json | undefined, string, string]>([
    ['neither aggregates nor module', {}, undefined, 'spec.aggregation', 'exactly one of aggregates or module'],
    ['both aggregates and module', { ...bytesPerUrl, module: '/app/a.mjs' }, undefined, 'spec.aggregation', 'exactly one of aggregates or module'],
    ['a count with a field', { aggregates: [{ name: 'n', function: 'count', field: 'x' }] }, undefined, 'spec.aggregation.aggregates[0].field', 'count takes no field'],
    ['an empty path segment', { aggregates: [{ name: 'b', function: 'sum', field: 'a..b' }] }, undefined, 'spec.aggregation.aggregates[0].field', 'dotted field path'],
    ['a bad group-by path', { groupBy: { field: '.url' }, aggregates: [{ name: 'n', function: 'count' }] }, undefined, 'spec.aggregation.groupBy.field', 'dotted field path'],
    ['a duplicate aggregate name', { aggregates: [{ name: 'n', function: 'count' }, { name: 'n', function: 'sum' }] }, undefined, 'spec.aggregation.aggregates[1].name', 'used by an earlier aggregate'],
    ['too little state memory', { ...bytesPerUrl, stateMemory: '1Mi' }, undefined, 'spec.aggregation.stateMemory', 'at least 16Mi'],
    ['at-least-once delivery', bytesPerUrl, { topic: 'out', delivery: 'atLeastOnce' }, 'spec.aggregation', 'exactlyOnce'],
  ])('refuses %s, naming the field', (_name, aggregation, sink, field, message) => {
    const findings = validateSpec(spec(aggregation, sink));
    expect(findings).toContainEqual({ field, message: expect.stringContaining(message) as unknown });
  });

  it('keeps statePartitions immutable with a CEL transition rule whose message names the field and says why', () => {
    const aggregation = (StreamingJobSpecSchema.properties as Record<string, Json>).aggregation;
    const rules = (aggregation?.['x-kubernetes-validations'] ?? []) as { rule: string; message: string; fieldPath?: string }[];
    const transition = rules.find((r) => r.rule.includes('oldSelf'));
    expect(transition).toEqual({ rule: 'self.statePartitions == oldSelf.statePartitions', fieldPath: '.statePartitions', message: expect.stringMatching(/^statePartitions is fixed when the job is created: .*state partition its hash selects/) as unknown });
  });

  it('is mirrored to ZooKeeper as the runtime reads it', () => {
    expect(jobConfigContent(applyDefaults(spec({ ...bytesPerUrl, statePartitions: 4, stateMemory: '64Mi' }) as StreamingJobSpec)).aggregation).toEqual({
      groupBy: 'url',
      aggregates: [{ name: 'requests', function: 'count' }, { name: 'bytes', function: 'sum', field: 'bytes' }],
      statePartitions: 4,
      stateMemoryBytes: 64 * 1024 * 1024,
      standbyReplicas: 1,
    });
    expect(jobConfigContent(applyDefaults(spec({ module: '/app/a.mjs', standbyReplicas: 0 }) as StreamingJobSpec)).aggregation).toEqual({ module: '/app/a.mjs', statePartitions: 8, stateMemoryBytes: 256 * 1024 * 1024, standbyReplicas: 0 });
  });

  it('leaves a stateless job\'s config without an aggregation', () => {
    const stateless = spec(bytesPerUrl);
    delete stateless.aggregation;
    expect('aggregation' in jobConfigContent(applyDefaults(stateless as StreamingJobSpec))).toBe(false);
  });
});

describe('the builtin wordcount without spec.aggregation', () => {
  const wordcount = (sink: Json = { topic: 'out' }, aggregation?: Json): Json => {
    const job = spec(aggregation ?? {}, sink);
    job.processor = { builtin: 'wordcount' };
    if (aggregation === undefined) delete job.aggregation;
    return job;
  };

  it('runs running totals per word: a sum of its per-task counts grouped by word, in the default state partitions', () => {
    expect(validateSpec(wordcount())).toEqual([]);
    expect(jobConfigContent(applyDefaults(wordcount() as StreamingJobSpec)).aggregation).toEqual({
      aggregates: [{ name: 'count', function: 'sum' }],
      statePartitions: 8,
      stateMemoryBytes: 256 * 1024 * 1024,
      standbyReplicas: 1,
    });
  });

  it('runs the spec\'s aggregation instead when it declares one', () => {
    const content = jobConfigContent(applyDefaults(wordcount({ topic: 'out' }, { aggregates: [{ name: 'total', function: 'sum' }], statePartitions: 2 }) as StreamingJobSpec));
    expect(content.aggregation).toEqual({ aggregates: [{ name: 'total', function: 'sum' }], statePartitions: 2, stateMemoryBytes: 256 * 1024 * 1024, standbyReplicas: 1 });
  });

  it('refuses at-least-once delivery, naming the field and saying why', () => {
    expect(validateSpec(wordcount({ topic: 'out', delivery: 'atLeastOnce' }))).toContainEqual({ field: 'spec.sink.kafka.delivery', message: expect.stringContaining('running totals per word, which needs exactlyOnce') as unknown });
  });

  it('keeps its implied state partitions when an aggregation is added or removed later (CEL transition rule on the spec)', () => {
    const rules = ((StreamingJobSpecSchema as unknown as Json)['x-kubernetes-validations'] ?? []) as { rule: string; message: string; fieldPath?: string }[];
    const transition = rules.find((r) => r.rule.includes('oldSelf'));
    expect(transition).toMatchObject({ fieldPath: '.aggregation', message: expect.stringContaining('the builtin wordcount without aggregation has 8') as unknown });
    expect(transition?.rule).toContain("self.processor.builtin == 'wordcount') ? 8 : 0)");
  });
});
