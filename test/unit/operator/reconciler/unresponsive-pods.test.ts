import { describe, expect, it } from '@jest/globals';
import { sortJobPods, type ObservedPod } from '../../../../src/operator/reconciler/observed-pods.js';
import { nextJudgementInMs, registeredPods, unresponsivePods, type UnresponsiveFacts } from '../../../../src/operator/reconciler/unresponsive-pods.js';

const grace = 120_000;
const now = 10 * grace;

function pod(name: string, shape: Partial<ObservedPod> = {}): ObservedPod {
  return { name, uid: `uid-${name}`, component: name.includes('-executor-') ? 'executor' : 'driver', templateHash: 'h', lifecycle: 'running', ready: true, terminating: false, createdAtMs: 0, exit: undefined, credential: undefined, driverRestarts: undefined, stuck: undefined, ...shape };
}

function facts(pods: ObservedPod[], overrides: Partial<UnresponsiveFacts> = {}): UnresponsiveFacts {
  const missingSince = new Map(pods.map((p) => [p.uid, now - 60_000]));
  return { pods: sortJobPods('job', pods), registrations: new Map([['job-executor-0', 'active'], ['job-executor-1', 'active']]), driverRegistered: true, replicas: 2, now, startupGraceMs: grace, missingSince, lossGraceMs: 20_000, ...overrides };
}

describe('which running pods have stopped taking part', () => {
  const all = [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1')];

  it('finds none while every process holds its registration', () => {
    expect(unresponsivePods(facts(all))).toEqual(new Set());
  });

  it('finds a running driver and executor whose registrations are gone (a hung process\'s session expired)', () => {
    expect(unresponsivePods(facts(all, { driverRegistered: false, registrations: new Map([['job-executor-0', 'active']]) }))).toEqual(new Set(['job-driver', 'job-executor-1']));
  });

  it('waits while a registration has been missing for less than a re-registration takes (after a ZooKeeper outage)', () => {
    const missingSince = new Map([['uid-job-driver', now - 5_000], ['uid-job-executor-1', now - 20_000]]);
    expect(unresponsivePods(facts(all, { driverRegistered: false, registrations: new Map([['job-executor-0', 'active']]), missingSince }))).toEqual(new Set(['job-executor-1']));
  });

  it('gives a new pod the start-up grace to register', () => {
    expect(unresponsivePods(facts([pod('job-driver', { createdAtMs: now - 1000 }), pod('job-executor-0', { createdAtMs: now - 1000 })], { driverRegistered: false, registrations: new Map() }))).toEqual(new Set());
  });

  it('judges a young pod at once once it had registered: a process that hangs soon after it started', () => {
    const young = [pod('job-driver', { createdAtMs: now - 1000 }), pod('job-executor-0', { createdAtMs: now - 1000 }), pod('job-executor-1', { createdAtMs: now - 1000 })];
    const lost = { driverRegistered: false, registrations: new Map([['job-executor-0', 'active' as const]]) };
    expect(unresponsivePods(facts(young, { ...lost, registeredBefore: new Set(['uid-job-driver', 'uid-job-executor-1']) }))).toEqual(new Set(['job-driver', 'job-executor-1']));
    expect(unresponsivePods(facts(young, lost))).toEqual(new Set());
  });

  it('counts a driver registration only when this incarnation of the pod made it', () => {
    const pods = [pod('job-driver', { createdAtMs: now - 1000 }), pod('job-executor-0')];
    const seen = facts(pods, { registrations: new Map([['job-executor-0', 'active']]) });
    expect(registeredPods(seen, now - 500)).toEqual(new Set(['uid-job-driver', 'uid-job-executor-0']));
    expect(registeredPods(seen, now - 60_000)).toEqual(new Set(['uid-job-executor-0']));
    expect(registeredPods(seen, undefined)).toEqual(new Set(['uid-job-executor-0']));
  });

  it('judges a standby driver by its standby registration, not by the driver node it waits for', () => {
    const pods = [pod('job-driver'), pod('job-driver-1'), pod('job-executor-0'), pod('job-executor-1')];
    expect(unresponsivePods(facts(pods, { standbyRegistered: true }))).toEqual(new Set());
    // A hung former driver left in the standby's place after a failover: no registration of either kind.
    expect(unresponsivePods(facts(pods, { standbyRegistered: false }))).toEqual(new Set(['job-driver-1']));
    expect(registeredPods(facts(pods, { standbyRegistered: true, registrations: new Map() }), undefined)).toEqual(new Set(['uid-job-driver-1']));
  });

  it('leaves pods that ended, are going, or are beyond the wanted replicas to the rest of the plan', () => {
    const pods = [pod('job-driver', { lifecycle: 'terminated' }), pod('job-executor-0', { terminating: true }), pod('job-executor-1', { lifecycle: 'pending' }), pod('job-executor-2')];
    expect(unresponsivePods(facts(pods, { driverRegistered: false, registrations: new Map() }))).toEqual(new Set());
  });
});

describe('when the next pod is due to be judged', () => {
  const all = [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1')];

  it('is the soonest end of a grace still running, so a hung driver is not left to the next resync', () => {
    const missingSince = new Map([['uid-job-driver', now - 5_000], ['uid-job-executor-1', now - 12_000]]);
    expect(nextJudgementInMs(facts(all, { driverRegistered: false, registrations: new Map([['job-executor-0', 'active']]), missingSince }))).toBe(8_000);
  });

  it('is nothing when no registration is missing, or every missing one is judged already', () => {
    expect(nextJudgementInMs(facts(all))).toBeUndefined();
    expect(nextJudgementInMs(facts(all, { driverRegistered: false }))).toBeUndefined();
  });
});
