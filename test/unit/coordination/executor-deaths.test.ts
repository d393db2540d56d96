import { describe, expect, it } from '@jest/globals';
import { ExecutorDeaths, deathMemoryMs } from '../../../src/coordination/executor-deaths.js';
import type { ExecutorSet, LiveExecutor } from '../../../src/coordination/membership.js';

const job = { namespace: 'team-a', name: 'orders' };
const other = { namespace: 'team-a', name: 'payments' };

function executors(entries: Record<string, string>): ExecutorSet {
  return new Map(Object.entries(entries).map(([pod, session]): [string, LiveExecutor] => [pod, { pod, startedAt: '', state: 'active', session }]));
}

describe('the memory of dead executors', () => {
  type Death = [pod: string, session: string | null];
  const cases: [string, Death[], Death, boolean][] = [
    ['the first signal of a death', [], ['e-0', 's1'], true],
    ['the second signal of the same session', [['e-0', 's1']], ['e-0', 's1'], false],
    ['a second signal that no longer knows the session (the node was gone)', [['e-0', 's1']], ['e-0', null], false],
    ['a new incarnation of the pod (another session)', [['e-0', 's1']], ['e-0', 's2'], true],
    ['the death of another pod', [['e-0', 's1']], ['e-1', 's1'], true],
    ['a death whose session was unknown, then its session', [['e-0', null]], ['e-0', 's1'], true],
  ];
  it.each(cases)('tells %s', (_what, before, [pod, session], first) => {
    const deaths = new ExecutorDeaths();
    for (const [p, s] of before) deaths.record(job, p, s, 0);
    expect(deaths.record(job, pod, session, 1)).toBe(first);
  });

  it('keeps a lingering registration of a dead session from passing for a live executor, but not a new session of the same pod', () => {
    const deaths = new ExecutorDeaths();
    deaths.record(job, 'e-0', 's1', 0);
    const isLive = deaths.liveness(job, executors({ 'e-0': 's1', 'e-1': 's3' }));
    expect([isLive('e-0'), isLive('e-1'), isLive('e-2')]).toEqual([false, true, false]);
    expect(deaths.liveness(job, executors({ 'e-0': 's2' }))('e-0')).toBe(true);
    expect(deaths.isDead(job, 'e-0', 's1')).toBe(true);
    expect(deaths.isDead(other, 'e-0', 's1')).toBe(false);
  });

  it('measures a death once, when its pod holds no task any more', () => {
    const deaths = new ExecutorDeaths();
    deaths.record(job, 'e-0', 's1', 1000);
    const notLive = (): boolean => false;
    expect(deaths.settle(job, () => true, notLive, 1500)).toEqual([]);
    expect(deaths.settle(job, () => false, notLive, 1800)).toEqual([800]);
    expect(deaths.settle(job, () => false, notLive, 1900)).toEqual([]);
  });

  it('forgets a settled death after the memory runs out, and a deleted job at once', () => {
    const deaths = new ExecutorDeaths();
    deaths.record(job, 'e-0', 's1', 0);
    deaths.record(other, 'e-0', 's1', 0);
    deaths.settle(job, () => false, () => false, 1);
    deaths.settle(job, () => false, () => false, deathMemoryMs - 1);
    expect(deaths.record(job, 'e-0', 's1', deathMemoryMs - 1)).toBe(false);
    deaths.settle(job, () => false, () => false, deathMemoryMs + 1);
    expect(deaths.record(job, 'e-0', 's1', deathMemoryMs + 1)).toBe(true);
    deaths.forget(other);
    expect(deaths.isDead(other, 'e-0', 's1')).toBe(false);
  });

  it('remembers at most eight deaths per pod', () => {
    const deaths = new ExecutorDeaths();
    for (let i = 0; i < 9; i++) deaths.record(job, 'e-0', `s${i}`, i);
    expect(deaths.isDead(job, 'e-0', 's0')).toBe(false);
    expect(deaths.isDead(job, 'e-0', 's8')).toBe(true);
  });
});
