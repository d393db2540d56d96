/**
 * The task state machine, as pure functions: given a task as read from ZooKeeper and what
 * someone wants to do with it, what is the next state — or is the request stale? Every writer
 * (executor, operator) decides here, then writes conditionally on the version it read; after a
 * conflict it re-reads and decides again. See docs/zookeeper.md for the diagram.
 */
import { StreamkeeperError } from '../errors/index.js';
import type { RescheduleReason } from './observer.js';

/**
 * - `assigned`: `owner` holds attempt `attempt` and may complete it.
 * - `released`: a draining owner handed it back unstarted; the operator gives it to a live executor.
 * - `failed`: the owner reported a failure; the operator retries it elsewhere or exhausts it.
 * - `succeeded`, `exhausted`: final.
 */
export type TaskState = 'assigned' | 'released' | 'succeeded' | 'failed' | 'exhausted';
export const taskStates: readonly TaskState[] = ['assigned', 'released', 'succeeded', 'failed', 'exhausted'];

/** Kafka offsets as decimal strings (they are 64-bit). `from` inclusive, `to` exclusive. */
export interface OffsetRange {
  readonly topic: string;
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

export interface TaskRecord {
  readonly id: string;
  readonly batch: string;
  /**
   * What the task reads: one range per partition, at most one per partition. A task of a
   * partition group has every range of its group in the batch; otherwise exactly one range.
   */
  readonly ranges: readonly OffsetRange[];
  /**
   * The partition group whose ranges the task carries (all of them commit in one transaction
   * under the group's transactional id). Absent: a task of one partition under that partition's
   * id — an aggregate task of a state partition, or a task planned before partition groups.
   */
  readonly group?: number;
  readonly state: TaskState;
  /** The executor pod that holds the task (or held it last). */
  readonly owner: string;
  /** The assignment number: 1 when created, +1 every time the task changes hands. Fences stale owners. */
  readonly attempt: number;
  /** Attempts lost to a dead owner or a reported failure; at `maxTaskAttempts` the task is exhausted. */
  readonly failures: number;
  /** The last reported failure. */
  readonly error?: string;
  /** A windowed aggregation's map task: the greatest event time among its records (epoch ms), for the job's watermark. */
  readonly maxEventTime?: number;
  /** An aggregate task: its state partition's size after its commit, for the job's status. */
  readonly stateReport?: StateReport;
  /**
   * A stateful task's warm standbys: executors that keep its state partition's state current, in
   * order of preference. When the owner dies the task moves to the first live one, so the
   * takeover restores only the last changelog records.
   */
  readonly standbys?: readonly string[];
}

/**
 * An aggregate task's state partition once its transaction committed: a few numbers for the
 * job's status, never a key or a value, so the task znode stays small however many keys there are.
 */
export interface StateReport {
  /** Keys the state partition holds. */
  readonly keys: number;
  /** Their estimated size in memory: keys, encoded accumulators and a per-entry overhead. */
  readonly bytes: number;
  /** Set when this attempt read changelog records to bring the partition up to date. */
  /** `millis`: whole milliseconds. */
  readonly restore?: { readonly records: number; readonly millis: number; readonly full: boolean };
}

/** Who claims to hold a task: what an executor must present to complete or release it. */
export interface TaskClaim {
  readonly owner: string;
  readonly attempt: number;
}

export type TaskEvent =
  | { readonly type: 'complete'; readonly claim: TaskClaim; readonly outcome: 'succeeded'; readonly maxEventTime?: number; readonly stateReport?: StateReport }
  | { readonly type: 'complete'; readonly claim: TaskClaim; readonly outcome: 'failed'; readonly error: string }
  | { readonly type: 'release'; readonly claim: TaskClaim }
  | { readonly type: 'reschedule'; readonly reason: RescheduleReason; readonly to: string | undefined; readonly maxTaskAttempts: number };

/**
 * - `write`: write `next`, conditionally on the version the task was read at.
 * - `noop`: nothing to write (already done — e.g. a retried write that had gone through — or nothing to do yet).
 * - `stale`: the request is based on an owner or attempt that no longer holds the task; reject it.
 */
export type Transition =
  | { readonly kind: 'write'; readonly next: TaskRecord }
  | { readonly kind: 'noop'; readonly reason: string }
  | { readonly kind: 'stale'; readonly reason: string };

export function newTask(id: string, batch: string, work: TaskWork, owner: string, standbys: readonly string[] = []): TaskRecord {
  return { id, batch, ranges: work.ranges, ...(work.group === undefined ? {} : { group: work.group }), state: 'assigned', owner, attempt: 1, failures: 0, ...(standbys.length === 0 ? {} : { standbys }) };
}

/** What one task of a batch reads: its ranges and, for a partition group's task, the group. */
export interface TaskWork {
  readonly ranges: readonly OffsetRange[];
  readonly group?: number;
}

export function isFinal(task: TaskRecord): boolean {
  return task.state === 'succeeded' || task.state === 'exhausted';
}

function holds(task: TaskRecord, claim: TaskClaim): boolean {
  return task.owner === claim.owner && task.attempt === claim.attempt;
}

function describe(task: TaskRecord): string {
  return `task ${task.id} is ${task.state} (owner ${task.owner}, attempt ${task.attempt})`;
}

export function nextTaskState(task: TaskRecord, event: TaskEvent): Transition {
  switch (event.type) {
    case 'complete': {
      const { claim, outcome } = event;
      if (task.state === 'assigned' && holds(task, claim)) {
        const next: TaskRecord = outcome === 'failed' ? { ...task, state: 'failed', error: event.error } : { ...task, state: 'succeeded', ...(event.maxEventTime === undefined ? {} : { maxEventTime: event.maxEventTime }), ...(event.stateReport === undefined ? {} : { stateReport: event.stateReport }) };
        return { kind: 'write', next };
      }
      if (task.state === outcome && holds(task, claim)) return { kind: 'noop', reason: `${describe(task)} already` };
      return { kind: 'stale', reason: `${describe(task)}; a completion from ${claim.owner} attempt ${claim.attempt} is stale` };
    }
    case 'release': {
      const { claim } = event;
      if (task.state === 'assigned' && holds(task, claim)) return { kind: 'write', next: { ...task, state: 'released' } };
      if (task.state === 'released' && holds(task, claim)) return { kind: 'noop', reason: `${describe(task)} already` };
      return { kind: 'stale', reason: `${describe(task)}; a release from ${claim.owner} attempt ${claim.attempt} is stale` };
    }
    case 'reschedule':
      return reschedule(task, event.reason, event.to, event.maxTaskAttempts);
  }
}

/** The state a reschedule of each reason starts from. */
const reschedulableFrom: Record<RescheduleReason, TaskState> = { 'owner-dead': 'assigned', released: 'released', failed: 'failed' };

function reschedule(task: TaskRecord, reason: RescheduleReason, to: string | undefined, maxTaskAttempts: number): Transition {
  if (task.state !== reschedulableFrom[reason]) return { kind: 'noop', reason: `${describe(task)}: nothing to reschedule` };
  // A hand-back was never tried, so it does not count against the task.
  const failures = reason === 'released' ? task.failures : task.failures + 1;
  if (failures >= maxTaskAttempts) return { kind: 'write', next: { ...task, state: 'exhausted', failures } };
  if (to === undefined) return { kind: 'noop', reason: `${describe(task)}: no live executor can take it` };
  return { kind: 'write', next: { ...task, state: 'assigned', owner: to, attempt: task.attempt + 1, failures } };
}

/** Why a task must change hands now, or undefined if it must not. */
export function rescheduleReason(task: TaskRecord, isLive: (pod: string) => boolean): RescheduleReason | undefined {
  switch (task.state) {
    case 'assigned':
      return isLive(task.owner) ? undefined : 'owner-dead';
    case 'released':
      return 'released';
    case 'failed':
      return 'failed';
    case 'succeeded':
    case 'exhausted':
      return undefined;
  }
}

export type BatchOutcome = 'running' | 'succeeded' | 'failed';

/** A batch fails as soon as one task is exhausted; it succeeds when every task has. */
export function batchOutcome(tasks: readonly TaskRecord[]): BatchOutcome {
  if (tasks.some((t) => t.state === 'exhausted')) return 'failed';
  return tasks.length > 0 && tasks.every((t) => t.state === 'succeeded') ? 'succeeded' : 'running';
}

// ---- wire format ----

/**
 * A task of one partition without a group is written as it was before partition groups
 * (`range`, one object), so that executors of the previous version, which roll before the
 * driver, still read every task the operator rewrites; a group's task is written with `ranges`.
 */
export function encodeTask(task: TaskRecord): Buffer {
  const { ranges, ...rest } = task;
  const only = ranges[0];
  if (task.group === undefined && ranges.length === 1 && only !== undefined) return Buffer.from(JSON.stringify({ ...rest, range: only }));
  return Buffer.from(JSON.stringify(task));
}

function isRange(value: unknown): value is OffsetRange {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<OffsetRange>;
  return typeof r.topic === 'string' && typeof r.partition === 'number' && typeof r.from === 'string' && typeof r.to === 'string';
}

/** Reads a task; a record with a single `range` (written before partition groups) reads as a list of one. */
export function decodeTask(data: Buffer, path: string): TaskRecord {
  let parsed: Partial<TaskRecord> & { range?: unknown };
  try {
    parsed = JSON.parse(data.toString('utf8')) as Partial<TaskRecord> & { range?: unknown };
  } catch (err) {
    throw new StreamkeeperError('SK_ZK_ERROR', `${path} does not hold a task: ${(err as Error).message}`, { field: path, cause: err });
  }
  const { range, ...rest } = parsed;
  const ranges: unknown = parsed.ranges ?? (range === undefined ? undefined : [range]);
  const valid =
    typeof parsed.id === 'string' &&
    typeof parsed.batch === 'string' &&
    typeof parsed.owner === 'string' &&
    typeof parsed.attempt === 'number' &&
    typeof parsed.failures === 'number' &&
    Array.isArray(ranges) &&
    ranges.length > 0 &&
    ranges.every(isRange) &&
    (parsed.group === undefined ? ranges.length === 1 : Number.isSafeInteger(parsed.group) && parsed.group >= 0) &&
    (parsed.standbys === undefined || (Array.isArray(parsed.standbys) && parsed.standbys.every((pod) => typeof pod === 'string'))) &&
    taskStates.includes(parsed.state as TaskState);
  if (!valid) throw new StreamkeeperError('SK_ZK_ERROR', `${path} does not hold a task record`, { field: path });
  return { ...rest, ranges } as TaskRecord;
}
