import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { demoJob } from '../../../src/demo/demo-job.js';
import { validateStreamingJob } from '../../../src/api/v1alpha1/validation.js';

const sample = readFileSync(new URL('../../../manifests/samples/wordcount.yaml', import.meta.url), 'utf8');
const settings = { namespace: 'default', bootstrapServers: ['127.0.0.1:9092'], batchInterval: '2s', executors: 2 };

describe('the demo job', () => {
  it('is the shipped wordcount sample with only the local cluster\'s settings changed', () => {
    const job = demoJob(sample, settings);
    expect(job).toMatchObject({ name: 'wordcount', source: 'text-lines', sink: 'word-counts', lowercase: true });
    const manifest = parse(job.yaml) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    const original = parse(sample) as { spec: Record<string, unknown> };
    expect(manifest.metadata).toEqual({ name: 'wordcount', namespace: 'default' });
    expect(manifest.spec).toEqual({
      ...original.spec,
      batchInterval: '2s',
      source: { kafka: { ...(original.spec.source as { kafka: object }).kafka, bootstrapServers: ['127.0.0.1:9092'] } },
      executors: { ...(original.spec.executors as object), replicas: 2 },
    });
    expect(job.changes).toContain('spec.source.kafka.bootstrapServers: 127.0.0.1:9092 (the local Kafka)');
  });

  it('passes the same validation the operator applies', () => {
    expect(validateStreamingJob(parse(demoJob(sample, settings).yaml))).toEqual([]);
  });

  it('refuses a manifest that is not a one-topic wordcount StreamingJob, naming the field', () => {
    expect(() => demoJob('kind: Pod\nmetadata: {name: x}\n', settings)).toThrow(expect.objectContaining({ code: 'SK_INVALID_SPEC', field: 'kind' }));
    expect(() => demoJob(sample.replace('builtin: wordcount', 'builtin: passthrough'), settings)).toThrow(expect.objectContaining({ field: 'spec.processor.builtin' }));
    expect(() => demoJob(sample.replace('- text-lines', '- a\n        - b'), settings)).toThrow(expect.objectContaining({ field: 'spec.source.kafka.topics' }));
    expect(() => demoJob('kind: [', settings)).toThrow(expect.objectContaining({ code: 'SK_INVALID_SPEC' }));
  });
});
