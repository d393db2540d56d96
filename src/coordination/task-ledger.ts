/**
 * The record of the work in ZooKeeper: batches (planned write-ahead by the driver), their tasks
 * (held by executors, moved by the operator) and the committed offsets. Every task transition
 * is a conditional set against the version its writer read; on a conflict the writer re-reads
 * and decides again with the pure rules of task-state.ts.
 *
 * Normal path of one task, in ZooKeeper writes: create + ACL lock (driver), completion
 * (executor), delete after the batch commits (driver) — four. A task carries every range of its
 * partition group, so a batch costs four writes per group, not per partition.
 */
import { StreamkeeperError, isStreamkeeperError } from '../errors/index.js';
import { systemClock, type Clock } from '../machinery/clock.js';
import { batchId, batchSequence, parseTaskId, taskId, type CoordinationLayout, type JobRef } from './layout.js';
import type { Subscription, ZooKeeperSession } from './session.js';
import { decodeTask, encodeTask, newTask, nextTaskState, type OffsetRange, type StateReport, type TaskClaim, type TaskRecord, type TaskWork, type Transition } from './task-state.js';
import { anyVersion, type Acl, type NodeData } from './zookeeper/client.js';

export interface VersionedTask {
  readonly record: TaskRecord;
  /** The znode version the record was read at: the precondition of the next write. */
  readonly version: number;
}

/**
 * - `planned`: ranges recorded; tasks are created and run. A restarted driver finishes it.
 * - `committed`: output and offsets committed. `failed`: a task was exhausted.
 */
export type BatchState = 'planned' | 'committed' | 'failed';

export interface BatchRecord {
  readonly id: string;
  readonly state: BatchState;
  /** Every range the batch reads, at most one per partition. */
  readonly ranges: readonly OffsetRange[];
  /**
   * The partition group of each range (same index); null: the range is a task of its own.
   * Absent (a batch planned before partition groups): every range is a task of its own.
   */
  readonly rangeGroups?: readonly (number | null)[];
  readonly plannedAt: string;
  /** Exhausted tasks, when `failed`. */
  readonly failedTasks?: readonly string[];
  /**
   * What the driver planned the batch with (the config generation and hash, the processing
   * settings), so that every attempt of every task runs with the same settings. Opaque here.
   */
  readonly plannedWith?: Readonly<Record<string, unknown>>;
}

export interface VersionedBatch {
  readonly record: BatchRecord;
  readonly version: number;
}

export interface VersionedOffsets {
  readonly record: OffsetsRecord;
  readonly version: number;
  /** When the node was last written (ms since the epoch): the commit time of records that predate `progress.committedAt`. */
  readonly modifiedAt: number;
}

export interface PartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to read, as a decimal string. */
  readonly next: string;
}

export interface OffsetsRecord {
  /** The last batch whose offsets these are. */
  readonly batch: string | null;
  readonly partitions: readonly PartitionOffset[];
  /** The driver's progress report, for readers without Kafka access (the operator). */
  readonly progress?: DriverProgress;
}

/** Written by the driver with the offsets: what the operator shows in the job's status. */
export interface DriverProgress {
  /** When `batch` was committed (ISO time). */
  readonly committedAt?: string;
  /**
   * The newest batch whose outcome these offsets settle: `batch`, or a later batch that failed
   * (its ranges kept for a retry, or parked). Batch ids continue after it and are never reused.
   */
  readonly lastBatch?: string;
  /** Records in the source topics beyond these offsets, summed over partitions, when last measured. */
  readonly totalLag?: number;
  /** When `totalLag` was measured (ISO time). */
  readonly lagObservedAt?: string;
  /** A windowed aggregation: the greatest event time committed (epoch ms), which the next watermark starts from. */
  readonly maxEventTime?: number;
  /** A windowed aggregation: the watermark of the last committed batch (ISO time). */
  readonly watermark?: string;
  /** A windowed aggregation: when a batch with source records last committed (ISO time), for the idle timeout. */
  readonly recordsSeenAt?: string;
  /** An aggregation: its state partitions' sizes and latest restore (at most one entry per state partition). */
  readonly state?: StateProgress;
}

/** What the job's status shows of its aggregation state; bounded by the number of state partitions. */
export interface StateProgress {
  /** Per state partition (its number, as text): keys and estimated bytes after its last committed aggregate task. */
  readonly partitions: Readonly<Record<string, { readonly keys: number; readonly bytes: number }>>;
  /** The slowest restore of the latest batch whose tasks restored state from the changelog. */
  readonly lastRestore?: { readonly partition: number; readonly records: number; readonly millis: number; readonly full: boolean; readonly at: string };
}

export type TransitionResult =
  | { readonly outcome: 'written'; readonly task: VersionedTask }
  | { readonly outcome: 'noop' | 'stale'; readonly task: VersionedTask; readonly reason: string }
  | { readonly outcome: 'gone' };

export type CompletionResult = { readonly outcome: 'succeeded'; readonly maxEventTime?: number; readonly stateReport?: StateReport } | { readonly outcome: 'failed'; readonly error: string };

const maxTransitionAttempts = 16;

/** The id after every batch recorded or committed so far. */
export function nextBatchId(recorded: readonly string[], lastCommitted: string | null): string {
  const sequences = recorded.map(batchSequence);
  if (lastCommitted !== null) sequences.push(batchSequence(lastCommitted));
  return batchId(sequences.length === 0 ? 0 : Math.max(...sequences) + 1);
}

function sameRanges(a: readonly OffsetRange[], b: readonly OffsetRange[]): boolean {
  return a.length === b.length && a.every((r, i) => { const o = b[i]; return o !== undefined && r.topic === o.topic && r.partition === o.partition && r.from === o.from && r.to === o.to; });
}

function sameGroups(a: BatchRecord['rangeGroups'], b: BatchRecord['rangeGroups'], count: number): boolean {
  for (let i = 0; i < count; i++) if ((a?.[i] ?? null) !== (b?.[i] ?? null)) return false;
  return true;
}

/**
 * A batch's tasks, in task index order: one per partition group (its ranges in batch order), in
 * the order the groups first appear among the ranges, and one per range without a group.
 */
export function batchTasks(batch: Pick<BatchRecord, 'ranges' | 'rangeGroups'>): TaskWork[] {
  const tasks: { ranges: OffsetRange[]; group?: number }[] = [];
  const byGroup = new Map<number, { ranges: OffsetRange[]; group?: number }>();
  batch.ranges.forEach((range, index) => {
    const group = batch.rangeGroups?.[index] ?? null;
    if (group === null) {
      tasks.push({ ranges: [range] });
      return;
    }
    let task = byGroup.get(group);
    if (task === undefined) {
      task = { ranges: [], group };
      byGroup.set(group, task);
      tasks.push(task);
    }
    task.ranges.push(range);
  });
  return tasks;
}

function parseJson(node: NodeData, path: string, what: string): unknown {
  try {
    return JSON.parse(node.data.toString('utf8'));
  } catch (err) {
    throw new StreamkeeperError('SK_ZK_ERROR', `${path} does not hold ${what}: ${(err as Error).message}`, { field: path, cause: err });
  }
}

export class TaskLedger {
  private readonly clock: Clock;

  constructor(
    private readonly session: ZooKeeperSession,
    private readonly layout: CoordinationLayout,
    options: { readonly clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  // ---- batches (the driver writes) ----

  /**
   * Records a batch's ranges before any of its tasks runs. Recording the same batch again (a
   * restarted driver) returns the recorded one; different ranges under the same id are refused:
   * a recorded batch is finished, never re-planned.
   */
  async recordBatch(job: JobRef, id: string, ranges: readonly OffsetRange[], acl: readonly Acl[], plannedWith?: Readonly<Record<string, unknown>>, rangeGroups?: readonly (number | null)[]): Promise<VersionedBatch> {
    const path = this.layout.batch(job, id);
    if (rangeGroups !== undefined && rangeGroups.length !== ranges.length) throw new StreamkeeperError('SK_ZK_ERROR', `batch ${id}: ${rangeGroups.length} range groups for ${ranges.length} ranges`, { field: path });
    const grouped = rangeGroups !== undefined && rangeGroups.some((g) => g !== null);
    const record: BatchRecord = { id, state: 'planned', ranges, ...(grouped ? { rangeGroups } : {}), plannedAt: new Date(this.clock.now()).toISOString(), ...(plannedWith === undefined ? {} : { plannedWith }) };
    try {
      await this.session.create(path, Buffer.from(JSON.stringify(record)), 'persistent', acl);
      return { record, version: 0 };
    } catch (err) {
      if (!isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) throw err;
    }
    const existing = await this.readBatch(job, id);
    if (existing === null) throw new StreamkeeperError('SK_ZK_NO_NODE', `${path} vanished while being recorded`, { field: path });
    if (!sameRanges(existing.record.ranges, ranges) || !sameGroups(existing.record.rangeGroups, record.rangeGroups, ranges.length)) {
      throw new StreamkeeperError('SK_ZK_NODE_EXISTS', `batch ${id} is already recorded with other ranges; finish the recorded batch instead of planning it again`, { field: path });
    }
    return existing;
  }

  async readBatch(job: JobRef, id: string): Promise<VersionedBatch | null> {
    const path = this.layout.batch(job, id);
    const node = await this.session.getIfExists(path);
    return node === null ? null : { record: parseJson(node, path, 'a batch') as BatchRecord, version: node.stat.version };
  }

  /** Every recorded batch, oldest first. */
  async readBatches(job: JobRef): Promise<VersionedBatch[]> {
    const ids = await this.session.children(this.layout.batches(job));
    const batches = await Promise.all(ids.map((id) => this.readBatch(job, id)));
    return batches.filter((b): b is VersionedBatch => b !== null);
  }

  /** The batch a (re)started driver must finish before planning a new one. */
  async unfinishedBatch(job: JobRef): Promise<VersionedBatch | undefined> {
    return (await this.readBatches(job)).findLast((b) => b.record.state === 'planned');
  }

  /** Moves a batch to `committed` or `failed`, conditionally on the version read. */
  async setBatchState(job: JobRef, batch: VersionedBatch, state: 'committed' | 'failed', failedTasks?: readonly string[]): Promise<VersionedBatch> {
    const record: BatchRecord = { ...batch.record, state, ...(failedTasks === undefined ? {} : { failedTasks }) };
    const stat = await this.session.set(this.layout.batch(job, batch.record.id), Buffer.from(JSON.stringify(record)), batch.version);
    return { record, version: stat.version };
  }

  async deleteBatch(job: JobRef, id: string): Promise<void> {
    try {
      await this.session.delete(this.layout.batch(job, id), anyVersion);
    } catch (err) {
      if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE')) throw err;
    }
  }

  // ---- tasks ----

  /**
   * Creates the batch's tasks (`batchTasks`: one per partition group, or per range), each assigned
   * to `owners.get(taskId)`. Tasks that already exist (a restarted driver) are kept as they are.
   */
  /** `standbys`: by task id, the executors to prefer when its owner dies (a stateful task's warm copies). */
  async createTasks(job: JobRef, batch: BatchRecord, owners: ReadonlyMap<string, string>, acl: readonly Acl[], standbys: ReadonlyMap<string, readonly string[]> = new Map()): Promise<VersionedTask[]> {
    return Promise.all(
      batchTasks(batch).map(async (work, index) => {
        const id = taskId(batch.id, index);
        const owner = owners.get(id);
        if (owner === undefined) throw new StreamkeeperError('SK_ZK_ERROR', `no executor given for task ${id}`);
        const record = newTask(id, batch.id, work, owner, standbys.get(id));
        try {
          await this.session.create(this.layout.task(job, id), encodeTask(record), 'persistent', acl);
          return { record, version: 0 };
        } catch (err) {
          if (!isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) throw err;
          const existing = await this.readTask(job, id);
          if (existing === null) throw err;
          return existing;
        }
      }),
    );
  }

  async readTask(job: JobRef, id: string): Promise<VersionedTask | null> {
    const path = this.layout.task(job, id);
    const node = await this.session.getIfExists(path);
    return node === null ? null : { record: decodeTask(node.data, path), version: node.stat.version };
  }

  /** Every task of the job (of one batch, with `batch`), in id order. */
  async readTasks(job: JobRef, batch?: string): Promise<VersionedTask[]> {
    let ids = await this.session.children(this.layout.tasks(job));
    if (batch !== undefined) ids = ids.filter((id) => parseTaskId(id).batch === batch);
    const tasks = await Promise.all(ids.map((id) => this.readTask(job, id)));
    return tasks.filter((t): t is VersionedTask => t !== null);
  }

  /** Delivers all tasks now and after every creation, change or deletion. */
  watchTasks(job: JobRef, listener: (tasks: ReadonlyMap<string, VersionedTask>) => void, onError?: (err: unknown) => void): Subscription {
    const dir = this.layout.tasks(job);
    return this.session.watchChildrenData(
      dir,
      (children) => {
        const tasks = new Map<string, VersionedTask>();
        for (const [id, node] of children) {
          try {
            tasks.set(id, { record: decodeTask(node.data, `${dir}/${id}`), version: node.stat.version });
          } catch (err) {
            onError?.(err);
          }
        }
        listener(tasks);
      },
      onError,
    );
  }

  /**
   * The one way a task changes: read (or use `known`), decide, write conditionally on the version
   * read; on a conflict read again and decide again.
   */
  async transition(job: JobRef, id: string, decide: (task: TaskRecord) => Transition, known?: VersionedTask): Promise<TransitionResult> {
    const path = this.layout.task(job, id);
    let current = known ?? (await this.readTask(job, id));
    for (let attempt = 0; attempt < maxTransitionAttempts; attempt += 1) {
      if (current === null) return { outcome: 'gone' };
      const decision = decide(current.record);
      if (decision.kind !== 'write') return { outcome: decision.kind, task: current, reason: decision.reason };
      try {
        const stat = await this.session.set(path, encodeTask(decision.next), current.version);
        return { outcome: 'written', task: { record: decision.next, version: stat.version } };
      } catch (err) {
        if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return { outcome: 'gone' };
        if (!isStreamkeeperError(err, 'SK_ZK_BAD_VERSION')) throw err;
      }
      current = await this.readTask(job, id);
    }
    throw new StreamkeeperError('SK_ZK_BAD_VERSION', `${path} kept changing under concurrent writers`, { field: path });
  }

  /**
   * Executor side: records the outcome of the attempt `claim` names. Rejects with SK_TASK_STALE
   * when the task has moved on (another owner or attempt); a retry of a completion that already
   * went through is accepted.
   */
  async complete(job: JobRef, id: string, claim: TaskClaim, result: CompletionResult): Promise<VersionedTask> {
    const event =
      result.outcome === 'failed'
        ? ({ type: 'complete', claim, outcome: 'failed', error: result.error } as const)
        : ({ type: 'complete', claim, outcome: 'succeeded', ...(result.maxEventTime === undefined ? {} : { maxEventTime: result.maxEventTime }), ...(result.stateReport === undefined ? {} : { stateReport: result.stateReport }) } as const);
    return this.expectHeld(job, id, await this.transition(job, id, (task) => nextTaskState(task, event)));
  }

  /** Executor side, while draining: hands an unstarted task back for the operator to move. */
  async release(job: JobRef, id: string, claim: TaskClaim): Promise<VersionedTask> {
    return this.expectHeld(job, id, await this.transition(job, id, (task) => nextTaskState(task, { type: 'release', claim })));
  }

  private expectHeld(job: JobRef, id: string, result: TransitionResult): VersionedTask {
    const path = this.layout.task(job, id);
    switch (result.outcome) {
      case 'written':
      case 'noop':
        return result.task;
      case 'stale':
        throw new StreamkeeperError('SK_TASK_STALE', result.reason, { field: path });
      case 'gone':
        throw new StreamkeeperError('SK_TASK_STALE', `task ${id} no longer exists (its batch was cleaned up)`, { field: path });
    }
  }

  /** Driver side: removes one task (a succeeded task of a failed batch). False when it was gone already. */
  async deleteTask(job: JobRef, id: string): Promise<boolean> {
    try {
      await this.session.delete(this.layout.task(job, id), anyVersion);
      return true;
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return false;
      throw err;
    }
  }

  /** Driver side, after the batch committed: removes its tasks. Returns how many it deleted. */
  async deleteBatchTasks(job: JobRef, batch: string): Promise<number> {
    const ids = (await this.session.children(this.layout.tasks(job))).filter((id) => parseTaskId(id).batch === batch);
    const deleted = await Promise.all(ids.map((id) => this.deleteTask(job, id)));
    return deleted.filter(Boolean).length;
  }

  // ---- offsets (the driver writes) ----

  /** The committed offsets; SK_ZK_ERROR when the node holds no JSON. */
  async readOffsets(job: JobRef): Promise<VersionedOffsets | null> {
    const path = this.layout.offsets(job);
    const node = await this.session.getIfExists(path);
    return node === null ? null : { record: parseJson(node, path, 'offsets') as OffsetsRecord, version: node.stat.version, modifiedAt: node.stat.mtime };
  }

  /**
   * Writes the committed offsets: creates the node when `expectedVersion` is null, otherwise a
   * conditional set (so a second driver cannot silently overwrite).
   */
  async writeOffsets(job: JobRef, record: OffsetsRecord, expectedVersion: number | null, acl: readonly Acl[]): Promise<number> {
    const path = this.layout.offsets(job);
    const data = Buffer.from(JSON.stringify(record));
    if (expectedVersion === null) {
      await this.session.create(path, data, 'persistent', acl);
      return 0;
    }
    return (await this.session.set(path, data, expectedVersion)).version;
  }
}
