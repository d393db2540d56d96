/**
 * What the status computation reads, built in one place for the tests that judge it (the unit
 * table and the kstatus/Flux verdicts): an observed pod, the coordination progress, a plan.
 */
import type { JobProgress } from '../../src/operator/job-coordination.js';
import type { ObservedPod } from '../../src/operator/reconciler/observed-pods.js';
import type { PodPlan } from '../../src/operator/reconciler/pod-plan.js';
import type { CoordinationView } from '../../src/operator/reconciler/status.js';

/** A running, Ready pod created at `createdAtMs`; the name says whether it is the driver. */
export function observedPod(name: string, createdAtMs: number, shape: Partial<ObservedPod> = {}): ObservedPod {
  return {
    name,
    uid: `uid-${name}`,
    component: name.includes('-executor-') ? 'executor' : 'driver',
    templateHash: 'h',
    lifecycle: 'running',
    ready: true,
    terminating: false,
    createdAtMs,
    exit: undefined,
    credential: undefined,
    driverRestarts: undefined,
    stuck: undefined,
    ...shape,
  };
}

/** Progress read from ZooKeeper with `registered` executors and a registered driver. */
export function jobProgress(registered: Readonly<Record<string, 'active' | 'draining'>>, overrides: Partial<JobProgress> = {}): JobProgress {
  return {
    executors: new Map(Object.entries(registered).map(([name, state]) => [name, { state, registeredAtMs: undefined }])),
    driverRegistered: true,
    driverStartedAt: undefined,
    blocked: undefined,
    lastError: undefined,
    lastCommittedBatch: undefined,
    failedBatches: [],
    totalLag: undefined,
    ...overrides,
  };
}

/** The coordination view of a job whose config ZooKeeper holds. */
export function syncedView(progress: JobProgress): CoordinationView {
  return { state: 'synced', configHash: 'sha256:0123456789abcdef0123456789', progress, reschedule: undefined };
}

/** A pod plan with no action left and the given rollout reason. */
export function rolloutPlan(reason: PodPlan['rollout']['reason']): PodPlan {
  return { actions: [], rollout: { reason, message: `rollout: ${reason}` }, updatedReady: 0 };
}
