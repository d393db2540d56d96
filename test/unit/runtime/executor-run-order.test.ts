import { describe, expect, it } from '@jest/globals';
import type { TaskRecord } from '../../../src/coordination/task-state.js';
import { runOrder } from '../../../src/runtime/executor.js';

function task(batch: number, n: number, attempt = 1): TaskRecord {
  const id = `${String(batch).padStart(10, '0')}-${String(n).padStart(5, '0')}`;
  return { id, batch: id.slice(0, 10), ranges: [{ topic: 'in', partition: n, from: '0', to: '1' }], state: 'assigned', owner: 'e-1', attempt, failures: attempt - 1 };
}

describe('the order an executor runs its queued tasks in', () => {
  it('runs a batch\'s moved tasks first, then the rest by id', () => {
    const queued = [task(7, 1), task(7, 4, 2), task(7, 2), task(7, 3, 3)];
    expect([...queued].sort(runOrder).map((t) => t.id)).toEqual(['0000000007-00003', '0000000007-00004', '0000000007-00001', '0000000007-00002']);
  });

  it('never runs a later batch\'s task before an earlier batch\'s, moved or not', () => {
    const queued = [task(8, 1, 2), task(7, 2), task(8, 0), task(7, 1)];
    expect([...queued].sort(runOrder).map((t) => t.id)).toEqual(['0000000007-00001', '0000000007-00002', '0000000008-00001', '0000000008-00000']);
  });
});
