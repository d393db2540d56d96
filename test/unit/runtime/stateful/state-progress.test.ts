import { describe, expect, it } from '@jest/globals';
import type { TaskRecord } from '../../../../src/coordination/task-state.js';
import { foldStateProgress } from '../../../../src/runtime/stateful/state-progress.js';

const repartition = 'streamkeeper.ns.job.repartition';
const at = '2026-05-06T07:08:09.000Z';

function task(partition: number, overrides: Partial<TaskRecord> = {}, topic = repartition): TaskRecord {
  return { id: `0000000001-${partition}`, batch: '0000000001', ranges: [{ topic, partition, from: '0', to: '10' }], state: 'succeeded', owner: 'executor-0', attempt: 1, failures: 0, ...overrides };
}

describe('the aggregation state the driver reports for the status', () => {
  it('keeps each state partition\'s size from its last committed aggregate task, and the batch\'s slowest restore', () => {
    const first = foldStateProgress(undefined, [
      task(0, { stateReport: { keys: 10, bytes: 1000, restore: { records: 50, millis: 20, full: true } } }),
      task(1, { stateReport: { keys: 5, bytes: 500, restore: { records: 900, millis: 300, full: true } } }),
      task(0, {}, 'lines'),
    ], repartition, at);
    expect(first).toEqual({ partitions: { 0: { keys: 10, bytes: 1000 }, 1: { keys: 5, bytes: 500 } }, lastRestore: { partition: 1, records: 900, millis: 300, full: true, at } });

    // A later batch ran partition 1 only, restoring nothing: partition 0 keeps its size, the restore stays the last one.
    const second = foldStateProgress(first, [task(1, { stateReport: { keys: 7, bytes: 700 } })], repartition, '2026-05-06T07:09:00.000Z');
    expect(second).toEqual({ partitions: { 0: { keys: 10, bytes: 1000 }, 1: { keys: 7, bytes: 700 } }, lastRestore: { partition: 1, records: 900, millis: 300, full: true, at } });
  });

  it('ignores tasks that did not succeed or report no state, and reports nothing without any', () => {
    expect(foldStateProgress(undefined, [task(0), task(1, { state: 'exhausted', stateReport: { keys: 1, bytes: 1 } }), task(2, { stateReport: { keys: 3, bytes: 30 } }, 'lines')], repartition, at)).toBeUndefined();
  });
});
