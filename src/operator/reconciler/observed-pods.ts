/**
 * A job's pods as the reconciler needs to see them: which component and ordinal, which template
 * (by hash), whether they run, are ready, have finished or are going away. Pure: read from the
 * stored Pod objects, decided from nothing else.
 */
import { labelKeys, type Component } from '../../api/v1alpha1/index.js';
import type { Pod, Stored } from '../../kube/objects.js';
import type { ExecutorRegistration, ExecutorRegistrationState } from '../job-coordination.js';
import { credentialAnnotation, driverPodNames, driverRestartsAnnotation, executorOrdinal, podTemplateHashLabel } from './naming.js';

/** `terminated`: the container exited (phase Succeeded or Failed); with restartPolicy Never it stays so. */
export type PodLifecycle = 'pending' | 'running' | 'terminated';

export interface ObservedPod {
  readonly name: string;
  readonly uid: string;
  readonly component: Component | undefined;
  readonly templateHash: string | undefined;
  readonly lifecycle: PodLifecycle;
  /** The kubelet reports the pod Ready. */
  readonly ready: boolean;
  /** Deletion has started (`metadata.deletionTimestamp`). */
  readonly terminating: boolean;
  readonly createdAtMs: number;
  /** How the container ended, for messages: `exit code 1 (Error)`. */
  readonly exit: string | undefined;
  /** Fingerprint of the job credential the pod was created to hold (its annotation), if any. */
  readonly credential: string | undefined;
  /** A driver pod's restart count when it was created (its annotation), if any. */
  readonly driverRestarts: number | undefined;
  /** Why the pod cannot run, as `kubectl describe` shows it; undefined unless it is stuck. */
  readonly stuck: PodStuck | undefined;
}

/** A pod that cannot run without a change: a missing Secret, an image that cannot be pulled, … */
export interface PodStuck {
  /** The kubelet's (or scheduler's) reason: `CreateContainerConfigError`, `ImagePullBackOff`, … */
  readonly reason: string;
  readonly message: string;
}

/**
 * Container waiting reasons that mean the pod will not run as it is. `ContainerCreating` and
 * `PodInitializing` are the normal way up, and are not among them.
 */
const stuckWaitingReasons: ReadonlySet<string> = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
]);

function stuckOf(pod: Stored<Pod>): PodStuck | undefined {
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason !== undefined && stuckWaitingReasons.has(waiting.reason)) return { reason: waiting.reason, message: waiting.message ?? '' };
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') return { reason: 'Unschedulable', message: scheduled.message ?? '' };
  return undefined;
}

function lifecycleOf(phase: string | undefined): PodLifecycle {
  if (phase === 'Succeeded' || phase === 'Failed') return 'terminated';
  if (phase === 'Running') return 'running';
  return 'pending';
}

function exitOf(pod: Stored<Pod>): string | undefined {
  for (const status of pod.status?.containerStatuses ?? []) {
    const terminated = status.state?.terminated ?? status.lastState?.terminated;
    if (terminated !== undefined) {
      return `exit code ${terminated.exitCode}${terminated.reason === undefined ? '' : ` (${terminated.reason})`}`;
    }
  }
  const reason = pod.status?.reason;
  return reason === undefined ? undefined : reason;
}

function isReady(pod: Stored<Pod>, lifecycle: PodLifecycle): boolean {
  if (lifecycle !== 'running') return false;
  const condition = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (condition !== undefined) return condition.status === 'True';
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.length > 0 && statuses.every((s) => s.ready);
}

/** A count written by the operator; anything else (hand-edited, missing) reads as unknown. */
function countOf(text: string | undefined): number | undefined {
  return text !== undefined && /^(0|[1-9][0-9]{0,8})$/.test(text) ? Number(text) : undefined;
}

export function observePod(pod: Stored<Pod>): ObservedPod {
  const lifecycle = lifecycleOf(pod.status?.phase);
  const component = pod.metadata.labels?.[labelKeys.component];
  const annotations = pod.metadata.annotations ?? {};
  const created = Date.parse(pod.metadata.creationTimestamp);
  return {
    name: pod.metadata.name,
    uid: pod.metadata.uid,
    component: component === 'driver' || component === 'executor' ? component : undefined,
    templateHash: pod.metadata.labels?.[podTemplateHashLabel],
    lifecycle,
    ready: isReady(pod, lifecycle),
    terminating: pod.metadata.deletionTimestamp !== undefined,
    createdAtMs: Number.isNaN(created) ? 0 : created,
    exit: lifecycle === 'terminated' ? exitOf(pod) : undefined,
    credential: annotations[credentialAnnotation],
    driverRestarts: countOf(annotations[driverRestartsAnnotation]),
    stuck: lifecycle === 'terminated' ? undefined : stuckOf(pod),
  };
}

/** Whether the job (this incarnation, by uid) is the pod's controller. */
export function isControlledBy(pod: Stored<Pod>, jobUid: string): boolean {
  return (pod.metadata.ownerReferences ?? []).some((ref) => ref.controller === true && ref.uid === jobUid);
}

export interface JobPods {
  /**
   * The active driver: the pod holding the `driver` znode, or, while none does, the one expected
   * to take it (`<job>-driver` first, a pod that is not going away before one that is).
   */
  readonly driver: ObservedPod | undefined;
  /** The other driver pod, when the job runs a standby (`spec.driver.standby`). */
  readonly standby?: ObservedPod | undefined;
  readonly executors: ReadonlyMap<number, ObservedPod>;
  /** Pods the job controls under names the operator does not give (left from a bug or by hand). */
  readonly strays: readonly ObservedPod[];
}

/**
 * Sorts a job's own pods by role; everything else is a stray. `activeDriver` is the pod named by
 * the `driver` znode's registration, when ZooKeeper was read: of the two driver pods, that one is
 * the driver and the other its standby.
 */
export function sortJobPods(job: string, pods: readonly ObservedPod[], activeDriver?: string): JobPods {
  const driverNames: readonly string[] = driverPodNames(job);
  const drivers: ObservedPod[] = [];
  const executors = new Map<number, ObservedPod>();
  const strays: ObservedPod[] = [];
  for (const pod of pods) {
    const ordinal = executorOrdinal(job, pod.name);
    if (pod.component === 'driver' && driverNames.includes(pod.name)) drivers.push(pod);
    else if (pod.component === 'executor' && ordinal !== undefined) executors.set(ordinal, pod);
    else strays.push(pod);
  }
  const staying = (pod: ObservedPod): boolean => !pod.terminating && pod.lifecycle !== 'terminated';
  const expected = [...drivers].sort((a, b) => Number(staying(b)) - Number(staying(a)) || driverNames.indexOf(a.name) - driverNames.indexOf(b.name));
  const driver = drivers.find((pod) => pod.name === activeDriver) ?? expected[0];
  const standby = drivers.find((pod) => pod !== driver);
  return { driver, ...(standby === undefined ? {} : { standby }), executors, strays };
}

/** Every pod of the job, driver first, then its standby, executors by ordinal. */
export function allPods(pods: JobPods): ObservedPod[] {
  const executors = [...pods.executors].sort(([a], [b]) => a - b).map(([, pod]) => pod);
  return [...(pods.driver === undefined ? [] : [pods.driver]), ...(pods.standby === undefined ? [] : [pods.standby]), ...executors, ...pods.strays];
}

/** Registrations more than this older than their pod belong to an earlier incarnation (clocks differ a little). */
export const registrationSkewMs = 1000;

/**
 * Executor registrations by pod name, without those left by an earlier incarnation of a pod of
 * the same name: its node lingers until the old session times out, and must not be taken for
 * the new pod (which waits for it to go before it registers).
 */
export function currentRegistrations(registrations: ReadonlyMap<string, ExecutorRegistration>, pods: JobPods): Map<string, ExecutorRegistrationState> {
  const byName = new Map(allPods(pods).map((pod) => [pod.name, pod]));
  const current = new Map<string, ExecutorRegistrationState>();
  for (const [name, registration] of registrations) {
    const pod = byName.get(name);
    const stale = pod !== undefined && registration.registeredAtMs !== undefined && registration.registeredAtMs < pod.createdAtMs - registrationSkewMs;
    if (!stale) current.set(name, registration.state);
  }
  return current;
}
