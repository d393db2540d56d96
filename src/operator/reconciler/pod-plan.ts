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
import { driverPodName, executorPodName } from './naming.js';
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
  | { readonly kind: 'retire'; readonly component: Component; readonly name: string; readonly uid: string; readonly reason: RetireReason; readonly exit: string | undefined };

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

export function planPods(input: PodPlanInput): PodPlan {
  const { job, pods, registrations } = input;
  const known = registrations !== undefined;
  const wanted = input.suspended ? 0 : input.replicas;
  const actions: PodAction[] = [];
  const notes: string[] = [];
  let waitingForCoordination = false;

  const stopExecutor = (pod: ObservedPod, reason: DeleteReason): void => {
    if (!known) {
      waitingForCoordination = true;
      return;
    }
    const state = registrations.get(pod.name);
    if (state === undefined) actions.push({ kind: 'delete', component: 'executor', name: pod.name, uid: pod.uid, reason });
    else actions.push({ kind: 'drain-then-delete', name: pod.name, uid: pod.uid, reason, wasActive: state === 'active' });
  };

  // Terminated pods, and pods holding a revoked credential, are retired first: their names are
  // needed for the replacements.
  const retired = new Set<string>();
  let revoked = 0;
  for (const pod of [...(pods.driver === undefined ? [] : [pods.driver]), ...pods.executors.values()]) {
    if (pod.component === undefined) continue;
    const terminated = pod.lifecycle === 'terminated';
    const holdsRevoked = input.credential !== undefined && pod.credential !== undefined && pod.credential !== input.credential;
    const unresponsive = !terminated && !holdsRevoked && !input.suspended && input.unresponsive?.has(pod.name) === true;
    if (unresponsive && !pod.terminating) {
      actions.push({ kind: 'retire', component: pod.component, name: pod.name, uid: pod.uid, reason: 'unresponsive', exit: undefined });
      retired.add(pod.name);
      notes.push(`${pod.name} lost its ZooKeeper registration while its pod runs (hung or cut off)`);
      continue;
    }
    // A pod already being deleted is waited for, even once it has ended: it ended because it was
    // asked to (scale-down, rolling update, suspend, a user's delete), which is no failure to
    // report or count. A drained executor holds no tasks; one that was killed before it handed
    // them back is found through its ZooKeeper session ending.
    if (pod.terminating || (!terminated && !holdsRevoked)) continue;
    if (pod.component === 'executor' && !known) {
      waitingForCoordination = true;
      continue;
    }
    // A suspended job's driver is not restarted, so its end is no failure to count; nor is the
    // end of a pod whose credential was revoked (which is likely why it ended).
    if (terminated && pod.component === 'driver' && input.suspended) actions.push({ kind: 'delete', component: 'driver', name: pod.name, uid: pod.uid, reason: 'suspend' });
    else actions.push({ kind: 'retire', component: pod.component, name: pod.name, uid: pod.uid, reason: holdsRevoked ? 'revoked-credential' : 'terminated', exit: terminated ? pod.exit : undefined });
    if (holdsRevoked) revoked += 1;
    retired.add(pod.name);
  }
  if (revoked > 0) notes.push(`${plural(revoked, 'pod')} ${revoked === 1 ? 'holds' : 'hold'} a revoked ZooKeeper credential`);
  /** Going away: ended, being deleted, or retired by this plan. */
  const leaving = (pod: ObservedPod): boolean => isGone(pod) || retired.has(pod.name);
  for (const pod of pods.strays) {
    if (pod.terminating) continue;
    if (pod.component === 'executor' && pod.lifecycle !== 'terminated') stopExecutor(pod, 'stray');
    else actions.push({ kind: 'delete', component: pod.component, name: pod.name, uid: pod.uid, reason: 'stray' });
  }

  // Suspending stops the driver first, so that no new batch is planned while executors drain.
  const driver = pods.driver;
  const driverStopped = driver === undefined || leaving(driver);
  const executorsMayStop = !input.suspended || driverStopped;

  const byOrdinal = [...pods.executors].sort(([a], [b]) => b - a);
  let excess = 0;
  for (const [ordinal, pod] of byOrdinal) {
    if (ordinal < wanted || leaving(pod)) continue;
    excess += 1;
    if (executorsMayStop) stopExecutor(pod, input.suspended ? 'suspend' : 'scale-down');
  }
  if (input.suspended && !executorsMayStop && excess > 0) notes.push('waiting for the driver to stop before the executors');

  // The desired executors: create what is missing, finish off what is draining.
  let missing = 0;
  let unsettled = 0;
  const outdated: [number, ObservedPod][] = [];
  for (let ordinal = 0; ordinal < wanted; ordinal++) {
    const pod = pods.executors.get(ordinal);
    if (pod === undefined) {
      actions.push({ kind: 'create', component: 'executor', name: executorPodName(job, ordinal) });
      missing += 1;
      unsettled += 1;
      continue;
    }
    if (leaving(pod)) {
      unsettled += 1;
      continue;
    }
    const isOutdated = pod.templateHash !== input.executorHash;
    if (known && registrations.get(pod.name) === 'draining') {
      stopExecutor(pod, isOutdated ? 'rolling-update' : 'replace-draining');
      unsettled += 1;
      continue;
    }
    if (isOutdated) outdated.push([ordinal, pod]);
    else if (!executorReady(pod, registrations)) unsettled += 1;
  }

  // Rolling update: not-ready pods on an old template go at once (they serve nothing); ready
  // ones one at a time, highest ordinal first, only while every other executor is ready.
  let rolling = false;
  if (outdated.length > 0) {
    rolling = true;
    const notReady = outdated.filter(([, pod]) => !executorReady(pod, registrations));
    for (const [, pod] of notReady) stopExecutor(pod, 'rolling-update');
    if (notReady.length === 0 && unsettled === 0) {
      const next = outdated.sort(([a], [b]) => b - a)[0];
      if (next !== undefined) stopExecutor(next[1], 'rolling-update');
    }
  }
  const updatedReady = [...pods.executors]
    .filter(([ordinal, pod]) => ordinal < wanted && !retired.has(pod.name) && pod.templateHash === input.executorHash && executorReady(pod, registrations))
    .length;

  // The driver: created with the executors, rolled only once every executor is on the new
  // template and ready (the driver last), or at once when it is not ready anyway.
  let driverPending = false;
  if (input.suspended) {
    if (driver !== undefined && !leaving(driver)) actions.push({ kind: 'delete', component: 'driver', name: driver.name, uid: driver.uid, reason: 'suspend' });
  } else if (driver === undefined) {
    actions.push({ kind: 'create', component: 'driver', name: driverPodName(job) });
    driverPending = true;
  } else if (!leaving(driver)) {
    if (driver.templateHash !== input.driverHash) {
      rolling = true;
      const executorsSettled = updatedReady === wanted && excess === 0 && !actions.some((a) => a.kind !== 'create' || a.component === 'executor');
      if (!driver.ready || executorsSettled) actions.push({ kind: 'delete', component: 'driver', name: driver.name, uid: driver.uid, reason: 'rolling-update' });
      else notes.push('the driver follows once every executor is updated and ready');
    } else if (!driver.ready) {
      driverPending = true;
    }
  } else if (!retired.has(driver.name)) {
    driverPending = true;
  }

  const reason = rolloutReason({
    suspended: input.suspended,
    podsLeft: driver !== undefined || pods.executors.size > 0,
    waitingForCoordination,
    rolling,
    scalingDown: excess > 0,
    replacing: retired.size > 0 || actions.some((a) => (a.kind === 'delete' || a.kind === 'drain-then-delete') && a.reason === 'replace-draining'),
    creating: missing > 0 || actions.some((a) => a.kind === 'create'),
    waiting: unsettled > 0 || driverPending,
  });
  return { actions, rollout: { reason, message: rolloutMessage(reason, { wanted, updatedReady, excess, outdated: outdated.length, notes, actions }) }, updatedReady };
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
