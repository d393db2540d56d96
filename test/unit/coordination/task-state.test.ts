import { describe, expect, it } from '@jest/globals';
import { batchOutcome, decodeTask, encodeTask, newTask, nextTaskState, rescheduleReason, type TaskEvent, type TaskRecord } from '../../../src/coordination/task-state.js';

const range = { topic: 'in', partition: 0, from: '0', to: '10' };
const base = newTask('0000000001-00000', '0000000001', { ranges: [range] }, 'a');
const task = (overrides: Partial<TaskRecord>): TaskRecord => ({ ...base, ...overrides });
const claim = (owner: string, attempt: number) => ({ owner, attempt });

describe('task state machine', () => {
  const cases: [string, TaskRecord, TaskEvent, { kind: string; next?: Partial<TaskRecord> }][] = [
    ['the holder completes its attempt', task({}), { type: 'complete', claim: claim('a', 1), outcome: 'succeeded' }, { kind: 'write', next: { state: 'succeeded', owner: 'a', attempt: 1 } }],
    ['the holder reports a failure', task({}), { type: 'complete', claim: claim('a', 1), outcome: 'failed', error: 'boom' }, { kind: 'write', next: { state: 'failed', error: 'boom' } }],
    ['a completion from another executor is stale', task({}), { type: 'complete', claim: claim('b', 1), outcome: 'succeeded' }, { kind: 'stale' }],
    ['a completion of an earlier attempt is stale', task({ owner: 'a', attempt: 2 }), { type: 'complete', claim: claim('a', 1), outcome: 'succeeded' }, { kind: 'stale' }],
    ['a retried completion that went through is a no-op', task({ state: 'succeeded' }), { type: 'complete', claim: claim('a', 1), outcome: 'succeeded' }, { kind: 'noop' }],
    ['a failure after success is stale', task({ state: 'succeeded' }), { type: 'complete', claim: claim('a', 1), outcome: 'failed', error: 'x' }, { kind: 'stale' }],
    ['a completion of an exhausted task is stale', task({ state: 'exhausted' }), { type: 'complete', claim: claim('a', 1), outcome: 'succeeded' }, { kind: 'stale' }],
    ['a completion of a released task is stale', task({ state: 'released' }), { type: 'complete', claim: claim('a', 1), outcome: 'succeeded' }, { kind: 'stale' }],
    ['the holder releases an unstarted task', task({}), { type: 'release', claim: claim('a', 1) }, { kind: 'write', next: { state: 'released', owner: 'a', attempt: 1 } }],
    ['a release by another executor is stale', task({}), { type: 'release', claim: claim('b', 1) }, { kind: 'stale' }],
    ['a repeated release is a no-op', task({ state: 'released' }), { type: 'release', claim: claim('a', 1) }, { kind: 'noop' }],
    ['a dead owner\'s task goes to a live executor with the next attempt', task({}), { type: 'reschedule', reason: 'owner-dead', to: 'b', maxTaskAttempts: 3 }, { kind: 'write', next: { state: 'assigned', owner: 'b', attempt: 2, failures: 1 } }],
    ['a dead owner\'s last attempt exhausts the task', task({ attempt: 3, failures: 2 }), { type: 'reschedule', reason: 'owner-dead', to: 'b', maxTaskAttempts: 3 }, { kind: 'write', next: { state: 'exhausted', owner: 'a', attempt: 3, failures: 3 } }],
    ['exhaustion needs no live executor', task({}), { type: 'reschedule', reason: 'owner-dead', to: undefined, maxTaskAttempts: 1 }, { kind: 'write', next: { state: 'exhausted', failures: 1 } }],
    ['without a live executor a task waits', task({}), { type: 'reschedule', reason: 'owner-dead', to: undefined, maxTaskAttempts: 3 }, { kind: 'noop' }],
    ['a released task moves without counting a failure', task({ state: 'released', failures: 2 }), { type: 'reschedule', reason: 'released', to: 'b', maxTaskAttempts: 3 }, { kind: 'write', next: { state: 'assigned', owner: 'b', attempt: 2, failures: 2 } }],
    ['a failed task is retried', task({ state: 'failed', error: 'boom' }), { type: 'reschedule', reason: 'failed', to: 'b', maxTaskAttempts: 3 }, { kind: 'write', next: { state: 'assigned', owner: 'b', attempt: 2, failures: 1, error: 'boom' } }],
    ['a failed task past its attempts is exhausted', task({ state: 'failed', failures: 2 }), { type: 'reschedule', reason: 'failed', to: 'b', maxTaskAttempts: 3 }, { kind: 'write', next: { state: 'exhausted', failures: 3 } }],
    ['a task that changed state meanwhile is left alone', task({ state: 'succeeded' }), { type: 'reschedule', reason: 'owner-dead', to: 'b', maxTaskAttempts: 3 }, { kind: 'noop' }],
    ['a task reassigned meanwhile is not a released one', task({ owner: 'c', attempt: 2 }), { type: 'reschedule', reason: 'released', to: 'b', maxTaskAttempts: 3 }, { kind: 'noop' }],
  ];

  it.each(cases)('%s', (_name, current, event, expected) => {
    const transition = nextTaskState(current, event);
    expect(transition.kind).toBe(expected.kind);
    if (expected.next !== undefined) expect(transition).toMatchObject({ next: expected.next });
  });

  it('names owner and attempt in a stale verdict', () => {
    const verdict = nextTaskState(task({ owner: 'b', attempt: 2 }), { type: 'complete', claim: claim('a', 1), outcome: 'succeeded' });
    expect(verdict).toEqual({ kind: 'stale', reason: 'task 0000000001-00000 is assigned (owner b, attempt 2); a completion from a attempt 1 is stale' });
  });

  it('says which tasks must change hands', () => {
    const live = (pod: string) => pod === 'a';
    expect(rescheduleReason(task({}), live)).toBeUndefined();
    expect(rescheduleReason(task({ owner: 'gone' }), live)).toBe('owner-dead');
    expect(rescheduleReason(task({ state: 'released' }), live)).toBe('released');
    expect(rescheduleReason(task({ state: 'failed' }), live)).toBe('failed');
    expect(rescheduleReason(task({ state: 'succeeded', owner: 'gone' }), live)).toBeUndefined();
    expect(rescheduleReason(task({ state: 'exhausted', owner: 'gone' }), live)).toBeUndefined();
  });

  it('fails a batch on one exhausted task and succeeds it when all succeeded', () => {
    expect(batchOutcome([task({ state: 'succeeded' }), task({ state: 'assigned' })])).toBe('running');
    expect(batchOutcome([task({ state: 'succeeded' }), task({ state: 'exhausted' })])).toBe('failed');
    expect(batchOutcome([task({ state: 'succeeded' }), task({ state: 'succeeded' })])).toBe('succeeded');
    expect(batchOutcome([])).toBe('running');
  });

  it('round-trips a task through its wire format and refuses anything else', () => {
    expect(decodeTask(encodeTask(base), '/t')).toEqual(base);
    const grouped: TaskRecord = { ...base, group: 3, ranges: [range, { ...range, partition: 4 }] };
    expect(decodeTask(encodeTask(grouped), '/t')).toEqual(grouped);
    expect(() => decodeTask(Buffer.from('nope'), '/t')).toThrow(/does not hold a task/);
    expect(() => decodeTask(Buffer.from('{"id":"x"}'), '/t')).toThrow(/task record/);
  });
});

describe('task wire format across the introduction of partition groups', () => {
  it('reads a task written with a single range (before groups) as a list of one', () => {
    const legacy = { id: '0000000001-00000', batch: '0000000001', range, state: 'assigned', owner: 'a', attempt: 2, failures: 1 };
    expect(decodeTask(Buffer.from(JSON.stringify(legacy)), '/t')).toEqual({ ...base, attempt: 2, failures: 1 });
  });

  it('writes a one-partition task without a group as before, so executors of the previous version read it', () => {
    expect(JSON.parse(encodeTask(base).toString())).toEqual({ id: base.id, batch: base.batch, range, state: 'assigned', owner: 'a', attempt: 1, failures: 0 });
    expect(JSON.parse(encodeTask({ ...base, group: 0 }).toString())).toMatchObject({ ranges: [range], group: 0 });
  });

  it.each([
    ['no range at all', { ranges: [] }],
    ['several ranges without a group', { ranges: [range, { ...range, partition: 1 }] }],
    ['a range without offsets', { ranges: [{ topic: 'in', partition: 0 }], group: 1 }],
    ['a negative group', { ranges: [range], group: -1 }],
  ])('refuses a task with %s', (_name, shape) => {
    const { range: _ignored, ...rest } = JSON.parse(encodeTask(base).toString()) as Record<string, unknown>;
    expect(() => decodeTask(Buffer.from(JSON.stringify({ ...rest, ...shape })), '/t')).toThrow(/task record/);
  });
});
