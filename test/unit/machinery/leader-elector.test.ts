import { describe, expect, it } from '@jest/globals';
import { FakeKubeClient } from '../../../src/kube/fake.js';
import { leader as leaderGauge, leaderMetrics } from '../../../src/metrics/index.js';
import { ManualClock, settle } from '../../../src/machinery/clock.js';
import { LeaderElector, leaderIdentity, microTime } from '../../../src/machinery/leader-elector.js';

const lease = { namespace: 'streamkeeper-system', name: 'streamkeeper-operator' };

interface Candidate {
  readonly identity: string;
  readonly elector: LeaderElector;
  /** What happened to this candidate, with the time: `started@0`, `stopped@12000`. */
  readonly log: string[];
  readonly done: Promise<void>;
}

function election(identities: string[], random: () => number = () => 0) {
  const clock = new ManualClock(Date.UTC(2025, 0, 1));
  const kube = new FakeKubeClient({ now: () => clock.now() });
  const t0 = clock.now();
  const at = (): number => clock.now() - t0;
  const candidates: Candidate[] = identities.map((identity) => {
    const log: string[] = [];
    const elector = new LeaderElector({
      client: kube,
      lease,
      identity,
      clock,
      random,
      metrics: leaderMetrics,
      onStartedLeading: () => log.push(`started@${at()}`),
      onStoppedLeading: () => {
        log.push(`stopped@${at()}`);
      },
    });
    return { identity, elector, log, done: elector.run() };
  });
  const leaders = (): string[] => candidates.filter((candidate) => candidate.elector.isLeader()).map((candidate) => candidate.identity);
  const holder = async (): Promise<string | undefined> => (await kube.get('Lease', lease)).spec?.holderIdentity;
  return { clock, kube, candidates, leaders, holder, at };
}

describe('leader election on a Lease', () => {
  it('makes exactly one of two candidates the leader, and keeps it there', async () => {
    const { clock, candidates, leaders, holder } = election(['a', 'b']);
    await settle();
    expect(leaders()).toHaveLength(1);
    const [first] = leaders();
    await clock.advance(120_000);
    expect(leaders()).toEqual([first]);
    expect(await holder()).toBe(first);
    expect(candidates.flatMap((candidate) => candidate.log)).toEqual(['started@0']);
  });

  it.each([
    ['no jitter', () => 0],
    ['the largest jitter', () => 1],
  ])('lets a standby take over a dead leader only after the lease duration, and within one retry period after it (%s)', async (_name, random) => {
    const { clock, kube, candidates, leaders, at } = election(['a', 'b'], random);
    await settle();
    const [a, b] = candidates as [Candidate, Candidate];
    expect(leaders()).toEqual(['a']);
    await clock.advance(10_000);
    // The leader's process dies: it stops renewing without giving the lease up.
    await a.elector.stop({ release: false });
    const lastRenewal = Date.parse((await kube.get('Lease', lease)).spec?.renewTime ?? '') - (clock.now() - at());
    const tookOver = await clock.advanceUntil(() => b.elector.isLeader(), 60_000, 100);
    expect(tookOver).toBe(true);
    const takeover = Number(b.log[0]?.split('@')[1]);
    expect(takeover).toBeGreaterThanOrEqual(lastRenewal + 15_000);
    expect(takeover).toBeLessThanOrEqual(lastRenewal + 15_000 + 2_000);
    expect((await kube.get('Lease', lease)).spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('hands over at once when the leader releases the lease on shutdown', async () => {
    const { clock, candidates, leaders, at, holder } = election(['a', 'b']);
    await settle();
    const [a, b] = candidates as [Candidate, Candidate];
    await clock.advance(7_000);
    const stoppedAt = at();
    await a.elector.stop();
    await a.done;
    expect(a.log).toEqual(['started@0', `stopped@${stoppedAt}`]);
    expect(await holder()).toBe('');
    await clock.advanceUntil(() => b.elector.isLeader(), 60_000, 100);
    expect(leaders()).toEqual(['b']);
    expect(Number(b.log[0]?.split('@')[1]) - stoppedAt).toBeLessThanOrEqual(2_000);
  });

  it('stops acting when it cannot renew within the renew deadline', async () => {
    const { clock, kube, candidates, at } = election(['a']);
    await settle();
    const [a] = candidates as [Candidate];
    await clock.advance(4_000);
    kube.injectFault({ kinds: ['Lease'], times: Infinity });
    const lastRenewal = 4_000;
    await clock.advance(lastRenewal + 10_000 - at() - 1);
    expect(a.elector.isLeader()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(['started@0', 'stopped@14000']);
    await a.done;
  });

  it('stops acting at the renew deadline even when its renew calls hang', async () => {
    const { clock, kube, candidates } = election(['a']);
    await settle();
    const [a] = candidates as [Candidate];
    kube.injectFault({ kinds: ['Lease'], times: Infinity, hang: true });
    await clock.advance(10_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(['started@0', 'stopped@10000']);
    await a.done;
  });

  it('stops acting as soon as it sees someone else holding the lease', async () => {
    const { clock, kube, candidates } = election(['a']);
    await settle();
    const [a] = candidates as [Candidate];
    await clock.advance(1_000);
    const current = await kube.get('Lease', lease);
    await kube.update('Lease', { ...current, spec: { ...current.spec, holderIdentity: 'intruder' } });
    await clock.advance(2_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.log).toEqual(['started@0', 'stopped@2000']);
  });

  it('keeps its acquire time while renewing and advances the renew time', async () => {
    const { clock, kube } = election(['a']);
    await settle();
    const acquired = (await kube.get('Lease', lease)).spec;
    await clock.advance(6_000);
    const renewed = (await kube.get('Lease', lease)).spec;
    expect(renewed?.acquireTime).toBe(acquired?.acquireTime);
    expect(Date.parse(renewed?.renewTime ?? '')).toBe(Date.parse(acquired?.renewTime ?? '') + 6_000);
    expect(renewed).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
  });

  it('reports leadership through its metrics hook (the operator\'s streamkeeper_leader gauge)', async () => {
    const { candidates } = election(['solo']);
    await settle();
    expect((await leaderGauge.get()).values[0]?.value).toBe(1);
    await candidates[0]?.elector.stop();
    expect((await leaderGauge.get()).values[0]?.value).toBe(0);
  });

  it('stops campaigning when stopped as a standby', async () => {
    const { clock, candidates } = election(['a', 'b']);
    await settle();
    const [, b] = candidates as [Candidate, Candidate];
    await b.elector.stop();
    await b.done;
    await clock.advance(60_000);
    expect(b.log).toEqual([]);
  });

  it('explains timings that cannot work', () => {
    const base = { client: new FakeKubeClient(), lease, identity: 'a', onStartedLeading: () => undefined, onStoppedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow('leaseDurationMs must be greater than renewDeadlineMs');
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow('renewDeadlineMs must be greater than retryPeriodMs × 1.2');
    expect(() => new LeaderElector({ ...base, identity: '' })).toThrow('identity must not be empty');
  });
});

describe('holder identity and lease times', () => {
  it('is the pod name when the downward API gives it, else host and pid', () => {
    expect(leaderIdentity({ POD_NAME: 'streamkeeper-operator-7d9f-abcde' }, 'host', 42)).toBe('streamkeeper-operator-7d9f-abcde');
    expect(leaderIdentity({}, 'laptop', 4242)).toBe('laptop_4242');
  });

  it('writes MicroTime with microseconds', () => {
    expect(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05.678000Z');
  });
});
