/**
 * What to do with a job's pods this pass, as one pure function of what is observed: create the
 * missing ones, retire the ones that terminated, drain before deleting any executor that may
 * hold tasks, roll a template change through the executors one at a time and the driver last,
 * scale down from the highest ordinal, and on suspend stop the driver before the executors.
 *
 * Whether an executor is being drained lives in ZooKeeper (its registration's state), not in
 * memory: a draining executor never takes tasks again, so it is always finished off (deleted once
 * drained, and replaced if its ordinal is still wanted), and a restarted operator picks up the
 * rolling update exactly where it stopped.
 */
import type { Component } from '../../api/v1alpha1/index.js';
import type { ExecutorRegistrationState } from '../job-coordination.js';
import { someOf } from './conditions.js';
import { driverPodName, driverPodNames, executorPodName } from './naming.js';
import type { JobPods, ObservedPod } from './observed-pods.js';

export type DeleteReason = 'terminated' | 'revoked-credential' | 'unresponsive' | 'suspend' | 'scale-down' | 'rolling-update' | 'replace-draining' | 'stray';

/**
 * Why a pod is retired: it ended, it holds a job credential that was revoked, or its process
 * lost its ZooKeeper registration while the pod runs (unresponsive-pods.ts).
 */
export type RetireReason = Extract<DeleteReason, 'terminated' | 'revoked-credential' | 'unresponsive'>;

export type PodAction =
  | { readonly kind: 'create'; readonly component: Component; readonly name: string }
  | { readonly kind: 'delete'; readonly component: Component | undefined; readonly name: string; readonly uid: string; readonly reason: DeleteReason }
  /** Ask the executor to hand back its tasks; delete the pod once it holds none. */
  | { readonly kind: 'drain-then-delete'; readonly name: string; readonly uid: string; readonly reason: DeleteReason; readonly wasActive: boolean }
  /**
   * The pod terminated, or cannot work any more (its credential was revoked): tell the failure
   * detector (executors), then delete it for a replacement.
   */
  | { readonly kind: 'retire'; readonly component: Component; readonly name: string; readonly uid: string; readonly reason: RetireReason; readonly exit: string | undefined; readonly standby?: true };

/** Why the job's pods are not (yet) what the spec asks; the `Progressing` condition's reason. */
export type RolloutReason =
  | 'UpToDate'
  | 'CreatingPods'
  | 'WaitingForPods'
  | 'ReplacingPods'
  | 'RollingUpdate'
  | 'ScalingDown'
  | 'Suspending'
  | 'Suspended'
  | 'WaitingForCoordination';

export interface PodPlanInput {
  readonly job: string;
  readonly suspended: boolean;
  readonly replicas: number;
  readonly driverHash: string;
  readonly executorHash: string;
  readonly pods: JobPods;
  /**
   * Registered executors by pod, from ZooKeeper; undefined when ZooKeeper could not be read —
   * then nothing that needs a drain or the failure detector is done.
   */
  readonly registrations: ReadonlyMap<string, ExecutorRegistrationState> | undefined;
  /**
   * Fingerprint of the credential the job's subtree admits (undefined with open ACLs). A pod
   * annotated with another one holds a revoked credential: it can no longer reach its ZooKeeper
   * data, so it is replaced at once — no drain, which it could not answer.
   */
  readonly credential: string | undefined;
  /** Running pods whose process lost its ZooKeeper registration (`unresponsivePods`): replaced. */
  readonly unresponsive?: ReadonlySet<string>;
  /** `spec.driver.standby`: a second driver pod waits to take over from the active one. */
  readonly standby?: boolean;
  /**
   * The driver pod (`pods.driver`) holds the `driver` znode: the standby is created only then, so
   * that the first driver of a job is the one named `<job>-driver`.
   */
  readonly driverRegistered?: boolean;
}

export interface PodPlan {
  readonly actions: readonly PodAction[];
  readonly rollout: { readonly reason: RolloutReason; readonly message: string };
  /** Executors of the desired set that are ready on the current template. */
  readonly updatedReady: number;
}

const isGone = (pod: ObservedPod): boolean => pod.terminating || pod.lifecycle === 'terminated';

/** Ready for tasks: the pod is Ready and (when ZooKeeper was read) its executor is registered and active. */
export function executorReady(pod: ObservedPod, registrations: ReadonlyMap<string, ExecutorRegistrationState> | undefined): boolean {
  if (!pod.ready || isGone(pod)) return false;
  return registrations === undefined || registrations.get(pod.name) === 'active';
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The plan as a checklist of named steps, each a pure function of the input and of what the
 * steps before it decided: retire broken pods, remove strays, stop surplus executors, keep the
 * desired executors, roll outdated ones, then the driver's standby and the driver. Actions keep
 * that order.
 */
export function planPods(input: PodPlanInput): PodPlan {
  const wanted = input.suspended ? 0 : input.replicas;
  const retiring = retireBrokenPods(input);
  /** Going away: ended, being deleted, or retired by this plan. */
  const leaving = (pod: ObservedPod): boolean => isGone(pod) || retiring.retired.has(pod.name);
  const strays = removeStrays(input);
  // Suspending stops the driver first, so that no new batch is planned while executors drain.
  const stopped = (pod: ObservedPod | undefined): boolean => pod === undefined || leaving(pod);
  const executorsMayStop = !input.suspended || (stopped(input.pods.driver) && stopped(input.pods.standby));
  const surplus = stopSurplusExecutors(input, wanted, leaving, executorsMayStop);
  const desired = keepDesiredExecutors(input, wanted, leaving);
  const rolled = rollExecutors(input, desired.outdated, desired.unsettled);
  const updatedReady = countUpdatedReady(input, wanted, retiring.retired);
  const executorActions = [...retiring.actions, ...strays.actions, ...surplus.actions, ...desired.actions, ...rolled.actions];
  // The driver rolls last: only once no executor is being created, stopped or replaced.
  const executorsSettled = updatedReady === wanted && surplus.excess === 0 && !executorActions.some((a) => a.kind !== 'create' || a.component === 'executor');
  const standby = planStandby(input, leaving);
  // With a standby, the active driver rolls only once the standby runs the new template: it takes
  // over as soon as the old driver lets go, so the roll costs no new pod's start.
  const driver = planDriver(input, leaving, retiring.retired, executorsSettled && standby.settled);
  const actions = [...executorActions, ...standby.actions, ...driver.actions];
  const notes = [...retiring.notes, ...surplus.notes, ...standby.notes, ...driver.notes];

  const reason = rolloutReason({
    suspended: input.suspended,
    podsLeft: input.pods.driver !== undefined || input.pods.executors.size > 0,
    waitingForCoordination: retiring.waitingForCoordination || strays.waitingForCoordination || surplus.waitingForCoordination || desired.waitingForCoordination || rolled.waitingForCoordination,
    rolling: desired.outdated.length > 0 || driver.rolling || standby.rolling,
    scalingDown: surplus.excess > 0,
    replacing: retiring.retired.size > 0 || actions.some((a) => (a.kind === 'delete' || a.kind === 'drain-then-delete') && a.reason === 'replace-draining'),
    creating: desired.missing > 0 || actions.some((a) => a.kind === 'create'),
    waiting: desired.unsettled > 0 || driver.pending || standby.pending,
  });
  return { actions, rollout: { reason, message: rolloutMessage(reason, { wanted, updatedReady, excess: surplus.excess, outdated: desired.outdated.length, notes, actions }) }, updatedReady };
}

/** What a step adds to the plan. `waitingForCoordination`: it left an executor alone because ZooKeeper could not be read. */
interface PlanStep {
  readonly actions: readonly PodAction[];
  readonly notes: readonly string[];
  readonly waitingForCoordination: boolean;
}

/**
 * How an executor is stopped: drained first when it is registered (it may hold tasks), deleted
 * when it is not; undefined while ZooKeeper could not be read (it is left alone until then).
 */
export function stopExecutor(pod: ObservedPod, reason: DeleteReason, registrations: ReadonlyMap<string, ExecutorRegistrationState> | undefined): PodAction | undefined {
  if (registrations === undefined) return undefined;
  const state = registrations.get(pod.name);
  if (state === undefined) return { kind: 'delete', component: 'executor', name: pod.name, uid: pod.uid, reason };
  return { kind: 'drain-then-delete', name: pod.name, uid: pod.uid, reason, wasActive: state === 'active' };
}

/** Stops each executor of `stops` (in order), noting whether one had to wait for ZooKeeper. */
function stopExecutors(stops: readonly (readonly [ObservedPod, DeleteReason])[], registrations: ReadonlyMap<string, ExecutorRegistrationState> | undefined): { actions: PodAction[]; waitingForCoordination: boolean } {
  const actions: PodAction[] = [];
  for (const [pod, reason] of stops) {
    const action = stopExecutor(pod, reason, registrations);
    if (action !== undefined) actions.push(action);
  }
  return { actions, waitingForCoordination: registrations === undefined && stops.length > 0 };
}

/**
 * Step 1: terminated pods, pods holding a revoked credential and pods whose process lost its
 * registration are retired first: their names are needed for the replacements.
 */
export function retireBrokenPods(input: PodPlanInput): PlanStep & { readonly retired: ReadonlySet<string> } {
  const { pods, registrations } = input;
  const actions: PodAction[] = [];
  const notes: string[] = [];
  const retired = new Set<string>();
  let waitingForCoordination = false;
  let revoked = 0;
  for (const pod of [...(pods.driver === undefined ? [] : [pods.driver]), ...(pods.standby === undefined ? [] : [pods.standby]), ...pods.executors.values()]) {
    if (pod.component === undefined) continue;
    const role = pod === pods.standby ? { standby: true as const } : {};
    const terminated = pod.lifecycle === 'terminated';
    const holdsRevoked = input.credential !== undefined && pod.credential !== undefined && pod.credential !== input.credential;
    const unresponsive = !terminated && !holdsRevoked && !input.suspended && input.unresponsive?.has(pod.name) === true;
    if (unresponsive && !pod.terminating) {
      actions.push({ kind: 'retire', component: pod.component, name: pod.name, uid: pod.uid, reason: 'unresponsive', exit: undefined, ...role });
      retired.add(pod.name);
      notes.push(`${pod.name} lost its ZooKeeper registration while its pod runs (hung or cut off)`);
      continue;
    }
    // A pod already being deleted is waited for, even once it has ended: it ended because it was
    // asked to (scale-down, rolling update, suspend, a user's delete), which is no failure to
    // report or count. A drained executor holds no tasks; one that was killed before it handed
    // them back is found through its ZooKeeper session ending.
    if (pod.terminating || (!terminated && !holdsRevoked)) continue;
    if (pod.component === 'executor' && registrations === undefined) {
      waitingForCoordination = true;
      continue;
    }
    // A suspended job's driver is not restarted, so its end is no failure to count; nor is the
    // end of a pod whose credential was revoked (which is likely why it ended).
    if (terminated && pod.component === 'driver' && input.suspended) actions.push({ kind: 'delete', component: 'driver', name: pod.name, uid: pod.uid, reason: 'suspend' });
    else actions.push({ kind: 'retire', component: pod.component, name: pod.name, uid: pod.uid, reason: holdsRevoked ? 'revoked-credential' : 'terminated', exit: terminated ? pod.exit : undefined, ...role });
    if (holdsRevoked) revoked += 1;
    retired.add(pod.name);
  }
  if (revoked > 0) notes.push(`${plural(revoked, 'pod')} ${revoked === 1 ? 'holds' : 'hold'} a revoked ZooKeeper credential`);
  return { actions, notes, retired, waitingForCoordination };
}

/** Step 2: pods of the job outside the driver and the executor ordinals go; a running executor is drained first. */
export function removeStrays(input: PodPlanInput): PlanStep {
  const actions: PodAction[] = [];
  let waitingForCoordination = false;
  for (const pod of input.pods.strays) {
    if (pod.terminating) continue;
    if (pod.component === 'executor' && pod.lifecycle !== 'terminated') {
      const stopped = stopExecutors([[pod, 'stray']], input.registrations);
      actions.push(...stopped.actions);
      waitingForCoordination ||= stopped.waitingForCoordination;
    } else {
      actions.push({ kind: 'delete', component: pod.component, name: pod.name, uid: pod.uid, reason: 'stray' });
    }
  }
  return { actions, notes: [], waitingForCoordination };
}

/**
 * Step 3: executors at ordinals beyond `wanted` are stopped, highest first — on suspend only once
 * the driver is stopped (`executorsMayStop`). `excess` counts them either way.
 */
export function stopSurplusExecutors(input: PodPlanInput, wanted: number, leaving: (pod: ObservedPod) => boolean, executorsMayStop: boolean): PlanStep & { readonly excess: number } {
  const surplus = [...input.pods.executors].filter(([ordinal, pod]) => ordinal >= wanted && !leaving(pod)).sort(([a], [b]) => b - a);
  const reason: DeleteReason = input.suspended ? 'suspend' : 'scale-down';
  const stopped = executorsMayStop ? stopExecutors(surplus.map(([, pod]) => [pod, reason] as const), input.registrations) : { actions: [], waitingForCoordination: false };
  const notes = input.suspended && !executorsMayStop && surplus.length > 0 ? ['waiting for the driver to stop before the executors'] : [];
  return { ...stopped, notes, excess: surplus.length };
}

/**
 * Step 4: the desired executors — ordinals below `wanted`. Missing ones are created; a draining
 * one is finished off (deleted once drained, replaced later). `unsettled` counts those not yet
 * ready on the current template; `outdated` lists the others on an old template, for step 5.
 */
export function keepDesiredExecutors(input: PodPlanInput, wanted: number, leaving: (pod: ObservedPod) => boolean): PlanStep & { readonly missing: number; readonly unsettled: number; readonly outdated: readonly (readonly [number, ObservedPod])[] } {
  const { pods, registrations } = input;
  const actions: PodAction[] = [];
  const outdated: [number, ObservedPod][] = [];
  let waitingForCoordination = false;
  let missing = 0;
  let unsettled = 0;
  for (let ordinal = 0; ordinal < wanted; ordinal++) {
    const pod = pods.executors.get(ordinal);
    if (pod === undefined) {
      actions.push({ kind: 'create', component: 'executor', name: executorPodName(input.job, ordinal) });
      missing += 1;
      unsettled += 1;
      continue;
    }
    if (leaving(pod)) {
      unsettled += 1;
      continue;
    }
    const isOutdated = pod.templateHash !== input.executorHash;
    if (registrations?.get(pod.name) === 'draining') {
      const stopped = stopExecutors([[pod, isOutdated ? 'rolling-update' : 'replace-draining']], registrations);
      actions.push(...stopped.actions);
      waitingForCoordination ||= stopped.waitingForCoordination;
      unsettled += 1;
      continue;
    }
    if (isOutdated) outdated.push([ordinal, pod]);
    else if (!executorReady(pod, registrations)) unsettled += 1;
  }
  return { actions, notes: [], waitingForCoordination, missing, unsettled, outdated };
}

/**
 * Step 5, the rolling update: not-ready executors on an old template go at once (they serve
 * nothing); ready ones one at a time, highest ordinal first, only while every other executor is
 * ready (`unsettled` is 0).
 */
export function rollExecutors(input: PodPlanInput, outdated: readonly (readonly [number, ObservedPod])[], unsettled: number): PlanStep {
  const notReady = outdated.filter(([, pod]) => !executorReady(pod, input.registrations));
  const next = notReady.length === 0 && unsettled === 0 ? [...outdated].sort(([a], [b]) => b - a).slice(0, 1) : [];
  const stopped = stopExecutors([...notReady, ...next].map(([, pod]) => [pod, 'rolling-update'] as const), input.registrations);
  return { ...stopped, notes: [] };
}

/** Executors of the desired set that are ready on the current template, not counting those retired by this plan. */
export function countUpdatedReady(input: PodPlanInput, wanted: number, retired: ReadonlySet<string>): number {
  return [...input.pods.executors].filter(([ordinal, pod]) => ordinal < wanted && !retired.has(pod.name) && pod.templateHash === input.executorHash && executorReady(pod, input.registrations)).length;
}

/**
 * Step 6, the driver's standby (`spec.driver.standby`): created once the driver holds its node,
 * under the driver pod name the driver does not use; replaced at once when its template is old
 * (it serves nothing until it takes over); deleted with the driver on suspend and when the spec
 * no longer asks for it. `settled`: it is as wanted — running the current template and ready, or
 * absent when not wanted. A standby that terminated was retired in step 1.
 */
export function planStandby(input: PodPlanInput, leaving: (pod: ObservedPod) => boolean): { readonly actions: readonly PodAction[]; readonly notes: readonly string[]; readonly rolling: boolean; readonly pending: boolean; readonly settled: boolean } {
  const wanted = input.standby === true && !input.suspended;
  const { driver, standby } = input.pods;
  if (standby !== undefined && leaving(standby)) return { actions: [], notes: [], rolling: false, pending: wanted, settled: !wanted };
  if (!wanted) {
    if (standby === undefined) return { actions: [], notes: [], rolling: false, pending: false, settled: true };
    return { actions: [{ kind: 'delete', component: 'driver', name: standby.name, uid: standby.uid, reason: input.suspended ? 'suspend' : 'scale-down' }], notes: [], rolling: false, pending: false, settled: false };
  }
  if (standby === undefined) {
    if (driver === undefined || leaving(driver) || input.driverRegistered !== true) return { actions: [], notes: ['the standby driver follows once the driver has registered'], rolling: false, pending: true, settled: false };
    const name = driverPodNames(input.job).find((candidate) => candidate !== driver.name) ?? driverPodName(input.job);
    return { actions: [{ kind: 'create', component: 'driver', name }], notes: [], rolling: false, pending: true, settled: false };
  }
  if (standby.templateHash !== input.driverHash) return { actions: [{ kind: 'delete', component: 'driver', name: standby.name, uid: standby.uid, reason: 'rolling-update' }], notes: [], rolling: true, pending: false, settled: false };
  return { actions: [], notes: [], rolling: false, pending: !standby.ready, settled: standby.ready };
}

/**
 * Step 7, the driver: created with the executors; rolled only once every executor is on the new
 * template and ready (`executorsSettled`: the driver last), or at once when it is not ready
 * anyway; deleted first on suspend. `pending`: it is being created or is not ready yet.
 */
export function planDriver(input: PodPlanInput, leaving: (pod: ObservedPod) => boolean, retired: ReadonlySet<string>, executorsSettled: boolean): { readonly actions: readonly PodAction[]; readonly notes: readonly string[]; readonly rolling: boolean; readonly pending: boolean } {
  const driver = input.pods.driver;
  if (input.suspended) {
    const actions: PodAction[] = driver !== undefined && !leaving(driver) ? [{ kind: 'delete', component: 'driver', name: driver.name, uid: driver.uid, reason: 'suspend' }] : [];
    return { actions, notes: [], rolling: false, pending: false };
  }
  if (driver === undefined) return { actions: [{ kind: 'create', component: 'driver', name: driverPodName(input.job) }], notes: [], rolling: false, pending: true };
  if (leaving(driver)) return { actions: [], notes: [], rolling: false, pending: !retired.has(driver.name) };
  if (driver.templateHash !== input.driverHash) {
    if (!driver.ready || executorsSettled) return { actions: [{ kind: 'delete', component: 'driver', name: driver.name, uid: driver.uid, reason: 'rolling-update' }], notes: [], rolling: true, pending: false };
    return { actions: [], notes: ['the driver follows once every executor is updated and ready'], rolling: true, pending: false };
  }
  return { actions: [], notes: [], rolling: false, pending: !driver.ready };
}

interface RolloutFacts {
  readonly suspended: boolean;
  readonly podsLeft: boolean;
  readonly waitingForCoordination: boolean;
  readonly rolling: boolean;
  readonly scalingDown: boolean;
  readonly replacing: boolean;
  readonly creating: boolean;
  readonly waiting: boolean;
}

function rolloutReason(facts: RolloutFacts): RolloutReason {
  if (facts.suspended) return facts.podsLeft ? 'Suspending' : 'Suspended';
  if (facts.waitingForCoordination) return 'WaitingForCoordination';
  if (facts.rolling) return 'RollingUpdate';
  if (facts.scalingDown) return 'ScalingDown';
  if (facts.replacing) return 'ReplacingPods';
  if (facts.creating) return 'CreatingPods';
  if (facts.waiting) return 'WaitingForPods';
  return 'UpToDate';
}

function rolloutMessage(reason: RolloutReason, facts: { wanted: number; updatedReady: number; excess: number; outdated: number; notes: readonly string[]; actions: readonly PodAction[] }): string {
  const draining = facts.actions.filter((a) => a.kind === 'drain-then-delete').map((a) => a.name);
  const tail = [...(draining.length === 0 ? [] : [`draining ${someOf(draining)}`]), ...facts.notes].join('; ');
  const withTail = (text: string): string => (tail === '' ? text : `${text}; ${tail}`);
  switch (reason) {
    case 'UpToDate':
      return `the driver and ${plural(facts.wanted, 'executor')} run the current pod template`;
    case 'Suspended':
      return 'suspended: no pods run; ZooKeeper keeps the committed offsets';
    case 'Suspending':
      return withTail('suspending: stopping the driver, then draining and stopping the executors');
    case 'WaitingForCoordination':
      return withTail('waiting for ZooKeeper before stopping or replacing executors');
    case 'RollingUpdate':
      return withTail(`rolling update: ${facts.updatedReady} of ${plural(facts.wanted, 'executor')} updated and ready`);
    case 'ScalingDown':
      return withTail(`scaling down to ${plural(facts.wanted, 'executor')}: ${facts.excess} to drain and stop`);
    case 'ReplacingPods':
      return withTail('replacing pods that terminated, were drained or lost their credential');
    case 'CreatingPods':
      return withTail(`creating pods: ${someOf(facts.actions.filter((a) => a.kind === 'create').map((a) => a.name))}`);
    case 'WaitingForPods':
      return withTail(`waiting for pods to become ready: ${facts.updatedReady} of ${plural(facts.wanted, 'executor')} ready`);
  }
}
