import { describe, expect, it } from '@jest/globals';
import type { TaskRecord } from '../../../src/coordination/task-state.js';
import { mayStart, runOrder } from '../../../src/runtime/executor.js';

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

describe('when a queued task may start', () => {
  it.each([
    ['a new task, below the limit', 1, 3, true],
    ['a new task, at the limit', 1, 4, false],
    ['a moved task, at the limit', 2, 4, true],
    ['a moved task, below twice the limit', 3, 7, true],
    ['a moved task, at twice the limit', 2, 8, false],
  ])('%s', (_what, attempt, running, expected) => {
    expect(mayStart(task(7, 1, attempt), running, 4)).toBe(expected);
  });
});
