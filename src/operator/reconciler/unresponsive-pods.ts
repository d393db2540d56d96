/**
 * Pods whose process looks alive to Kubernetes but has stopped taking part: running, past the
 * start-up grace, yet without a ZooKeeper registration. A process keeps its registration for as
 * long as it keeps its session (it is re-created after an expiry), so a lost one means the
 * process stopped heartbeating — hung (SIGSTOP, a deadlock, a GC death spiral) or cut off from
 * ZooKeeper. Such a pod is replaced, not waited on: its tasks move and its work is fenced, as for
 * a pod that ended. Pure; the reconciler only reads it once ZooKeeper answered.
 *
 * A registration may also be missing for a moment without anything wrong: after a ZooKeeper
 * outage every session expired, and each process re-creates its node once it has a new one. So a
 * pod is judged only once its registration has been missing for `lossGraceMs` (longer than a
 * session timeout) on the operator's own clock, counted from the first pass that missed it.
 */
import type { ExecutorRegistrationState } from '../job-coordination.js';
import { registrationSkewMs, type JobPods, type ObservedPod } from './observed-pods.js';

export interface UnresponsiveFacts {
  readonly pods: JobPods;
  /** Executor registrations of the current incarnations (see `currentRegistrations`). */
  readonly registrations: ReadonlyMap<string, ExecutorRegistrationState>;
  readonly driverRegistered: boolean;
  /**
   * The standby driver pod (`pods.standby`) holds the `standby` node, made by this incarnation: a
   * standby holds no `driver` node, and is judged by this one instead.
   */
  readonly standbyRegistered?: boolean;
  /** Executors wanted now: pods beyond are stopped by scale-down, not judged here. */
  readonly replicas: number;
  readonly now: number;
  /** How long a new pod may take to register (the status' start-up grace). */
  readonly startupGraceMs: number;
  /**
   * Pods (by uid) seen registered before: their start-up is over, so a lost registration counts
   * at once, however young the pod (a process that hangs a few seconds after it started).
   */
  readonly registeredBefore?: ReadonlySet<string>;
  /** When a pass first found each pod (by uid) without its registration. */
  readonly missingSince: ReadonlyMap<string, number>;
  /** How long a registration may stay missing before its pod is judged. */
  readonly lossGraceMs: number;
}

/** Longer than the runtime's ZooKeeper session timeout (10 s), so a re-created node is seen. */
export const registrationLossGraceMs = 20_000;

/** Pods (by uid) that are running past the start-up grace without a registration: the candidates. */
export function podsWithoutRegistration(facts: Omit<UnresponsiveFacts, 'missingSince' | 'lossGraceMs'>): Set<string> {
  const uids = new Set<string>();
  const driver = facts.pods.driver;
  if (driver !== undefined && judged(driver, facts) && !facts.driverRegistered) uids.add(driver.uid);
  const standby = facts.pods.standby;
  if (standby !== undefined && judged(standby, facts) && facts.standbyRegistered !== true) uids.add(standby.uid);
  for (const [ordinal, pod] of facts.pods.executors) {
    if (ordinal < facts.replicas && judged(pod, facts) && !facts.registrations.has(pod.name)) uids.add(pod.uid);
  }
  return uids;
}

function judged(pod: ObservedPod, facts: Pick<UnresponsiveFacts, 'now' | 'startupGraceMs' | 'registeredBefore'>): boolean {
  const started = facts.now - pod.createdAtMs >= facts.startupGraceMs || facts.registeredBefore?.has(pod.uid) === true;
  return pod.lifecycle === 'running' && !pod.terminating && started;
}

/**
 * Pods (by uid) whose process holds its registration now. The driver's counts only if it was made
 * by this incarnation of the pod (`driverStartedAtMs`, from the registration).
 */
export function registeredPods(facts: Pick<UnresponsiveFacts, 'pods' | 'registrations' | 'driverRegistered' | 'standbyRegistered'>, driverStartedAtMs: number | undefined): Set<string> {
  const uids = new Set<string>();
  const driver = facts.pods.driver;
  if (driver !== undefined && facts.driverRegistered && driverStartedAtMs !== undefined && driverStartedAtMs >= driver.createdAtMs - registrationSkewMs) uids.add(driver.uid);
  if (facts.pods.standby !== undefined && facts.standbyRegistered === true) uids.add(facts.pods.standby.uid);
  for (const pod of facts.pods.executors.values()) if (facts.registrations.has(pod.name)) uids.add(pod.uid);
  return uids;
}

/**
 * In how many ms the next pod still within the grace is due to be judged; undefined when no
 * registration is missing (the reconciler looks again then: nothing else announces the moment).
 */
export function nextJudgementInMs(facts: UnresponsiveFacts): number | undefined {
  const candidates = podsWithoutRegistration(facts);
  let next: number | undefined;
  for (const [uid, since] of facts.missingSince) {
    if (!candidates.has(uid)) continue;
    const due = since + facts.lossGraceMs - facts.now;
    if (due > 0) next = next === undefined ? due : Math.min(next, due);
  }
  return next;
}

/** Names of the pods to replace because their process lost its registration for long enough. */
export function unresponsivePods(facts: UnresponsiveFacts): Set<string> {
  const candidates = podsWithoutRegistration(facts);
  const names = new Set<string>();
  for (const pod of [...(facts.pods.driver === undefined ? [] : [facts.pods.driver]), ...(facts.pods.standby === undefined ? [] : [facts.pods.standby]), ...facts.pods.executors.values()]) {
    const since = facts.missingSince.get(pod.uid);
    if (candidates.has(pod.uid) && since !== undefined && facts.now - since >= facts.lossGraceMs) names.add(pod.name);
  }
  return names;
}
