import { describe, expect, it } from '@jest/globals';
import type { Pod } from '../../../src/kube/objects.js';
import { containerIdOf, podPhase, processOfContainer, podStatus, restartBackoffMs, shouldRestart, statusChanged, type ContainerRecord, type ContainerState, type RestartPolicy } from '../../../src/local/pod-status.js';

const t0 = '2026-01-01T00:00:00Z';
const t1 = '2026-01-01T00:01:00Z';

function record(state: ContainerState, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return { name: 'main', image: 'streamkeeper/streamkeeper', state, restartCount: 0, ready: state.kind === 'running', ...extra };
}

const waiting: ContainerState = { kind: 'waiting', reason: 'ContainerCreating' };
const running: ContainerState = { kind: 'running', startedAt: t0 };
const exited = (exitCode: number): ContainerState => ({ kind: 'terminated', exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: t0, finishedAt: t1 });
const crashLooping = record({ kind: 'waiting', reason: 'CrashLoopBackOff' }, { lastTerminated: { exitCode: 1, reason: 'Error', startedAt: t0, finishedAt: t1 }, restartCount: 1 });

describe('pod phase (the kubelet rules)', () => {
  it.each<[string, ContainerRecord[], number, RestartPolicy, string]>([
    ['a container not started yet', [record(waiting)], 1, 'Never', 'Pending'],
    ['one running, one not started', [record(running), record(waiting, { name: 'b' })], 2, 'Always', 'Pending'],
    ['all running', [record(running)], 1, 'Never', 'Running'],
    ['a container the agent knows nothing of', [record(running)], 2, 'Never', 'Pending'],
    ['exited 0, Never', [record(exited(0))], 1, 'Never', 'Succeeded'],
    ['exited 1, Never', [record(exited(1))], 1, 'Never', 'Failed'],
    ['exited 0, OnFailure', [record(exited(0))], 1, 'OnFailure', 'Succeeded'],
    ['waiting to restart, OnFailure', [crashLooping], 1, 'OnFailure', 'Running'],
    ['waiting to restart, Always', [crashLooping], 1, 'Always', 'Running'],
    ['one succeeded, one failed, Never', [record(exited(0)), record(exited(2), { name: 'b' })], 2, 'Never', 'Failed'],
    ['one running, one exited', [record(running), record(exited(0), { name: 'b' })], 2, 'Never', 'Running'],
  ])('%s → %s', (_case, records, count, policy, phase) => {
    expect(podPhase(records, count, policy)).toBe(phase);
  });
});

describe('restarts', () => {
  it.each<[RestartPolicy, number, boolean]>([
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 137, true],
    ['Never', 1, false],
  ])('%s with exit code %d restarts: %s', (policy, code, restarts) => {
    expect(shouldRestart(policy, code)).toBe(restarts);
  });

  it('backs off 1 s doubling to at most 30 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(restartBackoffMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('pod status', () => {
  const scheduled = { type: 'PodScheduled', status: 'True', lastTransitionTime: t0 };
  const pod = (status: Pod['status'] = {}): Pod => ({ metadata: { name: 'p', namespace: 'n' }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'streamkeeper/streamkeeper' }] }, status });
  const input = (p: Pod, records: ContainerRecord[], now = t1) => ({ pod: p, records, now, hostIP: '127.0.0.1', podIP: '127.0.0.1', startTime: t0 });

  it('is Ready when every container runs and is ready, keeping the scheduler condition', () => {
    const status = podStatus(input(pod({ conditions: [scheduled] }), [record(running)]));
    expect(status.phase).toBe('Running');
    expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['PodScheduled', 'True'],
      ['Initialized', 'True'],
      ['ContainersReady', 'True'],
      ['Ready', 'True'],
    ]);
    expect(status.containerStatuses?.[0]).toMatchObject({ name: 'main', ready: true, started: true, state: { running: { startedAt: t0 } } });
  });

  it('names unready containers, and says PodCompleted once the pod is done', () => {
    expect(podStatus(input(pod(), [record(waiting)])).conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [main]' });
    expect(podStatus(input(pod(), [record(exited(0))])).conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });

  it('keeps a transition time while the condition does not change', () => {
    const first = podStatus(input(pod(), [record(running)], t0));
    const later = podStatus(input(pod(first), [record(running)], t1));
    expect(later.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(t0);
    const stopped = podStatus(input(pod(later), [record(exited(1))], t1));
    expect(stopped.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe(t1);
  });

  it('never leaves a terminal phase', () => {
    expect(podStatus(input(pod({ phase: 'Failed' }), [record(running)])).phase).toBe('Failed');
  });

  it('sees no change in a status the server echoes back with nulls and other key order', () => {
    const next = podStatus(input(pod({ conditions: [scheduled] }), [record(running)]));
    const echoed = JSON.parse(JSON.stringify({ qosClass: 'BestEffort', ...next, conditions: next.conditions?.map((c) => ({ lastProbeTime: null, ...c })) })) as Pod['status'];
    expect(statusChanged(echoed, next)).toBe(false);
    expect(statusChanged(echoed, { ...next, phase: 'Succeeded' })).toBe(true);
  });
});

describe('container IDs', () => {
  it('name the container\'s process, and nothing else parses as one', () => {
    expect(processOfContainer(containerIdOf(4242))).toBe(4242);
    expect(processOfContainer('containerd://4242')).toBeUndefined();
    expect(processOfContainer('streamkeeper-local://abc')).toBeUndefined();
    expect(processOfContainer('streamkeeper-local://0')).toBeUndefined();
    expect(processOfContainer(undefined)).toBeUndefined();
  });
});
