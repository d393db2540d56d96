/**
 * Watches a job's coordination state in ZooKeeper — batches, tasks, committed offsets and
 * executor registrations — and keeps every state it sees. The driver deletes a batch and its
 * tasks soon after the batch commits, and a dead executor's registration goes within moments, so
 * a scenario that asks afterwards which batches ran, who held a task when its executor died, or
 * when a registration went, must record them as they happen.
 */
import { batchSequence, type CoordinationLayout, type JobRef } from '../../../../src/coordination/layout.js';
import type { Subscription, ZooKeeperSession } from '../../../../src/coordination/session.js';
import { TaskLedger, type BatchRecord, type BatchState, type OffsetsRecord } from '../../../../src/coordination/task-ledger.js';
import type { OffsetRange, TaskRecord } from '../../../../src/coordination/task-state.js';
import type { NodeData } from '../../../../src/coordination/zookeeper/client.js';

/** One version of a task, as the watch delivered it. */
export interface SeenTask {
  readonly record: TaskRecord;
  readonly version: number;
  /** When the watch delivered it (ms since the epoch). */
  readonly at: number;
}

export interface SeenBatch {
  readonly id: string;
  /** The ranges as first seen. */
  readonly ranges: readonly OffsetRange[];
  /** Every state seen, in order, without repeats. */
  readonly states: BatchState[];
  /** Ranges seen later under the same id that differ from the first (a re-planned batch: must stay empty). */
  readonly replanned: (readonly OffsetRange[])[];
  readonly firstSeenAt: number;
}

/** One ZooKeeper session of an executor registered under a pod name. */
export interface SeenRegistration {
  readonly pod: string;
  /** The session id owning the ephemeral znode. */
  readonly session: string;
  readonly since: number;
  /** When the watch saw it gone; undefined while it is there. */
  until: number | undefined;
}

/** The `offsets` znode whenever it named a newly committed batch. */
export interface SeenCommit {
  readonly batch: string;
  readonly at: number;
  /** The committed positions it held, `topic/partition` → next offset. */
  readonly positions: ReadonlyMap<string, number>;
}

function sameRanges(a: readonly OffsetRange[], b: readonly OffsetRange[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function describeRange(range: OffsetRange): string {
  return `${range.topic}/${range.partition} [${range.from}, ${range.to})`;
}

export class LedgerRecorder {
  /** Every version seen of each task, by task id (deleted tasks included). */
  readonly tasks = new Map<string, SeenTask[]>();
  /** The tasks in ZooKeeper as the watch last delivered them. */
  current: ReadonlyMap<string, TaskRecord> = new Map();
  /** Every batch seen, by id. */
  readonly batches = new Map<string, SeenBatch>();
  /** Each newly committed batch id the `offsets` znode named, in order. */
  readonly commits: SeenCommit[] = [];
  /** Every executor registration seen, in order of appearance. */
  readonly registrations: SeenRegistration[] = [];
  private readonly subscriptions: Subscription[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly errors: string[] = [];
  private readonly delivered = new Set<string>();

  private constructor(
    private readonly session: ZooKeeperSession,
    private readonly layout: CoordinationLayout,
    private readonly job: JobRef,
  ) {}

  /** Starts watching; resolves once each watch has delivered the state as it is now. */
  static async start(session: ZooKeeperSession, layout: CoordinationLayout, job: JobRef): Promise<LedgerRecorder> {
    const recorder = new LedgerRecorder(session, layout, job);
    recorder.watch();
    await recorder.until(() => recorder.delivered.size === 4);
    return recorder;
  }

  private watch(): void {
    const failed = (what: string) => (err: unknown): void => {
      this.errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    };
    const ledger = new TaskLedger(this.session, this.layout);
    this.subscriptions.push(
      ledger.watchTasks(this.job, (tasks) => {
        this.sawTasks([...tasks.values()].map((task) => ({ record: task.record, version: task.version, at: Date.now() })));
      }, failed('the tasks watch')),
      this.session.watchChildrenData(this.layout.batches(this.job), (children) => {
        this.sawBatches(children);
      }, failed('the batches watch')),
      this.session.watchData(this.layout.offsets(this.job), (node) => {
        this.sawOffsets(node);
      }, failed('the offsets watch')),
      this.session.watchChildrenData(this.layout.executors(this.job), (children) => {
        this.sawRegistrations(children);
      }, failed('the executors watch')),
    );
  }

  private changed(source: string): void {
    this.delivered.add(source);
    for (const waiter of [...this.waiters]) waiter();
  }

  private sawTasks(tasks: readonly SeenTask[]): void {
    this.current = new Map(tasks.map((task) => [task.record.id, task.record]));
    for (const task of tasks) {
      const history = this.tasks.get(task.record.id) ?? [];
      const last = history.at(-1);
      if (last === undefined || last.version !== task.version) history.push(task);
      this.tasks.set(task.record.id, history);
    }
    this.changed('tasks');
  }

  private sawBatches(children: ReadonlyMap<string, NodeData>): void {
    for (const [id, node] of children) {
      let record: BatchRecord;
      try {
        record = JSON.parse(node.data.toString('utf8')) as BatchRecord;
      } catch (err) {
        this.errors.push(`batch ${id} is not JSON: ${(err as Error).message}`);
        continue;
      }
      const seen = this.batches.get(id);
      if (seen === undefined) {
        this.batches.set(id, { id, ranges: record.ranges, states: [record.state], replanned: [], firstSeenAt: Date.now() });
        continue;
      }
      if (seen.states.at(-1) !== record.state) seen.states.push(record.state);
      if (!sameRanges(seen.ranges, record.ranges)) seen.replanned.push(record.ranges);
    }
    this.changed('batches');
  }

  private sawOffsets(node: NodeData | null): void {
    if (node !== null) {
      const record = JSON.parse(node.data.toString('utf8')) as OffsetsRecord;
      const positions = new Map(record.partitions.map((p) => [`${p.topic}/${p.partition}`, Number(p.next)]));
      if (record.batch !== null && this.commits.at(-1)?.batch !== record.batch) this.commits.push({ batch: record.batch, at: Date.now(), positions });
    }
    this.changed('offsets');
  }

  private sawRegistrations(children: ReadonlyMap<string, NodeData>): void {
    const now = Date.now();
    for (const registration of this.registrations) {
      if (registration.until === undefined && children.get(registration.pod)?.stat.ephemeralOwner !== registration.session) registration.until = now;
    }
    for (const [pod, node] of children) {
      const session = node.stat.ephemeralOwner;
      if (!this.registrations.some((r) => r.pod === pod && r.session === session)) this.registrations.push({ pod, session, since: now, until: undefined });
    }
    this.changed('executors');
  }

  /**
   * Resolves with `check`'s first non-undefined result, evaluated now and on every change the
   * watches deliver: reacting within the watch's delivery, not a poll interval.
   */
  async until<T>(check: () => T | undefined, timeoutMs = 90_000, what = 'a ZooKeeper state'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(evaluate);
      };
      const evaluate = (): void => {
        try {
          const result = check();
          if (result === undefined) return;
          done();
          resolve(result);
        } catch (err) {
          done();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: not seen within ${timeoutMs / 1000} s${this.errors.length === 0 ? '' : `; watch errors: ${this.errors.join('; ')}`}`));
      }, timeoutMs);
      this.waiters.add(evaluate);
      evaluate();
    });
  }

  /** The registrations of `pod`, oldest first. */
  registrationsOf(pod: string): SeenRegistration[] {
    return this.registrations.filter((r) => r.pod === pod);
  }

  /**
   * What breaks "every batch once, in order, nothing skipped", given the offsets finally
   * committed: batch ids (planned and committed) consecutive and each planned once with one set
   * of ranges, every batch committed, and for each source partition the batches' ranges following
   * each other without gap or overlap from `startAt` (or the first range seen) up to the
   * committed position. Empty when all holds.
   */
  continuityProblems(final: OffsetsRecord, startAt?: ReadonlyMap<number, number>): string[] {
    const problems: string[] = [...this.errors.map((e) => `watch error: ${e}`)];
    const batches = new Map([...this.batches, ...this.batchesSeenOnlyCommitted()]);
    const ids = [...batches.keys()].sort();
    const sequences = ids.map(batchSequence);
    for (let i = 1; i < sequences.length; i++) {
      const [previous, current] = [sequences[i - 1] ?? 0, sequences[i] ?? 0];
      if (current !== previous + 1) problems.push(`batch ids jump from ${ids[i - 1] ?? ''} to ${ids[i] ?? ''}`);
    }
    const committed = this.commits.map((c) => c.batch);
    for (let i = 1; i < committed.length; i++) {
      if (batchSequence(committed[i] ?? '') !== batchSequence(committed[i - 1] ?? '') + 1) problems.push(`the committed batch went from ${committed[i - 1] ?? ''} to ${committed[i] ?? ''}`);
    }
    if (final.batch !== null && committed.at(-1) !== final.batch) problems.push(`the offsets name batch ${final.batch} committed, the watch saw ${committed.at(-1) ?? 'none'} last`);
    for (const batch of batches.values()) {
      if (batch.replanned.length > 0) problems.push(`batch ${batch.id} was planned again with other ranges: ${batch.replanned.map((r) => r.map(describeRange).join(', ')).join(' / ')}`);
      const lastState = batch.states.at(-1);
      const settled = lastState === 'committed' || (final.batch !== null && batch.id <= final.batch && lastState === 'planned');
      if (!settled) problems.push(`batch ${batch.id} ended ${batch.states.join(' → ')}`);
      if (final.batch !== null && batch.id > final.batch) problems.push(`batch ${batch.id} was planned after the last committed batch ${final.batch}`);
    }
    const byPartition = new Map<string, { batch: string; range: OffsetRange }[]>();
    for (const id of ids) {
      for (const range of batches.get(id)?.ranges ?? []) {
        const key = `${range.topic}/${range.partition}`;
        byPartition.set(key, [...(byPartition.get(key) ?? []), { batch: id, range }]);
      }
    }
    for (const position of final.partitions) {
      const key = `${position.topic}/${position.partition}`;
      const chain = byPartition.get(key) ?? [];
      let next = startAt?.get(position.partition) ?? Number(chain[0]?.range.from ?? position.next);
      for (const { batch, range } of chain) {
        if (Number(range.from) !== next) problems.push(`${key}: batch ${batch} takes ${describeRange(range)} where ${next} was next (${Number(range.from) > next ? 'a gap' : 'an overlap'})`);
        next = Number(range.to);
      }
      if (next !== Number(position.next)) problems.push(`${key}: the batches seen end at ${next}, the committed position is ${position.next}`);
    }
    return problems;
  }

  /**
   * Batches the batches watch never delivered (planned, run and deleted between two of its reads,
   * as a starved test process may take) but whose commit the offsets watch saw right after the
   * previous one: their ranges are what the committed positions moved by.
   */
  private batchesSeenOnlyCommitted(): Map<string, SeenBatch> {
    const found = new Map<string, SeenBatch>();
    for (let i = 1; i < this.commits.length; i++) {
      const [previous, commit] = [this.commits[i - 1], this.commits[i]];
      if (previous === undefined || commit === undefined || this.batches.has(commit.batch)) continue;
      if (batchSequence(commit.batch) !== batchSequence(previous.batch) + 1) continue;
      const ranges: OffsetRange[] = [];
      for (const [key, next] of commit.positions) {
        const from = previous.positions.get(key) ?? next;
        const split = key.lastIndexOf('/');
        if (next !== from) ranges.push({ topic: key.slice(0, split), partition: Number(key.slice(split + 1)), from: String(from), to: String(next) });
      }
      found.set(commit.batch, { id: commit.batch, ranges, states: ['committed'], replanned: [], firstSeenAt: commit.at });
    }
    return found;
  }

  /** Stops watching. */
  close(): void {
    for (const subscription of this.subscriptions.splice(0)) subscription.close();
    this.waiters.clear();
  }
}
