import { describe, expect, it } from '@jest/globals';
import { detectionMs, formatElapsed, formatSeconds, progressLine, summaryLines, type FailureObservation } from '../../../src/demo/demo-report.js';

const failure: FailureObservation = { pod: 'wordcount-executor-0', pid: 42, unfinishedTasks: ['0000000004-00000', '0000000004-00002'], podTerminatedMs: 70, rescheduledMs: 130, znodeGoneMs: 128, operatorDetectedMs: 210, replacementMs: 1730, moves: [] };

describe('demo report', () => {
  it('formats durations for people', () => {
    expect(formatSeconds(134)).toBe('0.13 s');
    expect(formatSeconds(12_345)).toBe('12.3 s');
    expect(formatElapsed(41_400)).toBe('41s');
    expect(formatElapsed(125_000)).toBe('2m 05s');
  });

  it('prints a progress line with every figure', () => {
    const line = progressLine({ elapsedMs: 31_000, phase: 'Running', executors: '2/2', lastBatch: 4, produced: 36_000, committed: 28_500, lag: 7_250 });
    expect(line).toMatch(/31s +phase Running +executors 2\/2 +batch 4 +produced 36,000 +committed 28,500 +lag 7,250/);
    expect(progressLine({ elapsedMs: 0, phase: undefined, executors: undefined, lastBatch: undefined, produced: 0, committed: 0, lag: 0 })).toMatch(/phase - .*batch -/);
  });

  it('takes detection as streamkeeper\'s first reaction, whichever signal it was', () => {
    expect(detectionMs(failure)).toBe(128);
    expect(detectionMs({ ...failure, rescheduledMs: undefined, znodeGoneMs: undefined })).toBe(210);
    expect(detectionMs({ pod: 'p', pid: 1, unfinishedTasks: [], moves: [] })).toBeUndefined();
  });

  it('summarises the run, and says so when the output is not exactly once', () => {
    const summary = { elapsedMs: 41_000, lines: 60_000, words: 450_070, distinctWords: 39, partitions: 4, batches: 10, sinkRecords: 1716, failure, exactlyOnce: true };
    const lines = summaryLines(summary);
    expect(lines).toContain('  input         60,000 lines, 450,070 words (39 distinct), 4 partitions');
    expect(lines).toContain('  output        1,716 committed records in the sink, 11 batches');
    expect(lines.find((l) => l.includes('failure'))).toBe('  failure       executor wordcount-executor-0 SIGKILLed: detected in 0.13 s, 2 tasks rescheduled in 0.13 s, replacement up in 1.73 s');
    expect(lines.find((l) => l.includes('exactly once'))).toMatch(/yes: every word counted exactly/);
    expect(summaryLines({ ...summary, exactlyOnce: false }).find((l) => l.includes('exactly once'))).toMatch(/NO/);
  });
});
