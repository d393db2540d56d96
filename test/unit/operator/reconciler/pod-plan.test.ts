import { describe, expect, it } from '@jest/globals';
import type { ExecutorRegistration, ExecutorRegistrationState } from '../../../../src/operator/job-coordination.js';
import { currentRegistrations, sortJobPods, type ObservedPod } from '../../../../src/operator/reconciler/observed-pods.js';
import {
  countUpdatedReady,
  keepDesiredExecutors,
  planDriver,
  planPods,
  planStandby,
  removeStrays,
  retireBrokenPods,
  rollExecutors,
  stopExecutor,
  stopSurplusExecutors,
  type PodAction,
  type PodPlanInput,
} from '../../../../src/operator/reconciler/pod-plan.js';

const NEW = 'new';
const OLD = 'old';

type PodShape = Partial<ObservedPod> & { readonly name: string };

function pod(shape: PodShape): ObservedPod {
  return {
    uid: `uid-${shape.name}`,
    component: shape.name.includes('-executor-') ? 'executor' : 'driver',
    templateHash: NEW,
    lifecycle: 'running',
    ready: true,
    terminating: false,
    createdAtMs: 0,
    exit: undefined,
    credential: undefined,
    driverRestarts: undefined,
    stuck: undefined,
    ...shape,
  };
}

const driver = (shape: Partial<ObservedPod> = {}): ObservedPod => pod({ name: 'job-driver', ...shape });
const executor = (ordinal: number, shape: Partial<ObservedPod> = {}): ObservedPod => pod({ name: `job-executor-${ordinal}`, ...shape });

function input(pods: ObservedPod[], options: { replicas?: number; suspended?: boolean; registrations?: Record<string, ExecutorRegistrationState> | 'unknown'; credential?: string; standby?: boolean; activeDriver?: string } = {}): PodPlanInput {
  const registered =
    options.registrations === 'unknown'
      ? undefined
      : new Map(Object.entries(options.registrations ?? Object.fromEntries(pods.filter((p) => p.component === 'executor').map((p) => [p.name, 'active' as const]))));
  return {
    job: 'job',
    suspended: options.suspended ?? false,
    replicas: options.replicas ?? 2,
    driverHash: NEW,
    executorHash: NEW,
    pods: sortJobPods('job', pods, options.activeDriver),
    registrations: registered,
    credential: options.credential,
    ...(options.standby === undefined ? {} : { standby: options.standby, driverRegistered: options.activeDriver !== undefined }),
  };
}

const standby = (shape: Partial<ObservedPod> = {}): ObservedPod => pod({ name: 'job-driver-1', ...shape });

/** Actions in a compact notation: `create job-executor-1`, `drain job-executor-2 scale-down`. */
function actions(plan: { actions: readonly PodAction[] }): string[] {
  return plan.actions.map((a) => {
    switch (a.kind) {
      case 'create':
        return `create ${a.name}`;
      case 'delete':
        return `delete ${a.name} ${a.reason}`;
      case 'drain-then-delete':
        return `drain ${a.name} ${a.reason}`;
      case 'retire':
        return [`retire ${a.name}`, ...(a.reason === 'terminated' ? [] : [a.reason]), ...(a.standby === true ? ['standby'] : [])].join(' ');
    }
  });
}

describe('planning a job\'s pods', () => {
  const cases: [string, PodPlanInput, string[], string][] = [
    ['creates the driver and every executor of a new job', input([]), ['create job-executor-0', 'create job-executor-1', 'create job-driver'], 'CreatingPods'],
    ['does nothing when everything runs the current template', input([driver(), executor(0), executor(1)]), [], 'UpToDate'],
    ['waits while pods start', input([driver({ ready: false }), executor(0, { lifecycle: 'pending', ready: false }), executor(1)]), [], 'WaitingForPods'],
    ['recreates a missing executor', input([driver(), executor(0)]), ['create job-executor-1'], 'CreatingPods'],
    ['retires a terminated executor and replaces it on a later pass', input([driver(), executor(0), executor(1, { lifecycle: 'terminated', ready: false })]), ['retire job-executor-1'], 'ReplacingPods'],
    ['retires a terminated driver', input([driver({ lifecycle: 'terminated', ready: false }), executor(0), executor(1)]), ['retire job-driver'], 'ReplacingPods'],
    ['waits for a terminating pod to go before reusing its name', input([driver(), executor(0), executor(1, { terminating: true })]), [], 'WaitingForPods'],
    // Deleted on purpose (scale-down, roll, suspend): its end was asked for, so it is no failure.
    ['waits for a pod it is deleting that has ended, without retiring it', input([driver(), executor(0), executor(1, { terminating: true, lifecycle: 'terminated', ready: false })]), [], 'WaitingForPods'],
    ['waits for a driver it is deleting that has ended, without retiring it', input([driver({ terminating: true, lifecycle: 'terminated', ready: false }), executor(0), executor(1)]), [], 'WaitingForPods'],
    ['creates executors on scale-up', input([driver(), executor(0), executor(1)], { replicas: 4 }), ['create job-executor-2', 'create job-executor-3'], 'CreatingPods'],
    [
      'drains the highest ordinals on scale-down',
      input([driver(), executor(0), executor(1), executor(2), executor(3)], { replicas: 2 }),
      ['drain job-executor-3 scale-down', 'drain job-executor-2 scale-down'],
      'ScalingDown',
    ],
    [
      'deletes a surplus executor that never registered without draining it',
      input([driver(), executor(0), executor(1), executor(2, { ready: false, lifecycle: 'pending' })], { registrations: { 'job-executor-0': 'active', 'job-executor-1': 'active' } }),
      ['delete job-executor-2 scale-down'],
      'ScalingDown',
    ],
    [
      'finishes off a draining executor the spec still wants, to replace it',
      input([driver(), executor(0), executor(1)], { registrations: { 'job-executor-0': 'active', 'job-executor-1': 'draining' } }),
      ['drain job-executor-1 replace-draining'],
      'ReplacingPods',
    ],
    [
      'rolls the highest-ordinal executor first, one at a time',
      input([driver({ templateHash: OLD }), executor(0, { templateHash: OLD }), executor(1, { templateHash: OLD }), executor(2, { templateHash: OLD })], { replicas: 3 }),
      ['drain job-executor-2 rolling-update'],
      'RollingUpdate',
    ],
    [
      'continues a roll with the executor already draining, and starts no second one',
      input([driver({ templateHash: OLD }), executor(0, { templateHash: OLD }), executor(1, { templateHash: OLD })], { registrations: { 'job-executor-0': 'active', 'job-executor-1': 'draining' } }),
      ['drain job-executor-1 rolling-update'],
      'RollingUpdate',
    ],
    [
      'waits for the replacement to be ready before rolling the next executor',
      input([driver({ templateHash: OLD }), executor(0, { templateHash: OLD }), executor(1, { ready: false, lifecycle: 'pending' })], { registrations: { 'job-executor-0': 'active' } }),
      [],
      'RollingUpdate',
    ],
    [
      'waits for a replacement to register in ZooKeeper, not only for its pod to be ready',
      input([driver({ templateHash: OLD }), executor(0, { templateHash: OLD }), executor(1)], { registrations: { 'job-executor-0': 'active' } }),
      [],
      'RollingUpdate',
    ],
    [
      'replaces executors on an old template that are not ready at once (they serve nothing)',
      input([driver(), executor(0, { templateHash: OLD, ready: false, lifecycle: 'pending' }), executor(1, { templateHash: OLD, ready: false, lifecycle: 'pending' })], { registrations: {} }),
      ['delete job-executor-0 rolling-update', 'delete job-executor-1 rolling-update'],
      'RollingUpdate',
    ],
    [
      'rolls the driver last, once every executor is updated and ready',
      input([driver({ templateHash: OLD }), executor(0), executor(1)]),
      ['delete job-driver rolling-update'],
      'RollingUpdate',
    ],
    [
      'replaces a driver that is not ready on an old template at once',
      input([driver({ templateHash: OLD, ready: false }), executor(0, { templateHash: OLD }), executor(1, { templateHash: OLD })]),
      ['drain job-executor-1 rolling-update', 'delete job-driver rolling-update'],
      'RollingUpdate',
    ],
    ['stops the driver first when suspended', input([driver(), executor(0), executor(1)], { suspended: true }), ['delete job-driver suspend'], 'Suspending'],
    [
      'drains the executors once the driver is gone',
      input([executor(0), executor(1)], { suspended: true }),
      ['drain job-executor-1 suspend', 'drain job-executor-0 suspend'],
      'Suspending',
    ],
    ['rests once a suspended job has no pods', input([], { suspended: true }), [], 'Suspended'],
    [
      'neither drains nor retires executors while ZooKeeper cannot be read',
      input([driver(), executor(0), executor(1, { lifecycle: 'terminated', ready: false }), executor(2)], { replicas: 2, registrations: 'unknown' }),
      [],
      'WaitingForCoordination',
    ],
    [
      'replaces every pod holding a revoked credential at once, executors through the failure detector (a drain could not be answered)',
      input([driver({ credential: 'c1' }), executor(0, { credential: 'c1' }), executor(1, { credential: 'c1' })], { credential: 'c2' }),
      ['retire job-driver revoked-credential', 'retire job-executor-0 revoked-credential', 'retire job-executor-1 revoked-credential'],
      'ReplacingPods',
    ],
    [
      'keeps pods holding the current credential, and pods from before credentials were recorded on them',
      input([driver({ credential: 'c2' }), executor(0, { credential: 'c2' }), executor(1)], { credential: 'c2' }),
      [],
      'UpToDate',
    ],
    [
      'replaces only the pods holding a revoked credential, and rolls nothing meanwhile',
      input([driver({ credential: 'c2', templateHash: OLD }), executor(0, { credential: 'c2' }), executor(1, { credential: 'c1', templateHash: OLD })], { credential: 'c2' }),
      ['retire job-executor-1 revoked-credential'],
      'RollingUpdate',
    ],
    [
      'waits for a pod holding a revoked credential that is already being deleted',
      input([driver({ credential: 'c2' }), executor(0, { credential: 'c2' }), executor(1, { credential: 'c1', terminating: true })], { credential: 'c2' }),
      [],
      'WaitingForPods',
    ],
    [
      'retires the executors of a suspended job that hold a revoked credential instead of draining them',
      input([executor(0, { credential: 'c1' }), executor(1, { credential: 'c2' })], { suspended: true, credential: 'c2' }),
      ['retire job-executor-0 revoked-credential', 'drain job-executor-1 suspend'],
      'Suspending',
    ],
    [
      'retires a pod that terminated holding a revoked credential for its credential, not as a failure (likely why it ended)',
      input([driver({ credential: 'c1', lifecycle: 'terminated', ready: false }), executor(0, { credential: 'c2' }), executor(1, { credential: 'c2' })], { credential: 'c2' }),
      ['retire job-driver revoked-credential'],
      'ReplacingPods',
    ],
    [
      'deletes a stray pod of the job',
      input([driver(), executor(0), executor(1), pod({ name: 'job-old-executor', component: 'executor', lifecycle: 'terminated', ready: false })]),
      ['delete job-old-executor stray'],
      'UpToDate',
    ],
  ];

  it.each(cases)('%s', (_case, planInput, expected, reason) => {
    const plan = planPods(planInput);
    expect(actions(plan)).toEqual(expected);
    expect(plan.rollout.reason).toBe(reason);
    expect(plan.rollout.message).not.toBe('');
  });

  it('says why pods are replaced when they hold a revoked credential', () => {
    const plan = planPods(input([driver({ credential: 'c1' }), executor(0, { credential: 'c1' }), executor(1, { credential: 'c2' })], { credential: 'c2' }));
    expect(plan.rollout.message).toContain('2 pods hold a revoked ZooKeeper credential');
  });

  it('names a few of many pods it creates', () => {
    const plan = planPods(input([driver()], { replicas: 50 }));
    expect(plan.rollout.message).toBe('creating pods: job-executor-0, job-executor-1, job-executor-2 and 47 more');
  });

  it('marks drains of active executors as new requests (for the Event and the metric)', () => {
    const plan = planPods(input([driver(), executor(0), executor(1), executor(2)], { registrations: { 'job-executor-0': 'active', 'job-executor-1': 'active', 'job-executor-2': 'active' } }));
    expect(plan.actions).toEqual([{ kind: 'drain-then-delete', name: 'job-executor-2', uid: 'uid-job-executor-2', reason: 'scale-down', wasActive: true }]);
  });
});

describe('planning a job\'s pods with a standby driver', () => {
  const gone = (pod: ObservedPod): boolean => pod.terminating || pod.lifecycle === 'terminated';
  const on = (pods: ObservedPod[], options: Parameters<typeof input>[1] = {}): PodPlanInput => input(pods, { standby: true, activeDriver: 'job-driver', ...options });
  const cases: [string, PodPlanInput, string[], string][] = [
    ['creates the driver and the executors of a new job, and no standby before the driver registered', input([], { standby: true }), ['create job-executor-0', 'create job-executor-1', 'create job-driver'], 'CreatingPods'],
    ['waits for the driver to register before creating the standby', input([driver(), executor(0), executor(1)], { standby: true }), [], 'WaitingForPods'],
    ['creates the standby under the other driver name once the driver registered', on([driver(), executor(0), executor(1)]), ['create job-driver-1'], 'CreatingPods'],
    ['does nothing when the driver, its standby and the executors run the current template', on([driver(), standby(), executor(0), executor(1)]), [], 'UpToDate'],
    ['waits for a standby that is not ready yet', on([driver(), standby({ ready: false }), executor(0), executor(1)]), [], 'WaitingForPods'],
    // The registration tells the roles apart: after a failover `job-driver-1` drives.
    ['retires the failed active driver without touching the standby that takes over', on([driver({ lifecycle: 'terminated', ready: false }), standby(), executor(0), executor(1)]), ['retire job-driver'], 'ReplacingPods'],
    ['creates the new standby under the failed driver\'s name once the standby took over', on([standby(), executor(0), executor(1)], { activeDriver: 'job-driver-1' }), ['create job-driver'], 'CreatingPods'],
    ['waits for the failed driver\'s pod to go before reusing its name for the standby', on([driver({ terminating: true, lifecycle: 'terminated', ready: false }), standby(), executor(0), executor(1)], { activeDriver: 'job-driver-1' }), [], 'WaitingForPods'],
    ['retires a terminated standby as a standby', on([driver(), standby({ lifecycle: 'terminated', ready: false }), executor(0), executor(1)]), ['retire job-driver-1 standby'], 'ReplacingPods'],
    ['replaces a standby on an old template at once, and rolls the driver only once the standby is updated', on([driver({ templateHash: OLD }), standby({ templateHash: OLD }), executor(0), executor(1)]), ['delete job-driver-1 rolling-update'], 'RollingUpdate'],
    ['rolls the active driver once the standby runs the new template and is ready', on([driver({ templateHash: OLD }), standby(), executor(0), executor(1)]), ['delete job-driver rolling-update'], 'RollingUpdate'],
    ['keeps an outdated driver while the new standby starts', on([driver({ templateHash: OLD }), standby({ ready: false }), executor(0), executor(1)]), [], 'RollingUpdate'],
    ['deletes the standby when the spec no longer asks for one', on([driver(), standby(), executor(0), executor(1)], { standby: false }), ['delete job-driver-1 scale-down'], 'UpToDate'],
    ['deletes the standby with the driver on suspend, before the executors stop', on([driver(), standby(), executor(0), executor(1)], { suspended: true }), ['delete job-driver-1 suspend', 'delete job-driver suspend'], 'Suspending'],
    ['stops the executors of a suspended job only once both driver pods are going', on([driver({ terminating: true }), standby(), executor(0), executor(1)], { suspended: true }), ['delete job-driver-1 suspend'], 'Suspending'],
  ];
  it.each(cases)('%s', (_what, planInput, expected, reason) => {
    const plan = planPods(planInput);
    expect(actions(plan)).toEqual(expected);
    expect(plan.rollout.reason).toBe(reason);
  });

  it('tells the driver from its standby by the registration, not by name', () => {
    const pods = [driver(), standby()];
    expect(sortJobPods('job', pods, 'job-driver-1')).toMatchObject({ driver: { name: 'job-driver-1' }, standby: { name: 'job-driver' } });
    expect(sortJobPods('job', pods, undefined)).toMatchObject({ driver: { name: 'job-driver' }, standby: { name: 'job-driver-1' } });
    // Nobody registered: the pod that stays is the one expected to take the node.
    expect(sortJobPods('job', [driver({ lifecycle: 'terminated' }), standby()], undefined)).toMatchObject({ driver: { name: 'job-driver-1' }, standby: { name: 'job-driver' } });
  });

  it.each<[string, PodPlanInput, string[], { pending: boolean; settled: boolean }]>([
    ['wants nothing without a standby in the spec', input([driver()]), [], { pending: false, settled: true }],
    ['is settled with a ready standby on the current template', on([driver(), standby()]), [], { pending: false, settled: true }],
    ['is pending while the driver is not registered', input([driver()], { standby: true }), [], { pending: true, settled: false }],
    ['is pending while a standby is going away', on([driver(), standby({ terminating: true })]), [], { pending: true, settled: false }],
  ])('the standby step %s', (_what, planInput, expected, flags) => {
    const step = planStandby(planInput, gone);
    expect(actions(step)).toEqual(expected);
    expect({ pending: step.pending, settled: step.settled }).toEqual(flags);
  });
});

describe('executor registrations', () => {
  const registration = (state: ExecutorRegistrationState, registeredAtMs: number | undefined): ExecutorRegistration => ({ state, registeredAtMs });

  it('ignores a registration left by an earlier pod of the same name', () => {
    const pods = sortJobPods('job', [executor(0, { createdAtMs: 50_000 }), executor(1, { createdAtMs: 50_000 })]);
    const registrations = new Map([
      ['job-executor-0', registration('draining', 10_000)],
      ['job-executor-1', registration('active', 50_500)],
      ['job-executor-9', registration('active', 1_000)],
    ]);
    expect(currentRegistrations(registrations, pods)).toEqual(new Map([
      ['job-executor-1', 'active'],
      ['job-executor-9', 'active'],
    ]));
  });

  it('keeps a registration whose time is unknown', () => {
    const pods = sortJobPods('job', [executor(0, { createdAtMs: 50_000 })]);
    expect(currentRegistrations(new Map([['job-executor-0', registration('active', undefined)]]), pods).get('job-executor-0')).toBe('active');
  });
});

describe('pods whose process lost its ZooKeeper registration', () => {
  it('retires an unresponsive driver and executor for replacement, leaving the others alone', () => {
    const plan = planPods({ ...input([driver(), executor(0), executor(1)]), unresponsive: new Set(['job-driver', 'job-executor-1']) });
    expect(actions(plan)).toEqual(['retire job-driver unresponsive', 'retire job-executor-1 unresponsive']);
    expect(plan.rollout.reason).toBe('ReplacingPods');
    expect(plan.rollout.message).toContain('job-driver lost its ZooKeeper registration');
  });

  it('does not judge a suspended job\'s pods, which are stopped anyway', () => {
    expect(actions(planPods({ ...input([driver(), executor(0)], { suspended: true, replicas: 0 }), unresponsive: new Set(['job-driver']) }))).toEqual(['delete job-driver suspend']);
  });
});

describe('the steps of a pod plan', () => {
  const gone = (pod: ObservedPod): boolean => pod.terminating || pod.lifecycle === 'terminated';

  it.each<[string, Record<string, ExecutorRegistrationState>, string, boolean | undefined]>([
    ['drains a registered active executor, as a new drain request', { 'job-executor-0': 'active' }, 'drain job-executor-0 scale-down', true],
    ['finishes a registered draining executor', { 'job-executor-0': 'draining' }, 'drain job-executor-0 scale-down', false],
    ['deletes an executor that never registered (it holds nothing)', {}, 'delete job-executor-0 scale-down', undefined],
  ])('stopping an executor %s', (_what, registered, expected, wasActive) => {
    const action = stopExecutor(executor(0), 'scale-down', new Map(Object.entries(registered)));
    expect(action === undefined ? [] : actions({ actions: [action] })).toEqual([expected]);
    if (action?.kind === 'drain-then-delete') expect(action.wasActive).toBe(wasActive);
  });

  it('stops no executor while ZooKeeper could not be read', () => {
    expect(stopExecutor(executor(0), 'scale-down', undefined)).toBeUndefined();
  });

  it.each<[string, PodPlanInput, string[], string[]]>([
    ['nothing when every pod runs', input([driver(), executor(0)]), [], []],
    ['a terminated executor and driver', input([driver({ lifecycle: 'terminated' }), executor(0, { lifecycle: 'terminated' })]), ['retire job-driver', 'retire job-executor-0'], ['job-driver', 'job-executor-0']],
    ['not a pod being deleted, even once it ended', input([executor(0, { lifecycle: 'terminated', terminating: true })]), [], []],
    ['a suspended job\'s ended driver by a plain delete', input([driver({ lifecycle: 'terminated' })], { suspended: true }), ['delete job-driver suspend'], ['job-driver']],
    ['a running pod that holds a revoked credential', input([executor(0, { credential: 'old' })], { credential: 'new' }), ['retire job-executor-0 revoked-credential'], ['job-executor-0']],
    ['not a terminated executor while ZooKeeper could not be read', input([executor(0, { lifecycle: 'terminated' })], { registrations: 'unknown' }), [], []],
  ])('retires %s', (_what, planInput, expected, retired) => {
    const step = retireBrokenPods(planInput);
    expect(actions(step)).toEqual(expected);
    expect([...step.retired]).toEqual(retired);
  });

  it('removes strays: a running stray executor is drained, anything else deleted, one being deleted left alone', () => {
    const strays = [
      pod({ name: 'job-old-executor', component: 'executor' }),
      pod({ name: 'job-old-driver', component: 'driver' }),
      pod({ name: 'job-gone-executor', component: 'executor', terminating: true }),
    ];
    const planInput = { ...input([]), pods: { driver: undefined, executors: new Map(), strays } };
    expect(actions(removeStrays({ ...planInput, registrations: new Map([['job-old-executor', 'active']]) }))).toEqual(['drain job-old-executor stray', 'delete job-old-driver stray']);
    expect(removeStrays({ ...planInput, registrations: undefined }).waitingForCoordination).toBe(true);
  });

  it.each<[string, PodPlanInput, number, boolean, string[], number]>([
    ['drains the ordinals beyond the wanted count, highest first', input([executor(0), executor(1), executor(2)]), 1, true, ['drain job-executor-2 scale-down', 'drain job-executor-1 scale-down'], 2],
    ['counts but keeps surplus executors while the driver of a suspended job still runs', input([executor(0)], { suspended: true }), 0, false, [], 1],
    ['leaves out executors already leaving', input([executor(0), executor(1, { terminating: true })]), 1, true, [], 0],
  ])('stopping surplus executors %s', (_what, planInput, wanted, mayStop, expected, excess) => {
    const step = stopSurplusExecutors(planInput, wanted, gone, mayStop);
    expect(actions(step)).toEqual(expected);
    expect(step.excess).toBe(excess);
  });

  it.each<[string, PodPlanInput, number, string[], { missing: number; unsettled: number; outdated: number[] }]>([
    ['creates the missing ordinals', input([executor(1)]), 3, ['create job-executor-0', 'create job-executor-2'], { missing: 2, unsettled: 2, outdated: [] }],
    ['finishes a draining executor it still wants', input([executor(0)], { registrations: { 'job-executor-0': 'draining' } }), 1, ['drain job-executor-0 replace-draining'], { missing: 0, unsettled: 1, outdated: [] }],
    ['hands outdated executors to the roll', input([executor(0, { templateHash: OLD }), executor(1, { ready: false })]), 2, [], { missing: 0, unsettled: 1, outdated: [0] }],
  ])('keeping the desired executors %s', (_what, planInput, wanted, expected, counts) => {
    const step = keepDesiredExecutors(planInput, wanted, gone);
    expect(actions(step)).toEqual(expected);
    expect({ missing: step.missing, unsettled: step.unsettled, outdated: step.outdated.map(([ordinal]) => ordinal) }).toEqual(counts);
  });

  it.each<[string, ObservedPod[], number, string[]]>([
    ['rolls the highest ready ordinal when all is settled', [executor(0, { templateHash: OLD }), executor(1, { templateHash: OLD })], 0, ['drain job-executor-1 rolling-update']],
    ['rolls nothing ready while another executor is unsettled', [executor(0, { templateHash: OLD })], 1, []],
    ['stops every outdated executor that is not ready at once', [executor(0, { templateHash: OLD, ready: false }), executor(1, { templateHash: OLD })], 0, ['drain job-executor-0 rolling-update']],
  ])('rolling executors %s', (_what, outdated, unsettled, expected) => {
    const planInput = input(outdated);
    expect(actions(rollExecutors(planInput, outdated.map((p, i) => [i, p] as const), unsettled))).toEqual(expected);
  });

  it('counts the updated ready executors of the desired set, not those retired by the plan', () => {
    const planInput = input([executor(0), executor(1), executor(2, { templateHash: OLD }), executor(3)]);
    expect(countUpdatedReady(planInput, 3, new Set(['job-executor-1']))).toBe(1);
  });

  it.each<[string, PodPlanInput, boolean, string[], { rolling: boolean; pending: boolean }]>([
    ['creates a missing driver', input([]), true, ['create job-driver'], { rolling: false, pending: true }],
    ['waits for a driver that is not ready', input([driver({ ready: false })]), true, [], { rolling: false, pending: true }],
    ['rolls an outdated driver once the executors are settled', input([driver({ templateHash: OLD })]), true, ['delete job-driver rolling-update'], { rolling: true, pending: false }],
    ['keeps an outdated ready driver until the executors are settled', input([driver({ templateHash: OLD })]), false, [], { rolling: true, pending: false }],
    ['deletes the driver of a suspended job', input([driver()], { suspended: true }), false, ['delete job-driver suspend'], { rolling: false, pending: false }],
    ['waits for a driver that is going away', input([driver({ terminating: true })]), true, [], { rolling: false, pending: true }],
  ])('the driver step %s', (_what, planInput, settled, expected, flags) => {
    const step = planDriver(planInput, gone, new Set(), settled);
    expect(actions(step)).toEqual(expected);
    expect({ rolling: step.rolling, pending: step.pending }).toEqual(flags);
  });

  it('does not count a driver this plan retires as pending: its replacement comes on a later pass', () => {
    expect(planDriver(input([driver({ lifecycle: 'terminated' })]), gone, new Set(['job-driver']), true)).toEqual({ actions: [], notes: [], rolling: false, pending: false });
  });
});
