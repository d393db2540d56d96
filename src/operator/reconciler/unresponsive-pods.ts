/**
 * Pods whose process looks alive to Kubernetes but has stopped taking part: running, past the
 * start-up grace, yet without a ZooKeeper registration. A process keeps its registration for as
 * long as it keeps its session (it is re-created after an expiry), so a lost one means the
 * process stopped heartbeating — hung (SIGSTOP, a deadlock, a GC death spiral) or cut off from
 * ZooKeeper. Such a pod is replaced, not waited on: its tasks move and its work is fenced, as for
 * a pod that ended. Pure; the reconciler only reads it once ZooKeeper answered.
 */
import type { ExecutorRegistrationState } from '../job-coordination.js';
import type { JobPods, ObservedPod } from './observed-pods.js';

export interface UnresponsiveFacts {
  readonly pods: JobPods;
  /** Executor registrations of the current incarnations (see `currentRegistrations`). */
  readonly registrations: ReadonlyMap<string, ExecutorRegistrationState>;
  readonly driverRegistered: boolean;
  /** Executors wanted now: pods beyond are stopped by scale-down, not judged here. */
  readonly replicas: number;
  readonly now: number;
  /** How long a new pod may take to register (the status' start-up grace). */
  readonly startupGraceMs: number;
}

function judged(pod: ObservedPod, facts: UnresponsiveFacts): boolean {
  return pod.lifecycle === 'running' && !pod.terminating && facts.now - pod.createdAtMs >= facts.startupGraceMs;
}

/** Names of the pods to replace because their process lost its registration. */
export function unresponsivePods(facts: UnresponsiveFacts): Set<string> {
  const names = new Set<string>();
  const driver = facts.pods.driver;
  if (driver !== undefined && judged(driver, facts) && !facts.driverRegistered) names.add(driver.name);
  for (const [ordinal, pod] of facts.pods.executors) {
    if (ordinal < facts.replicas && judged(pod, facts) && !facts.registrations.has(pod.name)) names.add(pod.name);
  }
  return names;
}
