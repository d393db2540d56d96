/**
 * Pod status as a kubelet reports it, computed from what the node agent knows about each
 * container: the phase (kubelet's getPhase rules), the Initialized / ContainersReady / Ready
 * conditions (PodScheduled is the binding's), container states, and restart decisions.
 * Pure functions, so the rules are table-tested without processes.
 */
import { jsonEqual } from '../kube/merge-patch.js';
import type { Pod } from '../kube/objects.js';

export type PodStatus = NonNullable<Pod['status']>;
type PodCondition = NonNullable<PodStatus['conditions']>[number];
type ContainerStatus = NonNullable<PodStatus['containerStatuses']>[number];
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** A container's ID names its process, so tools (the demo, tests) can find and signal it. */
const containerIdScheme = 'streamkeeper-local://';

export function containerIdOf(pid: number): string {
  return `${containerIdScheme}${pid}`;
}

/** The process behind a container ID the node agent reported; undefined for any other ID. */
export function processOfContainer(containerID: string | undefined): number | undefined {
  if (containerID?.startsWith(containerIdScheme) !== true) return undefined;
  const pid = Number(containerID.slice(containerIdScheme.length));
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

export interface Terminated {
  readonly exitCode: number;
  /** The signal that ended the process, if one did. */
  readonly signal?: number;
  readonly reason: string;
  readonly message?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly containerID?: string;
}

export type ContainerState =
  | { readonly kind: 'waiting'; readonly reason: string; readonly message?: string }
  | { readonly kind: 'running'; readonly startedAt: string }
  | ({ readonly kind: 'terminated' } & Terminated);

/** What the node agent knows about one container. */
export interface ContainerRecord {
  readonly name: string;
  readonly image: string;
  readonly containerID?: string;
  readonly state: ContainerState;
  readonly lastTerminated?: Terminated;
  readonly restartCount: number;
  readonly ready: boolean;
}

export function restartPolicyOf(pod: Pod): RestartPolicy {
  const policy = pod.spec?.restartPolicy;
  return policy === 'OnFailure' || policy === 'Never' ? policy : 'Always';
}

/** Whether a container that exited with `exitCode` runs again. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/**
 * How long a crashed container waits before its next start: 1 s doubling to 30 s. Shorter than
 * the kubelet's 10 s → 5 min, because a local cluster is for quick feedback.
 */
export function restartBackoffMs(restartCount: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(restartCount, 5));
}

/** The reason a runtime gives a finished container. */
export function terminatedReason(exitCode: number): string {
  return exitCode === 0 ? 'Completed' : 'Error';
}

/** kubelet's getPhase for pods without init containers. */
export function podPhase(records: readonly ContainerRecord[], containerCount: number, policy: RestartPolicy): PodPhase {
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const record of records) {
    switch (record.state.kind) {
      case 'running':
        running++;
        break;
      case 'terminated':
        stopped++;
        if (record.state.exitCode === 0) succeeded++;
        break;
      case 'waiting':
        // A container waiting to restart has run before: it counts as stopped, not as new.
        if (record.lastTerminated === undefined) waiting++;
        else stopped++;
        break;
    }
  }
  const unknown = containerCount - records.length;
  if (waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function wireTerminated(terminated: Terminated): ContainerStatus['lastState'] {
  return {
    terminated: {
      exitCode: terminated.exitCode,
      ...(terminated.signal === undefined ? {} : { signal: terminated.signal }),
      reason: terminated.reason,
      ...(terminated.message === undefined ? {} : { message: terminated.message }),
      startedAt: terminated.startedAt,
      finishedAt: terminated.finishedAt,
      ...(terminated.containerID === undefined ? {} : { containerID: terminated.containerID }),
    },
  };
}

function wireState(state: ContainerState): NonNullable<ContainerStatus['state']> {
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, ...(state.message === undefined ? {} : { message: state.message }) } };
    case 'running':
      return { running: { startedAt: state.startedAt } };
    case 'terminated':
      return wireTerminated(state) ?? {};
  }
}

export function containerStatus(record: ContainerRecord): ContainerStatus {
  return {
    name: record.name,
    image: record.image,
    imageID: '',
    ...(record.containerID === undefined ? {} : { containerID: record.containerID }),
    ready: record.ready,
    started: record.state.kind === 'running',
    restartCount: record.restartCount,
    state: wireState(record.state),
    lastState: record.lastTerminated === undefined ? {} : (wireTerminated(record.lastTerminated) ?? {}),
  };
}

/** A condition, keeping the previous transition time when its status did not change. */
function condition(previous: readonly PodCondition[], type: string, status: boolean, now: string, reason?: string, message?: string): PodCondition {
  const value = status ? 'True' : 'False';
  const before = previous.find((c) => c.type === type);
  return {
    type,
    status: value,
    lastTransitionTime: before?.status === value && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now,
    ...(reason === undefined ? {} : { reason }),
    ...(message === undefined ? {} : { message }),
  };
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => [k, withoutNulls(v)]),
  );
}

/** Whether writing `next` would change the pod's status (fields `next` does not set are ignored). */
export function statusChanged(current: PodStatus | undefined, next: PodStatus): boolean {
  const before = (withoutNulls(current ?? {}) ?? {}) as Record<string, unknown>;
  const after = withoutNulls(next) as Record<string, unknown>;
  return Object.keys(after).some((key) => !jsonEqual(before[key], after[key]));
}

export interface PodStatusInput {
  readonly pod: Pod;
  readonly records: readonly ContainerRecord[];
  readonly now: string;
  readonly hostIP: string;
  readonly podIP: string;
  readonly startTime: string;
}

/**
 * The status the node agent reports. Conditions it does not own (PodScheduled, readiness gates,
 * DisruptionTarget) are kept as they are. A terminal phase never changes back.
 */
export function podStatus(input: PodStatusInput): PodStatus {
  const { pod, records, now } = input;
  const containers = pod.spec?.containers ?? [];
  const previousPhase = pod.status?.phase;
  const computed = podPhase(records, containers.length, restartPolicyOf(pod));
  const phase = previousPhase === 'Succeeded' || previousPhase === 'Failed' ? previousPhase : computed;
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const previous = pod.status?.conditions ?? [];
  const unready = records.filter((record) => !record.ready).map((record) => record.name);
  const allReady = !terminal && unready.length === 0 && records.length === containers.length;
  const [reason, message] = terminal ? ['PodCompleted', undefined] : allReady ? [undefined, undefined] : ['ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`];
  const owned = new Set(['Initialized', 'ContainersReady', 'Ready']);
  const conditions = [
    ...previous.filter((c) => !owned.has(c.type)),
    condition(previous, 'Initialized', true, now),
    condition(previous, 'ContainersReady', allReady, now, reason, message),
    condition(previous, 'Ready', allReady, now, reason, message),
  ];
  return {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    podIP: input.podIP,
    podIPs: [{ ip: input.podIP }],
    startTime: input.startTime,
    containerStatuses: records.map(containerStatus),
  };
}
