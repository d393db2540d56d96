/**
 * Every Prometheus metric streamkeeper exports, declared in this one module on one registry, so
 * names, help and labels are reviewed together. Label sets are initialised at 0 as soon as their
 * owner exists, so a rate() over a never-seen outcome is 0 and not "no data".
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();

// ------------------------------------------------------------------ reconcile ----

/** What one reconcile pass ended with (the `result` label). */
export const reconcileResults = ['success', 'error', 'requeue', 'requeue_after'] as const;
export type ReconcileResultLabel = (typeof reconcileResults)[number];

export const reconcileTotal = new Counter({
  name: 'streamkeeper_reconcile_total',
  help: 'Reconcile passes per controller, by outcome.',
  labelNames: ['controller', 'result'] as const,
  registers: [registry],
});

export const reconcileErrorsTotal = new Counter({
  name: 'streamkeeper_reconcile_errors_total',
  help: 'Reconcile passes that ended with an error.',
  labelNames: ['controller'] as const,
  registers: [registry],
});

export const reconcilePanicsTotal = new Counter({
  name: 'streamkeeper_reconcile_panics_total',
  help: 'Reconcile passes that failed with a programming error (TypeError and the like).',
  labelNames: ['controller'] as const,
  registers: [registry],
});

export const reconcileDurationSeconds = new Histogram({
  name: 'streamkeeper_reconcile_duration_seconds',
  help: 'Time one reconcile pass took.',
  labelNames: ['controller'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [registry],
});

/** Makes every outcome of `controller` visible at 0 before its first pass. */
export function initControllerMetrics(controller: string): void {
  for (const result of reconcileResults) reconcileTotal.inc({ controller, result }, 0);
  reconcileErrorsTotal.inc({ controller }, 0);
  reconcilePanicsTotal.inc({ controller }, 0);
  reconcileDurationSeconds.zero({ controller });
}

// ------------------------------------------------------------------ work queue ----

export const workqueueDepth = new Gauge({
  name: 'streamkeeper_workqueue_depth',
  help: 'Keys waiting in the work queue (not counting delayed or in-flight keys).',
  labelNames: ['name'] as const,
  registers: [registry],
});

export const workqueueAddsTotal = new Counter({
  name: 'streamkeeper_workqueue_adds_total',
  help: 'Keys added to the work queue (duplicates of a waiting key included).',
  labelNames: ['name'] as const,
  registers: [registry],
});

export const workqueueRetriesTotal = new Counter({
  name: 'streamkeeper_workqueue_retries_total',
  help: 'Keys re-added with backoff after a failed or requeued pass.',
  labelNames: ['name'] as const,
  registers: [registry],
});

const longestRunningSources = new Map<string, () => number>();

export const workqueueLongestRunningSeconds = new Gauge({
  name: 'streamkeeper_workqueue_longest_running_seconds',
  help: 'How long the oldest in-flight key of the queue has been processed; a stuck reconcile shows here.',
  labelNames: ['name'] as const,
  registers: [registry],
  collect() {
    for (const [name, source] of longestRunningSources) this.set({ name }, source());
  },
});

/**
 * Pre-initialises a queue's series; `longestRunningSeconds` is read at each scrape until the
 * returned function is called (when the queue shuts down).
 */
export function initWorkQueueMetrics(name: string, longestRunningSeconds: () => number): () => void {
  workqueueDepth.set({ name }, 0);
  workqueueAddsTotal.inc({ name }, 0);
  workqueueRetriesTotal.inc({ name }, 0);
  workqueueLongestRunningSeconds.set({ name }, 0);
  longestRunningSources.set(name, longestRunningSeconds);
  return () => {
    if (longestRunningSources.get(name) === longestRunningSeconds) {
      longestRunningSources.delete(name);
      workqueueLongestRunningSeconds.set({ name }, 0);
    }
  };
}

// ------------------------------------------------------------------ jobs and leadership ----

/** StreamingJob status phases; the reconciler sets the count of jobs in each. */
export const jobPhases = ['Pending', 'Running', 'Degraded', 'Suspended', 'Failed'] as const;
export type JobPhaseLabel = (typeof jobPhases)[number];

export const jobs = new Gauge({
  name: 'streamkeeper_jobs',
  help: 'StreamingJobs by status phase, as last seen by the leading operator.',
  labelNames: ['phase'] as const,
  registers: [registry],
});
for (const phase of jobPhases) jobs.set({ phase }, 0);

export const leader = new Gauge({
  name: 'streamkeeper_leader',
  help: '1 while this operator replica holds the leader Lease, else 0.',
  registers: [registry],
});
leader.set(0);

// ------------------------------------------------------------------ process ----

let processMetricsEnabled = false;

/**
 * Adds Node.js process metrics (CPU, memory, event-loop lag) with the `streamkeeper_` prefix.
 * Called by the long-running commands, not at import, so tests do not start the samplers.
 */
export function enableProcessMetrics(): void {
  if (processMetricsEnabled) return;
  processMetricsEnabled = true;
  collectDefaultMetrics({ register: registry, prefix: 'streamkeeper_' });
}
