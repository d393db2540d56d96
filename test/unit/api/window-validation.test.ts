import { describe, expect, it } from '@jest/globals';
import { applyDefaults, validateSpec, type StreamingJobSpec } from '../../../src/api/v1alpha1/index.js';
import { jobConfigContent } from '../../../src/operator/reconciler/job-config.js';
import { jobSettings } from '../../../src/runtime/job-settings.js';

type Json = Record<string, unknown>;

function spec(window: Json, failurePolicy?: Json): Json {
  return {
    image: 'streamkeeper:dev',
    source: { kafka: { bootstrapServers: ['kafka-0.kafka:9092'], topics: ['views'] } },
    sink: { kafka: { topic: 'views-per-minute' } },
    processor: { builtin: 'passthrough' },
    aggregation: { groupBy: { field: 'url' }, aggregates: [{ name: 'views', function: 'count' }], window },
    ...(failurePolicy === undefined ? {} : { failurePolicy }),
  };
}

const perMinute = { type: 'tumbling', size: '1m', eventTime: { field: 'time' } };

describe('spec.aggregation.window', () => {
  it('accepts a tumbling window and defaults lateness, emit mode, late policy and idle timeout', () => {
    expect(validateSpec(spec(perMinute))).toEqual([]);
    const defaulted = applyDefaults(spec(perMinute) as StreamingJobSpec);
    expect(defaulted.aggregation?.window).toEqual({ ...perMinute, allowedLateness: '0s', emit: 'update', lateRecords: 'drop', idleTimeout: '1m' });
  });

  it('accepts a hopping window over the record timestamp, final, late records to the dead-letter topic', () => {
    const hopping = { type: 'hopping', size: '5m', advance: '1m', allowedLateness: '30s', emit: 'final', lateRecords: 'deadLetter' };
    expect(validateSpec(spec(hopping, { deadLetterTopic: 'late-views' }))).toEqual([]);
  });

  it.each<[string, Json, Json | undefined, string, string]>([
    ['a session window', { type: 'session', size: '1m' }, undefined, 'spec.aggregation.window.type', 'tumbling'],
    ['no size', { type: 'tumbling' }, undefined, 'spec.aggregation.window.size', ''],
    ['a size that is not a duration', { type: 'tumbling', size: 'one minute' }, undefined, 'spec.aggregation.window.size', 'duration'],
    ['a zero size', { type: 'tumbling', size: '0s' }, undefined, 'spec.aggregation.window.size', 'positive'],
    ['hopping without advance', { type: 'hopping', size: '5m' }, undefined, 'spec.aggregation.window.advance', 'required with type hopping'],
    ['tumbling with advance', { type: 'tumbling', size: '5m', advance: '1m' }, undefined, 'spec.aggregation.window.advance', 'only allowed with type hopping'],
    ['an advance beyond the size', { type: 'hopping', size: '1m', advance: '2m' }, undefined, 'spec.aggregation.window.advance', 'at most size'],
    ['too many windows per record', { type: 'hopping', size: '1h', advance: '1s' }, undefined, 'spec.aggregation.window.advance', 'size / 100'],
    ['a bad event-time path', { ...perMinute, eventTime: { field: 'a..b' } }, undefined, 'spec.aggregation.window.eventTime.field', 'dotted field path'],
    ['a lateness that is not a duration', { ...perMinute, allowedLateness: '-1s' }, undefined, 'spec.aggregation.window.allowedLateness', 'duration'],
    ['an unknown emit mode', { ...perMinute, emit: 'always' }, undefined, 'spec.aggregation.window.emit', 'update'],
    ['late records to the dead-letter topic without one', { ...perMinute, lateRecords: 'deadLetter' }, undefined, 'spec.failurePolicy.deadLetterTopic', 'lateRecords is deadLetter'],
    ['a dead-letter topic nothing uses', perMinute, { deadLetterTopic: 'late-views' }, 'spec.failurePolicy.deadLetterTopic', 'only allowed when poisonRecords or aggregation.window.lateRecords is deadLetter'],
  ])('refuses %s, naming the field', (_name, window, failurePolicy, field, message) => {
    const findings = validateSpec(spec(window, failurePolicy));
    expect(findings).toContainEqual({ field, message: expect.stringContaining(message) as unknown });
  });

  it('is mirrored to ZooKeeper in milliseconds and read back by the runtime', () => {
    const hopping = { type: 'hopping', size: '5m', advance: '1m', eventTime: { field: 'request.at' }, allowedLateness: '30s', emit: 'final', lateRecords: 'deadLetter', idleTimeout: '2m' };
    const content = jobConfigContent(applyDefaults(spec(hopping, { deadLetterTopic: 'late-views' }) as StreamingJobSpec));
    const window = { type: 'hopping', sizeMs: 300_000, advanceMs: 60_000, eventTimeField: 'request.at', allowedLatenessMs: 30_000, emit: 'final', lateRecords: 'deadLetter', idleTimeoutMs: 120_000 };
    expect(content.aggregation?.window).toEqual(window);
    const settings = jobSettings({ schema: 1, generation: 1, hash: 'sha256:x', content });
    expect(settings.processing.aggregation?.window).toEqual(window);
    // Late records need the dead-letter topic even though poison records fail the task.
    expect(settings.processing.deadLetterTopic).toBe('late-views');
    expect(settings.processing.poisonRecords).toBe('fail');
  });

  it('mirrors a tumbling window with advance = size and the record timestamp as event time', () => {
    const content = jobConfigContent(applyDefaults(spec({ type: 'tumbling', size: '1m' }) as StreamingJobSpec));
    expect(content.aggregation?.window).toEqual({ type: 'tumbling', sizeMs: 60_000, advanceMs: 60_000, allowedLatenessMs: 0, emit: 'update', lateRecords: 'drop', idleTimeoutMs: 60_000 });
  });
});
