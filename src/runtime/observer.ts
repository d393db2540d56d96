/**
 * What the driver and executors report for metrics. Implemented once on the Prometheus registry
 * in src/metrics; tests pass their own to count what happened.
 */

export type TaskOutcome = 'succeeded' | 'already-committed' | 'failed' | 'stale' | 'released';
export const taskOutcomes: readonly TaskOutcome[] = ['succeeded', 'already-committed', 'failed', 'stale', 'released'];

export type PoisonAction = 'skipped' | 'dead-lettered';
export const poisonActions: readonly PoisonAction[] = ['skipped', 'dead-lettered'];

/** What happened to a record behind the watermark for a closed window (aggregation.window.lateRecords). */
export type LateAction = 'dropped' | 'dead-lettered';
export const lateActions: readonly LateAction[] = ['dropped', 'dead-lettered'];

export interface ExecutorObserver {
  recordsRead?(count: number): void;
  recordsWritten?(count: number): void;
  poisonRecords?(action: PoisonAction, count: number): void;
  lateRecords?(action: LateAction, count: number): void;
  /** A task attempt started with attempt > 1: a retry after a failure, a death or a hand-back. */
  taskRetried?(): void;
  taskFinished?(outcome: TaskOutcome, seconds: number): void;
  /** A state partition was brought up to date from its changelog before an aggregate task. */
  stateRestored?(report: { readonly partition: number; readonly records: number; readonly full: boolean; readonly keys: number; readonly bytes: number; readonly millis: number }): void;
  /** A warm standby copy of a state partition read what its changelog committed since its last refresh. */
  standbyRefreshed?(report: { readonly partition: number; readonly records: number; readonly full: boolean; readonly keys: number; readonly bytes: number; readonly millis: number }): void;
  /** A state partition's size after an aggregate task committed. */
  stateSize?(partition: number, keys: number, bytes: number): void;
}

/** `parked`: failed with onTaskExhausted degrade; `failed`: with fail (the job stops). */
export type BatchOutcomeLabel = 'committed' | 'failed' | 'parked';
export const batchOutcomeLabels: readonly BatchOutcomeLabel[] = ['committed', 'failed', 'parked'];

export interface PartitionLagSample {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

export interface DriverObserver {
  /** From recording the batch to its outcome settled in the offsets. */
  batchFinished?(outcome: BatchOutcomeLabel, seconds: number): void;
  /** A due batch that found no new records and was not recorded. */
  emptyBatchSkipped?(): void;
  /** How late planning started after the batch was due (a previous batch overran its interval). */
  planningDelay?(seconds: number): void;
  consumerLag?(partitions: readonly PartitionLagSample[]): void;
  /** Offsets skipped over in a parked batch (onTaskExhausted: degrade). */
  parkedOffsets?(count: number): void;
  /** Offsets deleted by retention before the job processed them. */
  offsetsLostToRetention?(count: number): void;
  lastCommittedBatch?(committedAtSeconds: number): void;
  /** A windowed aggregation's watermark as of the last committed batch (Unix time, seconds). */
  watermark?(seconds: number): void;
  /** The driver holds the job's `driver` node (true) or stands by (false). */
  active?(active: boolean): void;
}

export const noopExecutorObserver: ExecutorObserver = {};
export const noopDriverObserver: DriverObserver = {};
