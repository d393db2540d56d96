import { describe, expect, it } from '@jest/globals';
import { applyDefaults, type JobCondition, type StreamingJobStatus } from '../../../../src/api/v1alpha1/index.js';
import type { JobProgress } from '../../../../src/operator/job-coordination.js';
import { mergeConditions, someOf, truncate } from '../../../../src/operator/reconciler/conditions.js';
import { sortJobPods, type ObservedPod } from '../../../../src/operator/reconciler/observed-pods.js';
import { requeueAfterMs } from '../../../../src/operator/reconciler/requeue.js';
import { computeStatus, describeFindings, startupGraceMs, statusChanged, type CoordinationView, type StatusInput } from '../../../../src/operator/reconciler/status.js';
import { transitionEvents } from '../../../../src/operator/reconciler/transition-events.js';
import { sampleSpec } from '../support/reconciler-world.js';
import { jobProgress, observedPod, rolloutPlan, syncedView } from '../../../support/status-fixtures.js';

const now = Date.UTC(2025, 5, 1, 12, 0, 0);
const longAgo = now - 10 * startupGraceMs;

function pod(name: string, shape: Partial<ObservedPod> = {}): ObservedPod {
  return observedPod(name, longAgo, shape);
}

function progress(overrides: Partial<JobProgress> = {}, registered: Record<string, 'active' | 'draining'> = { 'job-executor-0': 'active', 'job-executor-1': 'active' }): JobProgress {
  return jobProgress(registered, overrides);
}

const synced = (p: JobProgress = progress()): CoordinationView => syncedView(p);

function statusInput(overrides: Partial<StatusInput> = {}, pods: ObservedPod[] = [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1')]): StatusInput {
  return {
    jobName: 'job',
    generation: 3,
    previous: undefined,
    now,
    findings: [],
    spec: applyDefaults(sampleSpec()),
    pods: sortJobPods('job', pods),
    plan: undefined,
    coordination: synced(),
    restarts: 0,
    errors: [],
    ...overrides,
  };
}

const plan = rolloutPlan;

function conditionOf(status: StreamingJobStatus, type: string): JobCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

describe('the phase and the Ready condition', () => {
  const cases: [string, StatusInput, string, string, string][] = [
    ['a job whose driver and executors are up', statusInput(), 'Running', 'True', 'Running'],
    ['an invalid spec', statusInput({ findings: [{ field: 'spec.processor.params[regex]', message: 'does not compile' }], spec: undefined, coordination: { state: 'skipped' } }), 'Failed', 'False', 'InvalidSpec'],
    ['a config too large for ZooKeeper', statusInput({ coordination: { state: 'failed', error: { code: 'SK_CONFIG_TOO_LARGE', kind: 'invalid-spec', message: 'too large' } } }), 'Failed', 'False', 'InvalidSpec'],
    ['a suspended job with no pod left: what the user asked for', statusInput({ spec: applyDefaults(sampleSpec({ suspend: true })) }, []), 'Suspended', 'True', 'Suspended'],
    ['a suspended job whose pods still stop', statusInput({ spec: applyDefaults(sampleSpec({ suspend: true })) }), 'Suspended', 'False', 'Suspending'],
    ['ZooKeeper unreachable', statusInput({ coordination: { state: 'failed', error: { code: 'SK_ZK_CONNECTION_LOSS', kind: 'transient', message: 'lost' } } }), 'Pending', 'Unknown', 'CoordinationUnavailable'],
    ['a failed batch under onTaskExhausted: fail', statusInput({ coordination: synced(progress({ failedBatches: ['0000000007'] })) }), 'Failed', 'False', 'BatchFailed'],
    [
      'a failed batch under onTaskExhausted: degrade',
      statusInput({ spec: applyDefaults(sampleSpec({ failurePolicy: { onTaskExhausted: 'degrade' } })), coordination: synced(progress({ failedBatches: ['0000000007'] })) }),
      'Degraded',
      'True',
      'Running',
    ],
    ['a new job whose pods start', statusInput({}, [pod('job-driver', { ready: false, lifecycle: 'pending', createdAtMs: now }), pod('job-executor-0', { ready: false, createdAtMs: now })]), 'Pending', 'False', 'DriverNotReady'],
    ['a driver that has not registered yet', statusInput({ coordination: synced(progress({ driverRegistered: false })) }), 'Pending', 'False', 'DriverNotReady'],
    [
      'a job that ran and lost its driver for longer than a start takes',
      statusInput({ coordination: synced(progress({ lastCommittedBatch: { id: 4, committedAt: '2025-06-01T11:00:00Z' } })) }, [pod('job-executor-0'), pod('job-executor-1')]),
      'Degraded',
      'False',
      'DriverNotReady',
    ],
    ['no executor ready yet', statusInput({ coordination: synced(progress({}, {})) }), 'Pending', 'False', 'NoExecutorsReady'],
    ['scaled to zero executors: what the user asked for', statusInput({ spec: applyDefaults(sampleSpec({ executors: { replicas: 0 } })), coordination: synced(progress({}, {})) }, [pod('job-driver')]), 'Running', 'True', 'NoExecutors'],
    ['fewer executors ready than desired', statusInput({ coordination: synced(progress({}, { 'job-executor-0': 'active' })) }), 'Degraded', 'False', 'ExecutorsUnavailable'],
    [
      'one executor short during a rolling update',
      statusInput({ plan: plan('RollingUpdate'), coordination: synced(progress({}, { 'job-executor-0': 'active', 'job-executor-1': 'draining' })) }),
      'Running',
      'False',
      'ExecutorsStarting',
    ],
    ['a new executor still starting', statusInput({}, [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1', { ready: false, createdAtMs: now - 1000 })]), 'Running', 'False', 'ExecutorsStarting'],
    [
      'a new executor whose pod is Ready but not registered in ZooKeeper yet (scale-up)',
      statusInput({ previous: { phase: 'Running' }, coordination: synced(progress({ lastCommittedBatch: { id: 4, committedAt: '2025-06-01T11:00:00Z' } }, { 'job-executor-0': 'active' })) }, [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1', { createdAtMs: now - 1000 })]),
      'Running',
      'False',
      'ExecutorsStarting',
    ],
    [
      'an executor Ready but not registered for longer than a start takes',
      statusInput({ coordination: synced(progress({}, { 'job-executor-0': 'active' })) }, [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1', { createdAtMs: now - startupGraceMs - 1 })]),
      'Degraded',
      'False',
      'ExecutorsUnavailable',
    ],
    [
      'a resumed job whose executors are Ready but none registered yet',
      statusInput({ previous: { phase: 'Suspended' }, coordination: synced(progress({ lastCommittedBatch: { id: 4, committedAt: '2025-06-01T11:00:00Z' } }, {})) }, [pod('job-driver', { createdAtMs: now - 2000 }), pod('job-executor-0', { createdAtMs: now - 1000 }), pod('job-executor-1', { createdAtMs: now - 1000 })]),
      'Pending',
      'False',
      'NoExecutorsReady',
    ],
    [
      'a restarted driver whose pod is Ready but not registered yet',
      statusInput({ previous: { phase: 'Running' }, coordination: synced(progress({ driverRegistered: false, lastCommittedBatch: { id: 4, committedAt: '2025-06-01T11:00:00Z' } })) }, [pod('job-driver', { createdAtMs: now - 1000 }), pod('job-executor-0'), pod('job-executor-1')]),
      'Pending',
      'False',
      'DriverNotReady',
    ],
    [
      'a driver Ready but not registered for longer than a start takes',
      statusInput({ previous: { phase: 'Running' }, coordination: synced(progress({ driverRegistered: false, lastCommittedBatch: { id: 4, committedAt: '2025-06-01T11:00:00Z' } })) }),
      'Degraded',
      'False',
      'DriverNotReady',
    ],
    [
      'a starting executor beyond the desired count (scale-down) does not count',
      statusInput({ spec: applyDefaults(sampleSpec({ executors: { replicas: 1 } })), coordination: synced(progress({}, { 'job-executor-0': 'active' })) }, [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1', { createdAtMs: now - 1000 })]),
      'Running',
      'True',
      'Running',
    ],
  ];

  it.each(cases)('%s → %s, Ready=%s (%s)', (_case, input, phase, ready, reason) => {
    const status = computeStatus(input);
    expect(status.phase).toBe(phase);
    expect(conditionOf(status, 'Ready')).toMatchObject({ status: ready, reason, observedGeneration: 3 });
  });

  it('names the invalid field in the Ready condition and marks the job Stalled', () => {
    const status = computeStatus(statusInput({ findings: [{ field: 'spec.processor.params[regex]', message: 'does not compile' }, { field: 'spec.x', message: 'y' }], spec: undefined, coordination: { state: 'skipped' } }));
    expect(conditionOf(status, 'Ready')?.message).toContain('spec.processor.params[regex]: does not compile (and 1 more problem)');
    expect(conditionOf(status, 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(conditionOf(status, 'Progressing')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(conditionOf(status, 'ConfigSynced')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });

  it('has no Stalled condition while the job can make progress', () => {
    expect(conditionOf(computeStatus(statusInput()), 'Stalled')).toBeUndefined();
  });
});

describe('the other fields', () => {
  it('counts executors registered and ready, and exposes the scale subresource\'s fields', () => {
    const status = computeStatus(statusInput({ coordination: synced(progress({}, { 'job-executor-0': 'active', 'job-executor-1': 'draining' })) }));
    expect(status.executors).toEqual({ desired: 2, ready: 1, draining: 1, summary: '1/2' });
    expect(status.replicas).toBe(1);
    expect(status.selector).toContain('app.kubernetes.io/component=executor');
  });

  it('reports progress from ZooKeeper and keeps the last known while ZooKeeper is away', () => {
    const first = computeStatus(statusInput({ coordination: synced(progress({ lastCommittedBatch: { id: 41, committedAt: '2025-06-01T11:59:58Z' }, totalLag: 17 })) }));
    expect(first).toMatchObject({ lastCommittedBatch: { id: 41, committedAt: '2025-06-01T11:59:58Z' }, totalLag: 17, configHash: 'sha256:0123456789abcdef0123456789' });
    const later = computeStatus(statusInput({ previous: first, coordination: { state: 'failed', error: { code: 'SK_ZK_CONNECTION_LOSS', kind: 'transient', message: 'lost' } } }));
    expect(later).toMatchObject({ lastCommittedBatch: { id: 41 }, totalLag: 17, configHash: 'sha256:0123456789abcdef0123456789', phase: 'Running' });
    expect(conditionOf(later, 'ExecutorsAvailable')).toMatchObject({ status: 'Unknown' });
  });

  it('shows a windowed job\'s watermark beside the lag, and keeps the last known while ZooKeeper is away', () => {
    const first = computeStatus(statusInput({ coordination: synced(progress({ lastCommittedBatch: { id: 41, committedAt: '2025-06-01T11:59:58Z' }, totalLag: 17, watermark: '2025-06-01T11:58:00Z' })) }));
    expect(first).toMatchObject({ totalLag: 17, watermark: '2025-06-01T11:58:00Z' });
    const later = computeStatus(statusInput({ previous: first, coordination: { state: 'failed', error: { code: 'SK_ZK_CONNECTION_LOSS', kind: 'transient', message: 'lost' } } }));
    expect(later.watermark).toBe('2025-06-01T11:58:00Z');
    expect(computeStatus(statusInput({ coordination: synced(progress({ totalLag: 3 })) })).watermark).toBeUndefined();
  });

  it('says whether the standby driver is ready, without making Ready depend on it', () => {
    const spec = applyDefaults(sampleSpec({ driver: { standby: true } }));
    const withStandby = computeStatus(statusInput({ spec }, [pod('job-driver'), pod('job-driver-1'), pod('job-executor-0'), pod('job-executor-1')]));
    expect(conditionOf(withStandby, 'Ready')).toMatchObject({ status: 'True', message: 'the driver, its standby and 2/2 executors ready' });
    const starting = computeStatus(statusInput({ spec }, [pod('job-driver'), pod('job-driver-1', { ready: false }), pod('job-executor-0'), pod('job-executor-1')]));
    expect(withStandby.phase).toBe('Running');
    expect(starting.phase).toBe('Running');
    expect(conditionOf(starting, 'Ready')).toMatchObject({ status: 'True', message: expect.stringContaining('the standby driver job-driver-1 is not ready') as unknown as string });
    const missing = computeStatus(statusInput({ spec }));
    expect(conditionOf(missing, 'Ready')?.message).toContain('the standby driver pod does not exist yet');
    expect(conditionOf(computeStatus(statusInput()), 'Ready')?.message).toBe('the driver and 2/2 executors ready');
  });

  it('shows a stateful job\'s state partitions, the size the driver reported and its last restore, and keeps them while ZooKeeper is away', () => {
    const lastRestore = { partition: 3, kind: 'full' as const, records: 120_000, durationMs: 840, at: '2025-06-01T11:59:58Z' };
    // sampleSpec is the builtin wordcount without spec.aggregation: 8 implied state partitions.
    expect(computeStatus(statusInput()).state).toEqual({ partitions: 8 });
    const first = computeStatus(statusInput({ coordination: synced(progress({ state: { partitionsReported: 5, keys: 20_000, bytes: 3_400_000, lastRestore } })) }));
    expect(first.state).toEqual({ partitions: 8, keys: 20_000, bytes: 3_400_000, lastRestore });
    const later = computeStatus(statusInput({ previous: first, coordination: { state: 'failed', error: { code: 'SK_ZK_CONNECTION_LOSS', kind: 'transient', message: 'lost' } } }));
    expect(later.state).toEqual(first.state);
    const declared = applyDefaults(sampleSpec({ processor: { builtin: 'passthrough' }, aggregation: { aggregates: [{ name: 'n', function: 'count' }], statePartitions: 16 } }));
    expect(computeStatus(statusInput({ spec: declared })).state).toEqual({ partitions: 16 });
    expect(computeStatus(statusInput({ spec: applyDefaults(sampleSpec({ processor: { builtin: 'passthrough' } })) })).state).toBeUndefined();
  });

  it('reports the driver restart count the pass derived', () => {
    expect(computeStatus(statusInput({ previous: { restarts: 2 }, restarts: 3 })).restarts).toBe(3);
    expect(computeStatus(statusInput({ restarts: 0 })).restarts).toBeUndefined();
  });

  it.each<['fail' | 'degrade', string, string]>([
    ['fail', 'Failed', 'False'],
    ['degrade', 'Degraded', 'True'],
  ])('names a few failed batches and counts the rest, however many failed (onTaskExhausted: %s)', (policy, phase, ready) => {
    const failedBatches = Array.from({ length: 5000 }, (_, i) => String(i).padStart(10, '0'));
    const status = computeStatus(statusInput({ spec: applyDefaults(sampleSpec({ failurePolicy: { onTaskExhausted: policy } })), coordination: synced(progress({ failedBatches })) }));
    const message = conditionOf(status, 'Ready')?.message ?? '';
    expect(status.phase).toBe(phase);
    expect(conditionOf(status, 'Ready')?.status).toBe(ready);
    expect(message).toContain('5000 batches (0000000000, 0000000001, 0000000002 and 4997 more)');
    expect(message).not.toContain('0000000003');
    expect(message.length).toBeLessThan(300);
    expect(status.message).toBe(message);
    expect(JSON.stringify(status).length).toBeLessThan(4096);
  });

  it('names a single failed batch plainly', () => {
    const status = computeStatus(statusInput({ spec: applyDefaults(sampleSpec({ failurePolicy: { onTaskExhausted: 'degrade' } })), coordination: synced(progress({ failedBatches: ['0000000007'] })) }));
    expect(status.message).toContain('batch 0000000007 failed and was skipped');
  });

  it('keeps the status message within the schema\'s 1024 characters', () => {
    const errors = Array.from({ length: 50 }, (_, i) => ({ code: 'SK_KUBE_ERROR', kind: 'transient' as const, message: `pod job-executor-${i}: refusé 🚫 `.repeat(5) }));
    const status = computeStatus(statusInput({ errors }));
    expect(status.message).toHaveLength(1024);
    expect(status.message?.endsWith('…')).toBe(true);
    expect(loneSurrogate.test(status.message ?? '')).toBe(false);
  });

  it('says what the operator is doing in Progressing, and stays bounded in size', () => {
    const status = computeStatus(statusInput({ plan: plan('RollingUpdate'), errors: Array.from({ length: 50 }, (_, i) => ({ code: 'SK_KUBE_ERROR', kind: 'transient', message: `failure ${i} `.repeat(20) })) }));
    expect(conditionOf(status, 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingUpdate' });
    expect(status.message?.length).toBeLessThanOrEqual(1024);
    expect(JSON.stringify(status).length).toBeLessThan(4096);
  });

  it('reports tasks being moved off dead executors as progress', () => {
    const status = computeStatus(statusInput({ coordination: { ...synced(), reschedule: { moved: 3, waiting: 0, exhausted: 0, failedBatches: [] } } as CoordinationView }));
    expect(conditionOf(status, 'Progressing')).toMatchObject({ status: 'True', reason: 'ReschedulingTasks' });
  });
});

/** Half a UTF-16 surrogate pair: what a cut in the middle of a character leaves. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('messages that stay short', () => {
  it.each([
    [[], ''],
    [['7'], '7'],
    [['1', '2', '3'], '1, 2, 3'],
    [['1', '2', '3', '4'], '1, 2, 3 and 1 more'],
    [Array.from({ length: 100 }, (_, i) => String(i)), '0, 1, 2 and 97 more'],
  ])('lists %j as "%s"', (items, text) => {
    expect(someOf(items)).toBe(text);
  });

  it('cuts a long text to the limit with an ellipsis, never between the halves of a character', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcdef', 4)).toBe('abc…');
    const cut = truncate(`${'a'.repeat(8)}🚫🚫`, 10);
    expect(cut).toBe(`${'a'.repeat(8)}…`);
    expect(loneSurrogate.test(cut)).toBe(false);
    expect(truncate(`${'a'.repeat(7)}🚫🚫`, 10)).toBe(`${'a'.repeat(7)}🚫…`);
  });
});

describe('conditions over time', () => {
  it('moves lastTransitionTime only when the status changes', () => {
    const first = mergeConditions(undefined, [{ type: 'Ready', status: 'False', reason: 'DriverNotReady', message: 'a' }], { generation: 1, now: 1_000_000, owned: ['Ready'] });
    const sameStatus = mergeConditions(first, [{ type: 'Ready', status: 'False', reason: 'NoExecutorsReady', message: 'b' }], { generation: 2, now: 2_000_000, owned: ['Ready'] });
    const flipped = mergeConditions(sameStatus, [{ type: 'Ready', status: 'True', reason: 'Running', message: 'c' }], { generation: 2, now: 3_000_000, owned: ['Ready'] });
    expect(sameStatus[0]).toMatchObject({ lastTransitionTime: first[0]?.lastTransitionTime, reason: 'NoExecutorsReady', observedGeneration: 2 });
    expect(flipped[0]?.lastTransitionTime).toBe('1970-01-01T00:50:00Z');
  });

  it('keeps conditions other controllers wrote, and drops owned ones no longer decided', () => {
    const previous: JobCondition[] = [
      { type: 'example.com/Audited', status: 'True', reason: 'Ok', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
      { type: 'Stalled', status: 'True', reason: 'InvalidSpec', message: '', lastTransitionTime: '2025-01-01T00:00:00Z' },
    ];
    const merged = mergeConditions(previous, [{ type: 'Ready', status: 'True', reason: 'Running', message: '' }], { generation: 1, now, owned: ['Ready', 'Stalled'] });
    expect(merged.map((c) => c.type)).toEqual(['Ready', 'example.com/Audited']);
  });

  it('sees no change in a status that differs only in condition times', () => {
    const a = computeStatus(statusInput());
    const b = computeStatus(statusInput({ now: now + 60_000 }));
    expect(statusChanged(a, b)).toBe(false);
    expect(statusChanged(a, computeStatus(statusInput({ generation: 4 })))).toBe(true);
    expect(statusChanged(undefined, a)).toBe(true);
  });
});

describe('transition Events', () => {
  const running = computeStatus(statusInput());
  const invalid = computeStatus(statusInput({ findings: [{ field: 'spec.a', message: 'bad' }], spec: undefined, coordination: { state: 'skipped' } }));

  it('announces a phase change once', () => {
    expect(transitionEvents(undefined, running)).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Running' })]);
    expect(transitionEvents(running, running)).toEqual([]);
  });

  it('warns about an invalid spec, again only when the problem changes', () => {
    expect(transitionEvents(running, invalid)).toEqual([expect.objectContaining({ type: 'Warning', reason: 'InvalidSpec', note: expect.stringContaining('spec.a: bad') })]);
    expect(transitionEvents(invalid, invalid)).toEqual([]);
    const other = computeStatus(statusInput({ findings: [{ field: 'spec.b', message: 'worse' }], spec: undefined, coordination: { state: 'skipped' } }));
    expect(transitionEvents(invalid, other)).toEqual([expect.objectContaining({ reason: 'InvalidSpec' })]);
  });

  it('announces Running once every desired executor is ready, not at the first one', () => {
    const starting = computeStatus(statusInput({}, [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1', { ready: false, createdAtMs: now - 1000 })]));
    expect(starting.phase).toBe('Running');
    expect(transitionEvents(undefined, starting)).toEqual([]);
    expect(transitionEvents(starting, running)).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Running', note: expect.stringContaining('2/2 executors ready') })]);
  });

  it('announces Suspended once no pod is left, not while they still stop', () => {
    const suspend = applyDefaults(sampleSpec({ suspend: true }));
    const suspending = computeStatus(statusInput({ spec: suspend, previous: running }));
    const suspended = computeStatus(statusInput({ spec: suspend, previous: suspending }, []));
    expect(transitionEvents(running, suspending)).toEqual([]);
    expect(transitionEvents(suspending, suspended)).toEqual([expect.objectContaining({ reason: 'Suspended' })]);
    expect(transitionEvents(suspended, suspended)).toEqual([]);
  });

  it('announces a new configuration', () => {
    const next = { ...running, configHash: 'sha256:ffff' };
    expect(transitionEvents(running, next)).toEqual([expect.objectContaining({ reason: 'ConfigUpdated' })]);
  });
});

describe('the conditions kstatus (Flux) reads', () => {
  const types = (status: StreamingJobStatus): Record<string, string> =>
    Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]));

  it('publishes Reconciling exactly while Progressing is True, with its reason and message', () => {
    const scaling = computeStatus(statusInput({ plan: plan('WaitingForPods') }, [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1', { ready: false, createdAtMs: now - 1000 })]));
    expect(conditionOf(scaling, 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForPods', message: 'rollout: WaitingForPods' });
    expect(conditionOf(scaling, 'Ready')).toMatchObject({ status: 'False', reason: 'ExecutorsStarting' });
    const upToDate = computeStatus(statusInput({ previous: scaling, plan: plan('UpToDate') }));
    expect(conditionOf(upToDate, 'Reconciling')).toBeUndefined();
    expect(types(upToDate)).toMatchObject({ Ready: 'True', Progressing: 'False' });
  });

  it('marks an invalid spec and a failed batch Stalled, never Reconciling at the same time', () => {
    const invalid = computeStatus(statusInput({ findings: [{ field: 'spec.a', message: 'bad' }], spec: undefined, coordination: { state: 'skipped' }, plan: plan('RollingUpdate') }));
    const failed = computeStatus(statusInput({ coordination: synced(progress({ failedBatches: ['0000000007'] })), plan: plan('RollingUpdate') }));
    for (const status of [invalid, failed]) {
      expect(conditionOf(status, 'Stalled')).toMatchObject({ status: 'True' });
      expect(conditionOf(status, 'Reconciling')).toBeUndefined();
    }
  });

  it('counts as ready only executors of the desired set', () => {
    const scaledDown = computeStatus(statusInput({ spec: applyDefaults(sampleSpec({ executors: { replicas: 1 } })) }));
    expect(scaledDown.executors).toMatchObject({ desired: 1, ready: 1, summary: '1/1' });
    const suspending = computeStatus(statusInput({ spec: applyDefaults(sampleSpec({ suspend: true })) }));
    expect(suspending.executors).toMatchObject({ desired: 0, ready: 0, summary: '0/0' });
  });
});

describe('the requeue interval', () => {
  const cases: [string, Parameters<typeof requeueAfterMs>[0], number | undefined][] = [
    ['an invalid spec waits for a change', { invalidSpec: true, phase: 'Failed', progressing: false, draining: 0 }, undefined],
    ['a drain is polled', { invalidSpec: false, phase: 'Running', progressing: true, draining: 1 }, 2000],
    ['changes in flight', { invalidSpec: false, phase: 'Running', progressing: true, draining: 0 }, 10_000],
    ['a running job refreshes its progress', { invalidSpec: false, phase: 'Running', progressing: false, draining: 0 }, 30_000],
    ['a suspended job waits for events', { invalidSpec: false, phase: 'Suspended', progressing: false, draining: 0 }, undefined],
    ['a pending job', { invalidSpec: false, phase: 'Pending', progressing: false, draining: 0 }, 30_000],
    ['a running job with no committed batch or lag yet shows them within seconds', { invalidSpec: false, phase: 'Running', progressing: false, draining: 0, awaitingProgress: true }, 2000],
    ['a degraded job with no committed batch yet too', { invalidSpec: false, phase: 'Degraded', progressing: false, draining: 0, awaitingProgress: true }, 2000],
    ['a pod missing its registration is looked at once it is due to be judged unresponsive', { invalidSpec: false, phase: 'Running', progressing: false, draining: 0, unresponsiveDueInMs: 4_000 }, 4_100],
    ['a running job whose ZooKeeper cannot be read is looked at again within 10 s', { invalidSpec: false, phase: 'Running', progressing: false, draining: 0, coordinationUnavailable: true }, 10_000],
    ['a pending one too', { invalidSpec: false, phase: 'Pending', progressing: false, draining: 0, coordinationUnavailable: true }, 10_000],
    ['a suspended one still waits for events', { invalidSpec: false, phase: 'Suspended', progressing: false, draining: 0, coordinationUnavailable: true }, undefined],
    ['a judgement due later than the usual interval waits for it', { invalidSpec: false, phase: 'Running', progressing: false, draining: 0, unresponsiveDueInMs: 60_000 }, 30_000],
  ];
  it.each(cases)('%s', (_case, facts, expected) => {
    expect(requeueAfterMs(facts)).toBe(expected);
  });

  const refreshed: [string, Parameters<typeof requeueAfterMs>[0], number, number | undefined][] = [
    ['a running job refreshes its progress every progress refresh period', { invalidSpec: false, phase: 'Running', progressing: false, draining: 0 }, 2000, 2000],
    ['a degraded job is looked at every 15 s by default', { invalidSpec: false, phase: 'Degraded', progressing: false, draining: 0 }, 30_000, 15_000],
    ['a degraded job refreshes at least every progress refresh period', { invalidSpec: false, phase: 'Degraded', progressing: false, draining: 0 }, 2000, 2000],
    ['a longer period does not slow a degraded job down', { invalidSpec: false, phase: 'Degraded', progressing: false, draining: 0 }, 120_000, 15_000],
    ['a longer period applies to a running job', { invalidSpec: false, phase: 'Running', progressing: false, draining: 0 }, 120_000, 120_000],
    ['other phases keep their intervals', { invalidSpec: false, phase: 'Pending', progressing: false, draining: 0 }, 2000, 30_000],
    ['changes in flight keep theirs', { invalidSpec: false, phase: 'Running', progressing: true, draining: 0 }, 2000, 10_000],
  ];
  it.each(refreshed)('%s', (_case, facts, progressRefreshMs, expected) => {
    expect(requeueAfterMs(facts, progressRefreshMs)).toBe(expected);
  });
});

describe('describing findings', () => {
  it('names the first field and counts the rest', () => {
    expect(describeFindings([{ field: 'spec.a', message: 'm' }])).toBe('spec.a: m');
    expect(describeFindings([{ field: '', message: 'must be an object' }])).toBe('must be an object');
    expect(describeFindings([])).toBe('');
  });
});

describe('a job whose data cannot move', () => {
  const since = '2025-06-01T11:58:00.000Z';
  const blocked = (reason: NonNullable<JobProgress['blocked']>['reason'], field: string | undefined, message: string): JobProgress['blocked'] => ({ reason, message, since, ...(field === undefined ? {} : { field }) });

  it.each<[NonNullable<JobProgress['blocked']>['reason'], string, string, boolean]>([
    ['KafkaUnreachable', 'spec.source.kafka.bootstrapServers', 'cannot reach the source brokers 127.0.0.1:1: connect ECONNREFUSED (spec.source.kafka.bootstrapServers)', false],
    ['SourceTopicMissing', 'spec.source.kafka.topics', 'source topic in does not exist on k:9092 (spec.source.kafka.topics)', true],
    ['SinkTopicMissing', 'spec.sink.kafka.topic', 'task 0-0 (in/0) on job-executor-0: topic out does not exist (spec.sink.kafka.topic)', true],
    ['ProcessorFailed', 'spec.processor.module', 'task 0-0: cannot load the processor module /p.mjs (spec.processor.module)', true],
    ['PoisonRecord', 'spec.failurePolicy.poisonRecords', 'task 0-0: record in/0@1: the value is not JSON (spec.failurePolicy.poisonRecords)', true],
    ['StateLimitExceeded', 'spec.aggregation.stateMemory', 'task 0-0 (words.repartition/0) on job-executor-0: the aggregation state of one state partition needs more than its budget (spec.aggregation.stateMemory)', true],
  ])('is not Ready with reason %s, naming the field, while its pods are up', (reason, field, message, needsUser) => {
    const status = computeStatus(statusInput({ coordination: synced(progress({ blocked: blocked(reason, field, message) })) }));
    expect(status.phase).toBe('Degraded');
    expect(conditionOf(status, 'Ready')).toMatchObject({ status: 'False', reason, message: expect.stringContaining(field) });
    expect(conditionOf(status, 'Progressing')).toMatchObject({ status: 'False', reason });
    expect(conditionOf(status, 'Stalled')?.reason).toBe(needsUser ? reason : undefined);
    expect(status.message).toContain(`since 2025-06-01T11:58:00Z`);
  });

  it('returns to Ready by itself when the driver no longer names a cause', () => {
    const before = computeStatus(statusInput({ coordination: synced(progress({ blocked: blocked('SourceTopicMissing', 'spec.source.kafka.topics', 'source topic in does not exist') })) }));
    const after = computeStatus(statusInput({ previous: before, coordination: synced(progress()) }));
    expect(after.phase).toBe('Running');
    expect(conditionOf(after, 'Ready')).toMatchObject({ status: 'True', reason: 'Running' });
    expect(conditionOf(after, 'Stalled')).toBeUndefined();
    expect(transitionEvents(before, after)).toEqual([expect.objectContaining({ type: 'Normal', reason: 'Running' })]);
  });

  it('records one Event per cause, not one per pass or per new message', () => {
    const running = computeStatus(statusInput());
    const first = computeStatus(statusInput({ previous: running, coordination: synced(progress({ blocked: blocked('SinkTopicMissing', 'spec.sink.kafka.topic', 'task 0-0: topic out does not exist') })) }));
    const again = computeStatus(statusInput({ previous: first, coordination: synced(progress({ blocked: blocked('SinkTopicMissing', 'spec.sink.kafka.topic', 'task 1-0: topic out does not exist') })) }));
    const other = computeStatus(statusInput({ previous: again, coordination: synced(progress({ blocked: blocked('PoisonRecord', 'spec.failurePolicy.poisonRecords', 'task 1-0: record in/0@1: bad') })) }));
    expect(transitionEvents(running, first)).toEqual([expect.objectContaining({ type: 'Warning', reason: 'SinkTopicMissing', note: expect.stringContaining('spec.sink.kafka.topic') })]);
    expect(transitionEvents(first, again)).toEqual([]);
    expect(transitionEvents(again, other)).toEqual([expect.objectContaining({ type: 'Warning', reason: 'PoisonRecord' })]);
  });

  it('names the cause of a failed batch', () => {
    const status = computeStatus(statusInput({ coordination: synced(progress({ failedBatches: ['0000000000'], blocked: blocked('PoisonRecord', 'spec.failurePolicy.poisonRecords', 'task 0000000000-00000: record in/0@1: the value is not JSON') })) }));
    expect(conditionOf(status, 'Ready')).toMatchObject({ reason: 'BatchFailed', message: expect.stringContaining('cause (PoisonRecord): task 0000000000-00000: record in/0@1: the value is not JSON') });
  });

  it('notices a stall nobody explains: no batch for 10 batch intervals (at least a minute) while records wait', () => {
    const committedAt = new Date(now - 61_000).toISOString();
    const stalled = computeStatus(statusInput({ coordination: synced(progress({ lastCommittedBatch: { id: 9, committedAt }, totalLag: 120 })) }));
    expect(conditionOf(stalled, 'Ready')).toMatchObject({ status: 'False', reason: 'NoProgress', message: expect.stringContaining('since batch 9') });
    expect(conditionOf(stalled, 'Ready')?.message).toContain('120 records wait');
    expect(conditionOf(stalled, 'Stalled')).toBeUndefined();
    const withError = computeStatus(statusInput({ coordination: synced(progress({ lastCommittedBatch: { id: 9, committedAt }, totalLag: 120, lastError: 'SK_TIMEOUT: fetching offsets of in took too long' })) }));
    expect(conditionOf(withError, 'Ready')?.message).toContain('the driver\'s last error: SK_TIMEOUT: fetching offsets of in took too long');
    const recent = computeStatus(statusInput({ coordination: synced(progress({ lastCommittedBatch: { id: 9, committedAt: new Date(now - 59_000).toISOString() }, totalLag: 120 })) }));
    expect(conditionOf(recent, 'Ready')?.status).toBe('True');
    const caughtUp = computeStatus(statusInput({ coordination: synced(progress({ lastCommittedBatch: { id: 9, committedAt }, totalLag: 0 })) }));
    expect(conditionOf(caughtUp, 'Ready')?.status).toBe('True');
  });

  it('counts a job that never committed from its driver\'s start', () => {
    const status = computeStatus(statusInput({ coordination: synced(progress({ driverStartedAt: new Date(now - 120_000).toISOString(), totalLag: 5 })) }));
    expect(conditionOf(status, 'Ready')).toMatchObject({ reason: 'NoProgress', message: expect.stringContaining('since the driver started') });
  });
});

describe('pods that cannot run, in the job\'s status', () => {
  const secretMissing = { reason: 'CreateContainerConfigError', message: 'secret "kafka-sasl" not found' };

  it('names the driver pod and what the kubelet says: a missing Secret is PodConfigError, and Stalled', () => {
    const status = computeStatus(statusInput({ coordination: synced(progress({ driverRegistered: false }, {})) }, [pod('job-driver', { ready: false, lifecycle: 'pending', createdAtMs: now - 1000, stuck: secretMissing }), pod('job-executor-0', { ready: false, lifecycle: 'pending', createdAtMs: now - 1000, stuck: secretMissing })]));
    expect(status.phase).toBe('Pending');
    expect(conditionOf(status, 'Ready')).toMatchObject({ status: 'False', reason: 'PodConfigError', message: expect.stringContaining('pod job-driver cannot run: CreateContainerConfigError: secret "kafka-sasl" not found') });
    expect(conditionOf(status, 'Stalled')).toMatchObject({ status: 'True', reason: 'PodConfigError' });
  });

  it('names an executor whose image cannot be pulled when no executor runs', () => {
    const pulling = { reason: 'ImagePullBackOff', message: 'Back-off pulling image "example.com/not-streamkeeper:1"' };
    const status = computeStatus(statusInput({ coordination: synced(progress({}, {})) }, [pod('job-driver'), pod('job-executor-0', { ready: false, lifecycle: 'pending', stuck: pulling }), pod('job-executor-1', { ready: false, lifecycle: 'pending', stuck: pulling })]));
    expect(conditionOf(status, 'Ready')).toMatchObject({ status: 'False', reason: 'ImagePullFailed', message: expect.stringContaining('pod job-executor-0 cannot run: ImagePullBackOff') });
    expect(conditionOf(status, 'Stalled')).toBeUndefined();
  });

  it('keeps a job that still processes Degraded (not Ready: an executor is missing), and names the executor that crash-loops', () => {
    const status = computeStatus(statusInput({ coordination: synced(progress({}, { 'job-executor-0': 'active' })) }, [pod('job-driver'), pod('job-executor-0'), pod('job-executor-1', { ready: false, stuck: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=executor' } })]));
    expect(status.phase).toBe('Degraded');
    expect(conditionOf(status, 'Ready')).toMatchObject({ status: 'False', reason: 'ExecutorsUnavailable', message: expect.stringContaining('pod job-executor-1 cannot run: CrashLoopBackOff') });
  });

  it('records one Warning Event when a pod gets stuck', () => {
    const before = computeStatus(statusInput({ coordination: synced(progress({ driverRegistered: false }, {})) }, [pod('job-driver', { ready: false, lifecycle: 'pending', createdAtMs: now - 1000 })]));
    const stuck = computeStatus(statusInput({ previous: before, coordination: synced(progress({ driverRegistered: false }, {})) }, [pod('job-driver', { ready: false, lifecycle: 'pending', createdAtMs: now - 1000, stuck: secretMissing })]));
    const still = computeStatus(statusInput({ previous: stuck, coordination: synced(progress({ driverRegistered: false }, {})) }, [pod('job-driver', { ready: false, lifecycle: 'pending', createdAtMs: now - 1000, stuck: secretMissing })]));
    expect(transitionEvents(before, stuck)).toEqual([expect.objectContaining({ type: 'Warning', reason: 'PodConfigError' })]);
    expect(transitionEvents(stuck, still)).toEqual([]);
  });
});
