import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { apiVersion, kind } from '../../../src/api/v1alpha1/constants.js';
import { applyDefaults } from '../../../src/api/v1alpha1/defaults.js';
import { StreamingJobSchema } from '../../../src/api/v1alpha1/schema.js';
import type { StreamingJob } from '../../../src/api/v1alpha1/types.js';
import { validateStreamingJob } from '../../../src/api/v1alpha1/validation.js';

const samplesDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'manifests', 'samples');
const samples = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml')).sort();

function load(file: string): StreamingJob {
  return parse(readFileSync(join(samplesDir, file), 'utf8')) as StreamingJob;
}

describe('the sample StreamingJobs', () => {
  it('include wordcount, passthrough and filter-deadletter', () => {
    expect(samples).toEqual(expect.arrayContaining(['wordcount.yaml', 'passthrough.yaml', 'filter-deadletter.yaml']));
  });

  it.each(samples)('%s matches the schema once defaulted', (file) => {
    const job = load(file);
    expect([job.apiVersion, job.kind]).toEqual([apiVersion, kind]);
    const defaulted = { ...job, spec: applyDefaults(job.spec) };
    expect([...Value.Errors(StreamingJobSchema, defaulted)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    expect(Value.Check(StreamingJobSchema, defaulted)).toBe(true);
  });

  it.each(samples)('%s passes validation', (file) => {
    expect(validateStreamingJob(load(file))).toEqual([]);
  });

  it('wordcount reads text-lines and writes word-counts exactly once with 2 executors', () => {
    const spec = applyDefaults(load('wordcount.yaml').spec);
    expect(spec.source.kafka.topics).toEqual(['text-lines']);
    expect(spec.sink.kafka).toMatchObject({ topic: 'word-counts', delivery: 'exactlyOnce' });
    expect(spec.processor.builtin).toBe('wordcount');
    expect(spec.executors.replicas).toBe(2);
  });

  it('filter-deadletter sends poison records to a dead-letter topic', () => {
    const spec = applyDefaults(load('filter-deadletter.yaml').spec);
    expect(spec.processor.builtin).toBe('filter');
    expect(spec.failurePolicy).toMatchObject({ poisonRecords: 'deadLetter', deadLetterTopic: expect.any(String) });
  });
});

describe('the minimal StreamingJob in the README', () => {
  it('is valid as written and matches the schema once defaulted', () => {
    const readme = readFileSync(join(samplesDir, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## A minimal StreamingJob'));
    const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const job = parse(block ?? '') as StreamingJob;
    expect(validateStreamingJob(job)).toEqual([]);
    const spec = applyDefaults(job.spec);
    expect(Value.Check(StreamingJobSchema, { ...job, spec })).toBe(true);
    // What the README says the defaults are.
    expect(spec).toMatchObject({ batchInterval: '5s', source: { kafka: { startingOffsets: 'latest' } }, sink: { kafka: { delivery: 'exactlyOnce' } } });
  });
});
