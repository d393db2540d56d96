/**
 * Every Prometheus metric streamkeeper exports, declared in this one module so names, help and
 * labels are reviewed together. Each process exports only its own families: the operator, a
 * driver and an executor each serve their own registry, so an operator scrape has no driver lag
 * and an executor scrape has no reconcile counts. Label sets are initialised at 0 as soon as
 * their owner exists, so a rate() over a never-seen outcome is 0 and not "no data".
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { reconcileResults, type ControllerMetrics, type LeaderMetrics, type ReconcileResultLabel, type WorkQueueMetrics } from '../machinery/metrics-hooks.js';
import { sessionStates, type ConfigMirrorOutcome, type CoordinationObserver, type ExecutorGoneReason, type RescheduleOutcome, type RescheduleReason } from '../coordination/observer.js';
import { batchOutcomeLabels, lateActions, poisonActions, taskOutcomes, type DriverObserver, type ExecutorObserver } from '../runtime/observer.js';

/** What the operator process serves on /metrics. */
export const operatorRegistry = new Registry();
/** What a driver pod serves on /metrics. */
export const driverRegistry = new Registry();
/** What an executor pod serves on /metrics. */
export const executorRegistry = new Registry();

// ------------------------------------------------------------------ reconcile ----

export { reconcileResults, type ReconcileResultLabel };

export const reconcileTotal = new Counter({
  name: 'streamkeeper_reconcile_total',
  help: 'Reconcile passes per controller, by outcome.',
  labelNames: ['controller', 'result'] as const,
  registers: [operatorRegistry],
});

export const reconcileErrorsTotal = new Counter({
  name: 'streamkeeper_reconcile_errors_total',
  help: 'Reconcile passes that ended with an error.',
  labelNames: ['controller'] as const,
  registers: [operatorRegistry],
});

export const reconcilePanicsTotal = new Counter({
  name: 'streamkeeper_reconcile_panics_total',
  help: 'Reconcile passes that failed with a programming error (TypeError and the like).',
  labelNames: ['controller'] as const,
  registers: [operatorRegistry],
});

export const reconcileDurationSeconds = new Histogram({
  name: 'streamkeeper_reconcile_duration_seconds',
  help: 'Time one reconcile pass took.',
  labelNames: ['controller'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [operatorRegistry],
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
  registers: [operatorRegistry],
});

export const workqueueAddsTotal = new Counter({
  name: 'streamkeeper_workqueue_adds_total',
  help: 'Keys added to the work queue (duplicates of a waiting key included).',
  labelNames: ['name'] as const,
  registers: [operatorRegistry],
});

export const workqueueRetriesTotal = new Counter({
  name: 'streamkeeper_workqueue_retries_total',
  help: 'Keys re-added with backoff after a failed or requeued pass.',
  labelNames: ['name'] as const,
  registers: [operatorRegistry],
});

const longestRunningSources = new Map<string, () => number>();

export const workqueueLongestRunningSeconds = new Gauge({
  name: 'streamkeeper_workqueue_longest_running_seconds',
  help: 'How long the oldest in-flight key of the queue has been processed; a stuck reconcile shows here.',
  labelNames: ['name'] as const,
  registers: [operatorRegistry],
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
  registers: [operatorRegistry],
});
for (const phase of jobPhases) jobs.set({ phase }, 0);

export const leader = new Gauge({
  name: 'streamkeeper_leader',
  help: '1 while this operator replica holds the leader Lease, else 0.',
  registers: [operatorRegistry],
});
leader.set(0);

/** Sets `streamkeeper_jobs` from a count per phase (phases not given are 0). */
export function setJobPhaseCounts(counts: Readonly<Partial<Record<JobPhaseLabel, number>>>): void {
  for (const phase of jobPhases) jobs.set({ phase }, counts[phase] ?? 0);
}

// ------------------------------------------------------------------ the StreamingJob reconciler ----

export const podComponents = ['driver', 'executor'] as const;
/** Why the operator deleted a pod (the `reason` label). */
export const podDeleteReasons = ['terminated', 'revoked-credential', 'unresponsive', 'suspend', 'scale-down', 'rolling-update', 'replace-draining', 'stray'] as const;
export type PodDeleteReasonLabel = (typeof podDeleteReasons)[number];

export const podsCreatedTotal = new Counter({
  name: 'streamkeeper_pods_created_total',
  help: 'Driver and executor pods the operator created.',
  labelNames: ['component'] as const,
  registers: [operatorRegistry],
});

export const podsDeletedTotal = new Counter({
  name: 'streamkeeper_pods_deleted_total',
  help: 'Driver and executor pods the operator deleted, by reason.',
  labelNames: ['component', 'reason'] as const,
  registers: [operatorRegistry],
});

export const drainRequestsTotal = new Counter({
  name: 'streamkeeper_executor_drain_requests_total',
  help: 'Executors asked to hand back their tasks before their pod is deleted (scale-down, rolling update, suspend).',
  registers: [operatorRegistry],
});

export const statusWriteResults = ['written', 'unchanged', 'conflict'] as const;

export const statusWritesTotal = new Counter({
  name: 'streamkeeper_status_writes_total',
  help: 'StreamingJob status updates per reconcile pass: written, skipped because unchanged, or refused as stale (409).',
  labelNames: ['result'] as const,
  registers: [operatorRegistry],
});

export const eventOutcomes = ['created', 'aggregated', 'failed'] as const;

export const eventsTotal = new Counter({
  name: 'streamkeeper_events_total',
  help: 'Kubernetes Events about jobs: created, counted on an earlier identical Event, or failed to write.',
  labelNames: ['type', 'outcome'] as const,
  registers: [operatorRegistry],
});

for (const component of podComponents) {
  podsCreatedTotal.inc({ component }, 0);
  for (const reason of podDeleteReasons) podsDeletedTotal.inc({ component, reason }, 0);
}
drainRequestsTotal.inc(0);
for (const result of statusWriteResults) statusWritesTotal.inc({ result }, 0);
for (const type of ['Normal', 'Warning']) for (const outcome of eventOutcomes) eventsTotal.inc({ type, outcome }, 0);

// ------------------------------------------------------------------ coordination ----

export const executorFailureReasons: readonly ExecutorGoneReason[] = ['znode-gone', 'pod-terminated'];
const rescheduleReasons: readonly RescheduleReason[] = ['owner-dead', 'released', 'failed'];
const rescheduleOutcomes: readonly RescheduleOutcome[] = ['assigned', 'exhausted'];
const configMirrorOutcomes: readonly ConfigMirrorOutcome[] = ['written', 'unchanged', 'too-large'];

export const executorFailuresTotal = new Counter({
  name: 'streamkeeper_executor_failures_total',
  help: 'Executors found dead, by the signal seen first: their ZooKeeper node went, or their pod terminated.',
  labelNames: ['reason'] as const,
  registers: [operatorRegistry],
});

export const tasksRescheduledTotal = new Counter({
  name: 'streamkeeper_tasks_rescheduled_total',
  help: 'Tasks moved to another executor (or exhausted), by why they moved.',
  labelNames: ['reason', 'outcome'] as const,
  registers: [operatorRegistry],
});

export const rescheduleDurationSeconds = new Histogram({
  name: 'streamkeeper_reschedule_duration_seconds',
  help: 'From an executor death being observed to all of its tasks being moved.',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
  registers: [operatorRegistry],
});

export const configMirrorTotal = new Counter({
  name: 'streamkeeper_config_mirror_total',
  help: 'Job configuration publications to ZooKeeper: written, unchanged, or refused as too large.',
  labelNames: ['outcome'] as const,
  registers: [operatorRegistry],
});

/**
 * The ZooKeeper session families on `registry`: every process has a session, so each registry
 * gets its own copy, and the returned hooks report into it.
 */
function zooKeeperSessionMetrics(registry: Registry): Required<Pick<CoordinationObserver, 'sessionState' | 'reconnected' | 'sessionExpired'>> {
  const sessionState = new Gauge({
    name: 'streamkeeper_zookeeper_session_state',
    help: '1 for the state the ZooKeeper session is in, 0 for the others.',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const expirations = new Counter({
    name: 'streamkeeper_zookeeper_session_expirations_total',
    help: 'ZooKeeper sessions that expired (a new session was established and state restored).',
    registers: [registry],
  });
  const reconnects = new Counter({
    name: 'streamkeeper_zookeeper_reconnects_total',
    help: 'Times the ZooKeeper connection came back after a loss or an expiry.',
    registers: [registry],
  });
  for (const state of sessionStates) sessionState.set({ state }, 0);
  expirations.inc(0);
  reconnects.inc(0);
  return {
    sessionState(state) {
      for (const candidate of sessionStates) sessionState.set({ state: candidate }, candidate === state ? 1 : 0);
    },
    reconnected() {
      reconnects.inc();
    },
    sessionExpired() {
      expirations.inc();
    },
  };
}

for (const reason of executorFailureReasons) executorFailuresTotal.inc({ reason }, 0);
for (const reason of rescheduleReasons) for (const outcome of rescheduleOutcomes) tasksRescheduledTotal.inc({ reason, outcome }, 0);
for (const outcome of configMirrorOutcomes) configMirrorTotal.inc({ outcome }, 0);

/** The operator's coordination hooks: its ZooKeeper session, executor deaths, reschedules, config. */
export const coordinationMetrics: CoordinationObserver = {
  ...zooKeeperSessionMetrics(operatorRegistry),
  executorFailed(reason) {
    executorFailuresTotal.inc({ reason });
  },
  tasksRescheduled(reason, outcome, count) {
    tasksRescheduledTotal.inc({ reason, outcome }, count);
  },
  rescheduleDuration(seconds) {
    rescheduleDurationSeconds.observe(seconds);
  },
  configMirror(outcome) {
    configMirrorTotal.inc({ outcome });
  },
};

/** A driver pod's ZooKeeper session hooks. */
export const driverCoordinationMetrics: CoordinationObserver = zooKeeperSessionMetrics(driverRegistry);
/** An executor pod's ZooKeeper session hooks. */
export const executorCoordinationMetrics: CoordinationObserver = zooKeeperSessionMetrics(executorRegistry);

// ------------------------------------------------------------------ operator machinery hooks ----

/** The generic controller's and work queue's reports, on the operator's registry. */
export const controllerMetrics: ControllerMetrics & WorkQueueMetrics = {
  controllerStarted: initControllerMetrics,
  passFinished(controller, result, seconds, failure) {
    reconcileDurationSeconds.observe({ controller }, seconds);
    reconcileTotal.inc({ controller, result });
    if (failure !== 'none') reconcileErrorsTotal.inc({ controller });
    if (failure === 'panic') reconcilePanicsTotal.inc({ controller });
  },
  queueStarted: initWorkQueueMetrics,
  added(name) {
    workqueueAddsTotal.inc({ name });
  },
  retried(name) {
    workqueueRetriesTotal.inc({ name });
  },
  depth(name, depth) {
    workqueueDepth.set({ name }, depth);
  },
};

/** Leader election's reports, on the operator's registry. */
export const leaderMetrics: LeaderMetrics = {
  leading(isLeader) {
    leader.set(isLeader ? 1 : 0);
  },
};

// ------------------------------------------------------------------ process ----

const processMetricsEnabled = new WeakSet<Registry>();

/**
 * Adds Node.js process metrics (CPU, memory, event-loop lag) with the `streamkeeper_` prefix to
 * the process's registry. Called by the long-running commands, not at import, so tests do not
 * start the samplers.
 */
export function enableProcessMetrics(registry: Registry): void {
  if (processMetricsEnabled.has(registry)) return;
  processMetricsEnabled.add(registry);
  collectDefaultMetrics({ register: registry, prefix: 'streamkeeper_' });
  // prom-client also exports three gauges named `…_total`, a suffix Prometheus reserves for
  // counters (`promtool check metrics` rejects them). They only sum the per-type gauges it exports
  // beside them (`streamkeeper_nodejs_active_handles{type}` and so on): sum() those instead.
  for (const family of ['active_handles', 'active_requests', 'active_resources']) registry.removeSingleMetric(`streamkeeper_nodejs_${family}_total`);
}

// ------------------------------------------------------------------ streaming runtime (driver and executors) ----
// Served by the driver and executor pods themselves (`--metrics-addr`), not by the operator. One
// process belongs to one job, so no job label: Prometheus adds the pod's labels when scraping.

export const executorRecordsReadTotal = new Counter({
  name: 'streamkeeper_executor_records_read_total',
  help: 'Source records read by this executor (read_committed), retried tasks included.',
  registers: [executorRegistry],
});

export const executorRecordsWrittenTotal = new Counter({
  name: 'streamkeeper_executor_records_written_total',
  help: 'Output records this executor wrote to the sink topic in committed tasks (exactly-once) or sends (at-least-once).',
  registers: [executorRegistry],
});

export const executorPoisonRecordsTotal = new Counter({
  name: 'streamkeeper_executor_poison_records_total',
  help: 'Records the processor rejected or threw on, by what happened to them (failurePolicy.poisonRecords skip or deadLetter).',
  labelNames: ['action'] as const,
  registers: [executorRegistry],
});

export const executorLateRecordsTotal = new Counter({
  name: 'streamkeeper_executor_late_records_total',
  help: 'Records behind the watermark for a window it had closed, by what happened to them (aggregation.window.lateRecords drop or deadLetter). A dropped record still counts in its windows that were open.',
  labelNames: ['action'] as const,
  registers: [executorRegistry],
});

export const executorTasksTotal = new Counter({
  name: 'streamkeeper_executor_tasks_total',
  help: 'Task attempts this executor finished, by outcome: succeeded, already-committed (an earlier attempt had committed), failed, stale (the task moved on), released (handed back while draining).',
  labelNames: ['outcome'] as const,
  registers: [executorRegistry],
});

export const executorTaskRetriesTotal = new Counter({
  name: 'streamkeeper_executor_task_retries_total',
  help: 'Task attempts this executor started that were not the first attempt of their task.',
  registers: [executorRegistry],
});

export const executorTaskDurationSeconds = new Histogram({
  name: 'streamkeeper_executor_task_duration_seconds',
  help: 'Time one task attempt took: read, process, write and commit.',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers: [executorRegistry],
});

export const executorStateRestoreSeconds = new Histogram({
  name: 'streamkeeper_executor_state_restore_seconds',
  help: 'Time to bring a state partition up to date from its changelog before an aggregate task, by kind: full (restored from the start of the log) or incremental (only what was added since this executor last held it).',
  labelNames: ['kind'] as const,
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  registers: [executorRegistry],
});

export const executorStateRestoredRecordsTotal = new Counter({
  name: 'streamkeeper_executor_state_restored_records_total',
  help: 'Changelog records read to restore state partitions.',
  registers: [executorRegistry],
});

export const executorStandbyRecordsTotal = new Counter({
  name: 'streamkeeper_executor_standby_records_total',
  help: 'Changelog records read to keep this executor\'s warm standby copies of state partitions current (spec.aggregation.standbyReplicas): the Kafka traffic standbys cost.',
  registers: [executorRegistry],
});

export const executorStateKeys = new Gauge({
  name: 'streamkeeper_executor_state_keys',
  help: 'Keys in the state partitions this executor holds in memory, after its latest aggregate task.',
  registers: [executorRegistry],
});

export const executorStateBytes = new Gauge({
  name: 'streamkeeper_executor_state_bytes',
  help: 'Estimated bytes of the state partitions this executor holds in memory (counted against spec.aggregation.stateMemory).',
  registers: [executorRegistry],
});

export const driverBatchesTotal = new Counter({
  name: 'streamkeeper_driver_batches_total',
  help: 'Batches settled by the driver: committed, failed (onTaskExhausted fail: planning stops) or parked (onTaskExhausted degrade: exhausted ranges skipped, recorded).',
  labelNames: ['outcome'] as const,
  registers: [driverRegistry],
});

export const driverEmptyBatchesTotal = new Counter({
  name: 'streamkeeper_driver_empty_batches_total',
  help: 'Batch intervals that found no new records; no batch was recorded.',
  registers: [driverRegistry],
});

export const driverBatchDurationSeconds = new Histogram({
  name: 'streamkeeper_driver_batch_duration_seconds',
  help: 'From a batch being recorded to its outcome settled in the offsets.',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [driverRegistry],
});

export const driverPlanningDelaySeconds = new Histogram({
  name: 'streamkeeper_driver_planning_delay_seconds',
  help: 'How late a batch was planned after it was due (the previous batch overran the batch interval).',
  buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [driverRegistry],
});

export const driverConsumerLag = new Gauge({
  name: 'streamkeeper_driver_consumer_lag',
  help: 'Records in a source partition beyond the job\'s committed position (last stable offset minus position).',
  labelNames: ['topic', 'partition'] as const,
  registers: [driverRegistry],
});

export const driverTotalLag = new Gauge({
  name: 'streamkeeper_driver_total_lag',
  help: 'Consumer lag summed over the job\'s source partitions.',
  registers: [driverRegistry],
});

export const driverActive = new Gauge({
  name: 'streamkeeper_driver_active',
  help: '1 while this driver holds the job\'s driver znode (the active driver), 0 while it stands by.',
  registers: [driverRegistry],
});

export const driverParkedOffsetsTotal = new Counter({
  name: 'streamkeeper_driver_parked_offsets_total',
  help: 'Source offsets in exhausted ranges the job went past without processing (onTaskExhausted degrade); each range is recorded in its failed batch.',
  registers: [driverRegistry],
});

export const driverOffsetsLostToRetentionTotal = new Counter({
  name: 'streamkeeper_driver_offsets_lost_to_retention_total',
  help: 'Source offsets that Kafka retention deleted before the job processed them.',
  registers: [driverRegistry],
});

export const driverWatermarkTimestampSeconds = new Gauge({
  name: 'streamkeeper_driver_watermark_timestamp_seconds',
  help: 'A windowed aggregation\'s watermark as of the last committed batch (Unix time): the greatest event time seen minus allowedLateness; 0 for jobs without windows.',
  registers: [driverRegistry],
});

export const driverLastCommittedBatchTimestampSeconds = new Gauge({
  name: 'streamkeeper_driver_last_committed_batch_timestamp_seconds',
  help: 'When the last batch was committed (Unix time); 0 before the first.',
  registers: [driverRegistry],
});

for (const action of poisonActions) executorPoisonRecordsTotal.inc({ action }, 0);
for (const action of lateActions) executorLateRecordsTotal.inc({ action }, 0);
for (const outcome of taskOutcomes) executorTasksTotal.inc({ outcome }, 0);
for (const outcome of batchOutcomeLabels) driverBatchesTotal.inc({ outcome }, 0);
executorRecordsReadTotal.inc(0);
executorRecordsWrittenTotal.inc(0);
executorTaskRetriesTotal.inc(0);
driverEmptyBatchesTotal.inc(0);
driverTotalLag.set(0);
driverParkedOffsetsTotal.inc(0);
driverOffsetsLostToRetentionTotal.inc(0);
driverLastCommittedBatchTimestampSeconds.set(0);

for (const kind of ['full', 'incremental']) executorStateRestoreSeconds.zero({ kind });
executorStateRestoredRecordsTotal.inc(0);
executorStateKeys.set(0);
executorStateBytes.set(0);

/** Keys and bytes per held state partition, summed into the state gauges. */
const heldState = new Map<number, { keys: number; bytes: number }>();

function recordStateSize(partition: number, keys: number, bytes: number): void {
  heldState.set(partition, { keys, bytes });
  let totalKeys = 0;
  let totalBytes = 0;
  for (const held of heldState.values()) {
    totalKeys += held.keys;
    totalBytes += held.bytes;
  }
  executorStateKeys.set(totalKeys);
  executorStateBytes.set(totalBytes);
}

/** The executor's metric hooks, on the executor's registry. */
export const executorMetrics: ExecutorObserver = {
  stateRestored(report) {
    executorStateRestoreSeconds.observe({ kind: report.full ? 'full' : 'incremental' }, report.millis / 1000);
    executorStateRestoredRecordsTotal.inc(report.records);
    recordStateSize(report.partition, report.keys, report.bytes);
  },
  stateSize: recordStateSize,
  standbyRefreshed(report) {
    executorStandbyRecordsTotal.inc(report.records);
    recordStateSize(report.partition, report.keys, report.bytes);
  },
  recordsRead(count) {
    executorRecordsReadTotal.inc(count);
  },
  recordsWritten(count) {
    executorRecordsWrittenTotal.inc(count);
  },
  poisonRecords(action, count) {
    executorPoisonRecordsTotal.inc({ action }, count);
  },
  lateRecords(action, count) {
    executorLateRecordsTotal.inc({ action }, count);
  },
  taskRetried() {
    executorTaskRetriesTotal.inc();
  },
  taskFinished(outcome, seconds) {
    executorTasksTotal.inc({ outcome });
    if (outcome !== 'released') executorTaskDurationSeconds.observe(seconds);
  },
};

/** The driver's metric hooks, on the driver's registry. */
export const driverMetrics: DriverObserver = {
  batchFinished(outcome, seconds) {
    driverBatchesTotal.inc({ outcome });
    driverBatchDurationSeconds.observe(seconds);
  },
  emptyBatchSkipped() {
    driverEmptyBatchesTotal.inc();
  },
  planningDelay(seconds) {
    driverPlanningDelaySeconds.observe(seconds);
  },
  consumerLag(partitions) {
    let total = 0;
    for (const { topic, partition, lag } of partitions) {
      driverConsumerLag.set({ topic, partition: String(partition) }, lag);
      total += lag;
    }
    driverTotalLag.set(total);
  },
  parkedOffsets(count) {
    driverParkedOffsetsTotal.inc(count);
  },
  offsetsLostToRetention(count) {
    driverOffsetsLostToRetentionTotal.inc(count);
  },
  watermark(seconds) {
    driverWatermarkTimestampSeconds.set(seconds);
  },
  lastCommittedBatch(committedAtSeconds) {
    driverLastCommittedBatchTimestampSeconds.set(committedAtSeconds);
  },
  active(active) {
    driverActive.set(active ? 1 : 0);
  },
};
