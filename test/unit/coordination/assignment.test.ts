import { describe, expect, it } from '@jest/globals';
import { assignTasks, currentLoad, leastLoaded, planReschedule, rescheduleOutcome, type RescheduleStep, type StepResult } from '../../../src/coordination/assignment.js';
import { newTask, type TaskRecord } from '../../../src/coordination/task-state.js';

const range = { topic: 'in', partition: 0, from: '0', to: '1' };
const task = (n: number, overrides: Partial<TaskRecord> = {}): TaskRecord => ({ ...newTask(`0000000000-${String(n).padStart(5, '0')}`, '0000000000', { ranges: [range] }, 'a'), ...overrides });

describe('who gets which task', () => {
  it.each([
    ['the least-loaded executor', [['a', 3], ['b', 1], ['c', 2]], 'b'],
    ['the first name among equals', [['c', 1], ['a', 1], ['b', 1]], 'a'],
    ['nobody when there are no executors', [], undefined],
  ] as [string, [string, number][], string | undefined][])('picks %s', (_name, load, expected) => {
    expect(leastLoaded(new Map(load))).toBe(expected);
  });

  it('counts only assigned tasks of the given executors', () => {
    const tasks = [task(0), task(1, { owner: 'b' }), task(2, { state: 'succeeded' }), task(3, { owner: 'gone' }), task(4, { state: 'released' })];
    expect(currentLoad(tasks, ['a', 'b', 'c'])).toEqual(new Map([['a', 1], ['b', 1], ['c', 0]]));
  });

  it('spreads new tasks evenly and deterministically', () => {
    const ids = ['t3', 't1', 't2', 't0', 't4'];
    const plan = assignTasks(ids, new Map([['b', 0], ['a', 1]]));
    expect([...plan]).toEqual([['t0', 'b'], ['t1', 'a'], ['t2', 'b'], ['t3', 'a'], ['t4', 'b']]);
    expect(assignTasks(ids, new Map())).toEqual(new Map());
  });

  it('plans a dead executor\'s tasks onto the live ones, least-loaded first, in task order', () => {
    const tasks = [task(0, { owner: 'dead' }), task(1, { owner: 'dead' }), task(2, { owner: 'dead' }), task(3, { owner: 'b' }), task(4, { owner: 'b' })];
    const live = new Set(['a', 'b']);
    const steps = planReschedule(tasks, { isLive: (p) => live.has(p), load: currentLoad(tasks, live), maxTaskAttempts: 3 });
    expect(steps.map((s) => [s.task.id.slice(-1), s.reason, s.transition.kind === 'write' ? s.transition.next.owner : '-'])).toEqual([
      ['0', 'owner-dead', 'a'],
      ['1', 'owner-dead', 'a'],
      ['2', 'owner-dead', 'a'],
    ]);
  });

  it('moves a stateful task to its first live standby, whatever the load, else to the least-loaded', () => {
    const tasks = [task(0, { owner: 'dead', standbys: ['gone', 'c'] }), task(1, { owner: 'dead', standbys: ['gone'] }), task(2, { owner: 'a', state: 'failed', standbys: ['a', 'b'] })];
    const live = new Set(['a', 'b', 'c']);
    const steps = planReschedule(tasks, { isLive: (p) => live.has(p), load: new Map([['a', 0], ['b', 9], ['c', 9]]), maxTaskAttempts: 3 });
    expect(steps.map((s) => (s.transition.kind === 'write' ? s.transition.next.owner : '-'))).toEqual(['c', 'a', 'b']);
  });

  it('retries a failed task on another executor when there is one', () => {
    const tasks = [task(0, { owner: 'a', state: 'failed' })];
    const steps = planReschedule(tasks, { isLive: () => true, load: new Map([['a', 0], ['b', 5]]), maxTaskAttempts: 3 });
    expect(steps[0]?.transition).toMatchObject({ kind: 'write', next: { owner: 'b', attempt: 2 } });
    const alone = planReschedule(tasks, { isLive: () => true, load: new Map([['a', 0]]), maxTaskAttempts: 3 });
    expect(alone[0]?.transition).toMatchObject({ kind: 'write', next: { owner: 'a', attempt: 2 } });
  });

  it('leaves tasks of live executors and finished tasks alone', () => {
    const tasks = [task(0), task(1, { owner: 'gone', state: 'succeeded' }), task(2, { owner: 'gone', state: 'exhausted' })];
    expect(planReschedule(tasks, { isLive: (p) => p === 'a', load: new Map([['a', 1]]), maxTaskAttempts: 3 })).toEqual([]);
  });
});

describe('what a reschedule pass did', () => {
  const isLive = (pod: string): boolean => pod === 'a' || pod === 'b';
  const moving = task(0, { owner: 'dead' });
  const step = (t: TaskRecord, reason: RescheduleStep['reason'] = 'owner-dead'): RescheduleStep => ({ task: t, reason, transition: { kind: 'noop', reason: '' } });

  it.each<[string, TaskRecord, StepResult, { moved: number; exhausted: number; waiting: number; lostRaces: number; tasks: number }]>([
    ['a move it wrote', moving, { outcome: 'written', task: { ...moving, owner: 'a', attempt: 2, failures: 1 } }, { moved: 1, exhausted: 0, waiting: 0, lostRaces: 0, tasks: 1 }],
    ['a task it exhausted', moving, { outcome: 'written', task: { ...moving, state: 'exhausted', failures: 3 } }, { moved: 0, exhausted: 1, waiting: 0, lostRaces: 0, tasks: 1 }],
    ['a task left waiting: no live executor could take it', moving, { outcome: 'noop', task: moving }, { moved: 0, exhausted: 0, waiting: 1, lostRaces: 0, tasks: 1 }],
    ['a race lost: another writer moved the task first', moving, { outcome: 'noop', task: { ...moving, owner: 'b', attempt: 2 } }, { moved: 0, exhausted: 0, waiting: 0, lostRaces: 1, tasks: 1 }],
    ['a task deleted meanwhile (its batch committed)', moving, { outcome: 'gone' }, { moved: 0, exhausted: 0, waiting: 0, lostRaces: 0, tasks: 0 }],
  ])('tells %s', (_what, read, result, expected) => {
    const outcome = rescheduleOutcome([read], [step(read)], [result], isLive);
    expect({ moved: outcome.moved.length, exhausted: outcome.exhausted.length, waiting: outcome.waiting.length, lostRaces: outcome.lostRaces, tasks: outcome.tasks.length }).toEqual(expected);
  });

  it('names each move, counts writes by reason and outcome, and lists every batch with an exhausted task', () => {
    const earlier = task(9, { batch: '0000000001', id: '0000000001-00000', state: 'exhausted' });
    const failed = task(1, { owner: 'a', state: 'failed' });
    const outcome = rescheduleOutcome(
      [moving, failed, earlier],
      [step(moving), step(failed, 'failed')],
      [{ outcome: 'written', task: { ...moving, owner: 'a', attempt: 2 } }, { outcome: 'written', task: { ...failed, state: 'exhausted' } }],
      isLive,
    );
    expect(outcome.moved).toEqual([{ taskId: moving.id, from: 'dead', to: 'a', attempt: 2, reason: 'owner-dead' }]);
    expect(outcome.writes).toEqual([{ reason: 'owner-dead', outcome: 'assigned', count: 1 }, { reason: 'failed', outcome: 'exhausted', count: 1 }]);
    expect(outcome.failedBatches).toEqual(['0000000000', '0000000001']);
  });
});
