/**
 * The driver's decisions, as pure functions: where each partition's next batch starts, which
 * offset ranges a batch takes, when the next batch is due, and what a finished batch does to the
 * committed offsets — including a failed one, whose unprocessed ranges are either kept for a
 * retry (`fail`) or parked in plain view (`degrade`), never silently dropped.
 */
import type { OffsetsRecord, PartitionOffset } from '../coordination/task-ledger.js';
import type { OffsetRange, TaskRecord } from '../coordination/task-state.js';
import type { PartitionWatermarks } from './kafka/index.js';

export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** Committed positions (the next offset to read) by `partitionKey`. */
export type Positions = ReadonlyMap<string, number>;

export function positionsOf(record: OffsetsRecord | null | undefined): Map<string, number> {
  const positions = new Map<string, number>();
  for (const p of record?.partitions ?? []) positions.set(partitionKey(p.topic, p.partition), Number(p.next));
  return positions;
}

export interface SourceTopic {
  readonly topic: string;
  readonly partitions: readonly PartitionWatermarks[];
}

export interface PlanInput {
  /** Watermarks of every source topic, read now (`high` is the last stable offset). */
  readonly topics: readonly SourceTopic[];
  /** Where each partition's processing stands (the `offsets` znode). */
  readonly positions: Positions;
  /**
   * Start of a partition with no position: `earliest` (low) or `latest` (high). A new job uses
   * `startingOffsets`; a partition that appears later starts at `earliest`, so that nothing
   * written to it before the driver noticed it is missed.
   */
  readonly newPartitionStart: 'earliest' | 'latest';
  /** Topics whose new partitions start at `earliest` whatever `newPartitionStart` says. */
  readonly earliestTopics?: readonly string[];
  /** Positions found elsewhere for partitions without one (the job's committed group offsets). */
  readonly fallback?: Positions;
  readonly maxRecordsPerPartition: number;
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Position before the batch. */
  readonly next: number;
  readonly high: number;
  readonly lag: number;
}

export interface BatchPlan {
  /** Non-empty ranges, by topic then partition: one task each. Empty: no batch this time. */
  readonly ranges: readonly OffsetRange[];
  /** Positions of partitions that had none (to be recorded before anything is planned from them). */
  readonly newPositions: readonly PartitionOffset[];
  readonly lag: readonly PartitionLag[];
  /** Offsets retention deleted before they were processed: [from, to) per partition. */
  readonly lostToRetention: readonly OffsetRange[];
  /** Partitions whose position is beyond their end (a topic deleted and created again). */
  readonly beyondEnd: readonly { readonly topic: string; readonly partition: number; readonly next: number; readonly high: number }[];
}

/** The next batch: for each partition, [position, min(high, position + max)). */
export function planBatch(input: PlanInput): BatchPlan {
  const ranges: OffsetRange[] = [];
  const newPositions: PartitionOffset[] = [];
  const lag: PartitionLag[] = [];
  const lostToRetention: OffsetRange[] = [];
  const beyondEnd: { topic: string; partition: number; next: number; high: number }[] = [];
  const topics = [...input.topics].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  for (const { topic, partitions } of topics) {
    for (const { partition, low, high } of [...partitions].sort((a, b) => a.partition - b.partition)) {
      const key = partitionKey(topic, partition);
      let next = input.positions.get(key);
      if (next === undefined) {
        const earliest = input.newPartitionStart === 'earliest' || (input.earliestTopics?.includes(topic) ?? false);
        next = input.fallback?.get(key) ?? (earliest ? low : high);
        newPositions.push({ topic, partition, next: String(next) });
      }
      if (next > high) {
        beyondEnd.push({ topic, partition, next, high });
        lag.push({ topic, partition, next, high, lag: 0 });
        continue;
      }
      lag.push({ topic, partition, next, high, lag: high - next });
      if (next < low) {
        lostToRetention.push({ topic, partition, from: String(next), to: String(low) });
        next = low;
      }
      const until = Math.min(high, next + input.maxRecordsPerPartition);
      if (until > next) ranges.push({ topic, partition, from: String(next), to: String(until) });
    }
  }
  return { ranges, newPositions, lag, lostToRetention, beyondEnd };
}

/**
 * `ranges` with an empty range (at its position) for every partition of `topic` that has none:
 * a task for each, to run even without new records (a windowed aggregation closing windows).
 */
export function withEveryPartition(ranges: readonly OffsetRange[], lag: readonly PartitionLag[], topic: string): OffsetRange[] {
  const covered = new Set(ranges.filter((r) => r.topic === topic).map((r) => r.partition));
  const added = lag.filter((p) => p.topic === topic && !covered.has(p.partition) && p.next <= p.high).map((p) => ({ topic, partition: p.partition, from: String(p.next), to: String(p.next) }));
  return [...ranges, ...added].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/**
 * The partition group of partition `partition` of `topic`, out of `groups`: fixed for the job,
 * so a group's tasks read the same partitions in every batch. The topic's hash only offsets the
 * partition number, so one topic's partitions spread evenly (with at most `groups` partitions,
 * each is a group of its own, one task per partition as without groups).
 */
export function partitionGroup(topic: string, partition: number, groups: number): number {
  // FNV-1a, 32 bits: stable across versions and platforms, unlike any runtime hash.
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(topic, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return (hash + partition) % groups;
}

/**
 * The group of each range, for `BatchRecord.rangeGroups`: undefined without `groups` (every range
 * a task of its own). Ranges of `ownTasks` (the aggregate stage's repartition topic, whose tasks
 * are fenced per state partition) are always tasks of their own (null).
 */
export function groupRanges(ranges: readonly OffsetRange[], groups: number | undefined, ownTasks?: string): (number | null)[] | undefined {
  if (groups === undefined) return undefined;
  return ranges.map((r) => (r.topic === ownTasks ? null : partitionGroup(r.topic, r.partition, groups)));
}

export function totalLag(lag: readonly PartitionLag[]): number {
  return lag.reduce((sum, p) => sum + p.lag, 0);
}

/**
 * When the next batch is due. Batches start one interval apart; an empty interval keeps the
 * cadence; a batch that overran its interval is followed at once, and the cadence restarts from
 * then (late intervals are not made up in a burst). `delayMs` is how late planning starts.
 */
export function nextBatchDue(previousDue: number | undefined, intervalMs: number, now: number): { readonly due: number; readonly delayMs: number } {
  if (previousDue === undefined) return { due: now, delayMs: 0 };
  const due = previousDue + intervalMs;
  return due >= now ? { due, delayMs: 0 } : { due: now, delayMs: now - due };
}

export type BatchProgress =
  | { readonly state: 'running' }
  | { readonly state: 'succeeded' }
  /** Every task is final and at least one is exhausted. */
  | { readonly state: 'failed'; readonly exhausted: readonly string[] };

/**
 * Where a batch stands. Unlike `batchOutcome`, a failed batch is only reported once every task
 * is final, so that the offsets recorded for it say exactly which ranges were committed.
 */
export function batchProgress(tasks: readonly TaskRecord[], expectedTasks: number): BatchProgress {
  if (tasks.length < expectedTasks || tasks.some((t) => t.state !== 'succeeded' && t.state !== 'exhausted')) return { state: 'running' };
  const exhausted = tasks.filter((t) => t.state === 'exhausted').map((t) => t.id);
  return exhausted.length === 0 ? { state: 'succeeded' } : { state: 'failed', exhausted };
}

export interface FailedBatchSettlement {
  /** Ranges whose end becomes their partition's position. */
  readonly advance: readonly OffsetRange[];
  /** `degrade`: exhausted ranges skipped over — recorded in the failed batch, logged, counted. */
  readonly parked: readonly OffsetRange[];
  /** `fail`: exhausted ranges whose partitions stay where they were, to be processed again after a retry. */
  readonly retained: readonly OffsetRange[];
}

/**
 * What a failed batch does to the offsets. Ranges of succeeded tasks are committed (their output
 * is in the sink), so their partitions advance either way. An exhausted range is kept with
 * `fail` (the job stops until a retry) and parked with `degrade` (the job goes on past it).
 */
export function settleFailedBatch(tasks: readonly TaskRecord[], policy: 'fail' | 'degrade'): FailedBatchSettlement {
  const succeeded = tasks.filter((t) => t.state === 'succeeded').flatMap((t) => t.ranges);
  const exhausted = tasks.filter((t) => t.state !== 'succeeded').flatMap((t) => t.ranges);
  return policy === 'degrade' ? { advance: [...succeeded, ...exhausted], parked: exhausted, retained: [] } : { advance: succeeded, parked: [], retained: exhausted };
}

/**
 * What a driver does with a batch that failed (its tasks exhausted):
 * - `keep`: nothing of it is retained any more (it was parked); it stays as the record;
 * - `park`: `degrade` is configured now, so its retained ranges are skipped;
 * - `retry`: with `fail`, it is planned again once when a driver starts and after a configuration
 *   change since it failed (deleted, so planning takes its ranges from the unchanged positions);
 * - `block`: otherwise it holds the job back.
 */
export type FailedBatchAction = 'keep' | 'park' | 'retry' | 'block';

export function decideFailedBatch(input: {
  readonly retainedRanges: number;
  readonly policy: 'fail' | 'degrade';
  readonly configChanged: boolean;
  readonly failedBeforeThisDriver: boolean;
}): FailedBatchAction {
  if (input.retainedRanges === 0) return 'keep';
  if (input.policy === 'degrade') return 'park';
  return input.failedBeforeThisDriver || input.configChanged ? 'retry' : 'block';
}

/** The offsets record after `advance` (and the positions of newly seen partitions), sorted. */
export function advanceOffsets(previous: OffsetsRecord | null, update: { readonly advance?: readonly OffsetRange[]; readonly positions?: readonly PartitionOffset[]; readonly committedBatch?: string; readonly progress?: OffsetsRecord['progress'] }): OffsetsRecord {
  const partitions = new Map<string, PartitionOffset>();
  for (const p of previous?.partitions ?? []) partitions.set(partitionKey(p.topic, p.partition), p);
  for (const p of update.positions ?? []) {
    const key = partitionKey(p.topic, p.partition);
    if (!partitions.has(key)) partitions.set(key, p);
  }
  for (const r of update.advance ?? []) {
    const key = partitionKey(r.topic, r.partition);
    const current = partitions.get(key);
    // Positions only move forward.
    if (current === undefined || Number(current.next) < Number(r.to)) partitions.set(key, { topic: r.topic, partition: r.partition, next: r.to });
  }
  const sorted = [...partitions.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  const progress = { ...previous?.progress, ...update.progress };
  return { batch: update.committedBatch ?? previous?.batch ?? null, partitions: sorted, ...(Object.keys(progress).length === 0 ? {} : { progress }) };
}

/** The newest batch id these offsets settle (`batch` or `progress.lastBatch`), or null. */
export function lastSettledBatch(record: OffsetsRecord | null | undefined): string | null {
  const ids = [record?.batch, record?.progress?.lastBatch].filter((id): id is string => typeof id === 'string');
  return ids.length === 0 ? null : ids.reduce((a, b) => (a > b ? a : b));
}

/** Lag per partition after the positions moved: high (as last read) minus the new position. */
export function lagAfter(lag: readonly PartitionLag[], offsets: OffsetsRecord): PartitionLag[] {
  const positions = positionsOf(offsets);
  return lag.map((p) => {
    const next = positions.get(partitionKey(p.topic, p.partition)) ?? p.next;
    return { ...p, next, lag: Math.max(0, p.high - next) };
  });
}
