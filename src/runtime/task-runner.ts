/**
 * One task attempt, Kafka side: read exactly [from, until) of each of the task's source
 * partitions (read_committed), run the processor, write the output (and dead letters) to the sink.
 *
 * Exactly-once: output, dead letters and the offset advance of every range of the task go into
 * ONE Kafka transaction under the task's transactional id (its partition group's, or its one
 * partition's). Opening that producer fences every earlier holder of the id (a zombie attempt)
 * and settles its pending transaction; only then are the job's committed group offsets read, and
 * the attempt processes only what is not committed yet — nothing if an earlier attempt already
 * committed the ranges. Right before committing, the claim
 * is checked once more in ZooKeeper, so an attempt that lost its task aborts instead.
 *
 * At-least-once: the idempotent producer, no transaction; a retried task writes its output again.
 */
import type { JobRef } from '../coordination/layout.js';
import type { OffsetRange, StateReport, TaskRecord } from '../coordination/task-state.js';
import { StreamkeeperError, isStreamkeeperError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import type { ProcessingSettings } from './job-settings.js';
import type { KafkaAdmin, KafkaClient, KafkaTransaction, OutgoingRecord, PartitionWatermarks, RangeReader, RecordProducer, TransactionalProducer } from './kafka/index.js';
import { changelogTopic, consumerGroupId, repartitionTopic, taskTransactionalId, transactionalId } from './kafka-names.js';
import { noopExecutorObserver, type ExecutorObserver } from './observer.js';
import { sinkPartition } from './partitioner.js';
import type { InputRecord } from './processors/api.js';
import { runProcessor, type PoisonRecord, type ProcessingResult, type ProcessorRegistry, type SinkRecord } from './processors/processor-runner.js';
import { AggregatorRegistry } from './stateful/aggregator-registry.js';
import { StateCache, type CachedPartition, type RestoreReport } from './stateful/state-cache.js';
import { aggregate, aggregateWindows, preAggregate, repartitionRecords, type Aggregated, type LateRecord, type MapWindowing } from './stateful/stages.js';
import type { KeyedAggregator, StateKey } from './stateful/aggregator.js';
import { isoTime, noWatermark } from './stateful/windows.js';
import { parseFieldPath } from '../api/v1alpha1/index.js';
import type { AggregationConfig, WindowConfig } from '../coordination/config-mirror.js';
import { systemClock, type Clock } from '../machinery/clock.js';

export interface TaskAssignment {
  readonly job: JobRef;
  readonly task: TaskRecord;
  readonly settings: ProcessingSettings;
  /** The job's `spec.config` map. */
  readonly config: Readonly<Record<string, string>>;
  /** Re-reads the task in ZooKeeper: true while this attempt still holds it. */
  readonly stillHeld: () => Promise<boolean>;
  /** A windowed aggregation's watermark, as recorded with the task's batch; absent: none yet. */
  readonly watermark?: number;
  /** When this executor saw the task assigned to it (clock ms): a takeover's timeline starts there. */
  readonly receivedAt?: number;
}

export type TaskResult =
  | { readonly kind: 'processed'; readonly read: number; readonly written: number; readonly skipped: number; readonly deadLettered: number; readonly maxEventTime?: number; readonly stateReport?: StateReport }
  /** An earlier attempt committed the range (exactly-once): nothing was done again. */
  | { readonly kind: 'already-committed'; readonly committed: number; readonly maxEventTime?: number };

export interface TaskRunnerOptions {
  /** The runner owns both clients: `close` closes them. */
  readonly source: KafkaClient;
  readonly sink: KafkaClient;
  readonly processors: ProcessorRegistry;
  readonly logger?: Logger;
  readonly observer?: ExecutorObserver;
  /** How long a range read may wait for offsets to become stable. */
  readonly readTimeoutMs?: number;
  /** Transactional producers kept open between tasks (least recently used are closed). */
  readonly maxOpenProducers?: number;
  readonly transactionTimeoutMs?: number;
  readonly aggregators?: AggregatorRegistry;
  readonly clock?: Clock;
}

/** What a task sends in its transaction, and what to do once that transaction committed or failed. */
interface ProcessedTask {
  readonly sends: Map<string, { topic: string; partition: number; records: OutgoingRecord[] }>;
  readonly written: number;
  readonly skipped: number;
  readonly deadLettered: number;
  /** Windowed map task: late records (outputs) left out of closed windows, and late source records dead-lettered. */
  readonly lateDropped?: number;
  readonly lateDeadLettered?: number;
  /** A windowed map task: the greatest event time among its records. */
  readonly maxEventTime?: number;
  /**
   * A map task of a job with an aggregation: its partial accumulators per key, combined across
   * all of the task's ranges before they become repartition records (one combine per task).
   */
  readonly partials?: Map<StateKey, unknown>;
  /** Given the end offset (last offset + 1) of what the transaction wrote per `topic/partition`. */
  readonly committed?: () => void;
  /** An aggregate task, once `committed` ran: its state partition's size and what restoring it cost. */
  readonly stateReport?: () => StateReport;
  /** An aggregate task: the cached state partition its commit updates. */
  readonly state?: CachedPartition;
  readonly failed?: (err: unknown) => void;
}

/** What a kept transactional producer's commits left (TaskRunner.lastCommits). */
interface LastCommit {
  readonly producer: TransactionalProducer;
  /** Committed position (group offset) per range it committed, `topic/partition`. */
  readonly positions: ReadonlyMap<string, number>;
  readonly state?: CachedPartition;
}

/** Bounds of one produce request: well under the broker's default 1 MiB batch limit. */
const maxSendRecords = 5000;
const maxSendBytes = 768 * 1024;
const partitionCountTtlMs = 30_000;
/** Fenced by a newer producer while working: re-open (fencing it in turn) and start over, this often. */
const maxFencedRestarts = 3;
const maxErrorHeaderChars = 4096;

export const deadLetterHeaders = {
  error: 'streamkeeper.error',
  source: 'streamkeeper.source',
  job: 'streamkeeper.job',
  batch: 'streamkeeper.batch',
  task: 'streamkeeper.task',
} as const;

function estimatedBytes(record: OutgoingRecord): number {
  let bytes = 32 + (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const h of record.headers ?? []) bytes += h.key.length + h.value.length + 8;
  return bytes;
}

/** Splits one partition's records into produce requests, in order. */
export function chunkRecords(records: readonly OutgoingRecord[]): OutgoingRecord[][] {
  const chunks: OutgoingRecord[][] = [];
  let current: OutgoingRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = estimatedBytes(record);
    if (current.length > 0 && (current.length >= maxSendRecords || bytes + size > maxSendBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** How a windowed job's map stage folds, under the watermark its batch recorded. */
function mapWindowing(window: WindowConfig, watermark: number): MapWindowing {
  const field = window.eventTimeField === undefined ? undefined : parseFieldPath(window.eventTimeField);
  return {
    windowing: { kind: window.type, sizeMs: window.sizeMs, advanceMs: window.advanceMs },
    source: field === undefined ? { from: 'timestamp' } : { from: 'field', field },
    watermark,
    lateToDeadLetter: window.lateRecords === 'deadLetter',
  };
}

/** A task over the job's repartition topic: the aggregate stage of a job with an aggregation (one state partition, never grouped). */
function isAggregateTask(assignment: TaskAssignment): boolean {
  const { task } = assignment;
  return assignment.settings.aggregation !== undefined && task.group === undefined && task.ranges[0]?.topic === repartitionTopic(assignment.job);
}

function rangeKey(range: { readonly topic: string; readonly partition: number }): string {
  return `${range.topic}/${range.partition}`;
}

/**
 * Folds `from`'s partials into `into` with the aggregator's merge, keeping first-seen key order:
 * a retry combines the same ranges in the same order, so it computes the same partials.
 */
function combinePartials(aggregator: KeyedAggregator, into: Map<StateKey, unknown>, from: ReadonlyMap<StateKey, unknown>): void {
  for (const [key, partial] of from) {
    const before = into.get(key);
    into.set(key, before === undefined ? partial : aggregator.merge(before, partial));
  }
}

/**
 * Adds `part`'s sends and counts to `into` (the tasks of several ranges commit as one). Partials
 * are combined with `aggregator`, so a key seen in several ranges travels once.
 */
function mergeProcessed(into: ProcessedTask | undefined, part: ProcessedTask, aggregator: KeyedAggregator | undefined): ProcessedTask {
  if (into === undefined) return part;
  let partials = into.partials ?? part.partials;
  if (into.partials !== undefined && part.partials !== undefined) {
    if (aggregator === undefined) throw new StreamkeeperError('SK_PROCESSOR_ERROR', 'partials to combine without an aggregator');
    combinePartials(aggregator, into.partials, part.partials);
    partials = into.partials;
  }
  const sends = new Map(into.sends);
  for (const [key, entry] of part.sends) {
    const before = sends.get(key);
    sends.set(key, before === undefined ? entry : { ...before, records: [...before.records, ...entry.records] });
  }
  const times = [into.maxEventTime, part.maxEventTime].filter((t): t is number => t !== undefined);
  return {
    sends,
    written: into.written + part.written,
    skipped: into.skipped + part.skipped,
    deadLettered: into.deadLettered + part.deadLettered,
    lateDropped: (into.lateDropped ?? 0) + (part.lateDropped ?? 0),
    lateDeadLettered: (into.lateDeadLettered ?? 0) + (part.lateDeadLettered ?? 0),
    ...(times.length === 0 ? {} : { maxEventTime: Math.max(...times) }),
    ...(partials === undefined ? {} : { partials }),
  };
}

/** A processor's output record is already what the producer sends: no copy per record. */
function outgoing(record: SinkRecord): OutgoingRecord {
  return record;
}

export function deadLetterRecord(poison: PoisonRecord, job: JobRef, task: TaskRecord): OutgoingRecord {
  const { record, error } = poison;
  const text = (value: string): Buffer => Buffer.from(value, 'utf8');
  return {
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
    headers: [
      ...record.headers,
      { key: deadLetterHeaders.error, value: text(error.slice(0, maxErrorHeaderChars)) },
      { key: deadLetterHeaders.source, value: text(`${record.topic}/${record.partition}@${record.offset}`) },
      { key: deadLetterHeaders.job, value: text(`${job.namespace}/${job.name}`) },
      { key: deadLetterHeaders.batch, value: text(task.batch) },
      { key: deadLetterHeaders.task, value: text(task.id) },
    ],
  };
}

/** Runs `action` for one key at a time (two attempts of one partition never share a producer). */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, action: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(action);
    this.tails.set(key, current);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === current) this.tails.delete(key);
    }
  }
}

/** Transactional producers by transactional id; beyond `max`, idle ones are closed, least recently used first. */
class TransactionalProducers {
  private readonly open = new Map<string, TransactionalProducer>();
  private readonly inUse = new Set<string>();

  constructor(
    private readonly client: KafkaClient,
    private readonly max: number,
    private readonly transactionTimeoutMs: number | undefined,
  ) {}

  /**
   * The producer for `id`; `fresh` closes a kept one first, so opening fences and settles again.
   * Its sends report no offsets: the commit proves delivery, without a delivery report per record.
   */
  async acquire(id: string, fresh: boolean): Promise<TransactionalProducer> {
    const kept = this.open.get(id);
    if (kept !== undefined) {
      this.open.delete(id);
      if (!fresh) {
        this.open.set(id, kept);
        return kept;
      }
      await kept.close().catch(() => undefined);
    }
    const producer = await this.client.transactionalProducer(id, { sendOffsets: false, ...(this.transactionTimeoutMs === undefined ? {} : { transactionTimeoutMs: this.transactionTimeoutMs }) });
    this.open.set(id, producer);
    const idle = [...this.open.keys()].filter((key) => key !== id && !this.inUse.has(key));
    for (const key of idle.slice(0, Math.max(0, this.open.size - this.max))) {
      const victim = this.open.get(key);
      this.open.delete(key);
      await victim?.close().catch(() => undefined);
    }
    return producer;
  }

  /** Runs `action` with `id` marked in use, so that it is not closed to make room. */
  async using<T>(id: string, action: () => Promise<T>): Promise<T> {
    this.inUse.add(id);
    try {
      return await action();
    } finally {
      this.inUse.delete(id);
    }
  }

  async discard(id: string): Promise<void> {
    const producer = this.open.get(id);
    this.open.delete(id);
    await producer?.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((p) => p.close().catch(() => undefined)));
  }
}

/**
 * Milliseconds of each step of an attempt, from when the executor saw the task: `waitMs` until it
 * ran (queue and the partition's lock), then each step up to the transaction's commit.
 */
class TakeoverTimeline {
  readonly laps: Record<string, number> = {};
  private last: number;

  constructor(
    private readonly clock: Clock,
    received: number,
    queued: number,
  ) {
    this.last = clock.now();
    this.laps.waitMs = Math.max(0, Math.round(this.last - Math.min(received, queued)));
  }

  /** Adds the time since the previous lap to `step` (a restart after being fenced adds again). */
  lap(step: string): void {
    const now = this.clock.now();
    this.laps[step] = (this.laps[step] ?? 0) + Math.round(now - this.last);
    this.last = now;
  }
}

export class TaskRunner {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly observer: ExecutorObserver;
  private readonly producers: TransactionalProducers;
  private readonly mutex = new KeyedMutex();
  /** The end of the last range this process committed, per source partition (`topic/partition`). */
  private readonly ownCommits = new Map<string, number>();
  /**
   * Per transactional id, the kept producer that made the id's last commit, with what its commits
   * left: the committed position of each range it committed and, for an aggregate task, the state
   * partition's cached copy with its changes applied. While that very producer is the one kept,
   * these are what Kafka holds: anyone else committing under the id must first open it, which
   * fences this producer, so a transaction built on them cannot commit (SK_KAFKA_FENCED) and the
   * attempt starts over with a fresh producer, reading the offsets and the changelog again.
   */
  private readonly lastCommits = new Map<string, LastCommit>();
  private readonly partitionCounts = new Map<string, { count: number; readAt: number }>();
  /**
   * Admin requests go one at a time: kafkajs 2.2.4's fetchTopicOffsets fails when calls overlap
   * (tulios/kafkajs#461), and concurrent tasks would otherwise ask together.
   */
  private adminTail: Promise<unknown> = Promise.resolve();
  private reader: Promise<RangeReader> | undefined;
  private sinkReader: Promise<RangeReader> | undefined;
  private producer: Promise<RecordProducer> | undefined;
  private readonly aggregators: AggregatorRegistry;
  /** The state partitions this executor holds; the budget is the job's stateMemory of the latest task. */
  private stateBudgetBytes = Number.POSITIVE_INFINITY;
  private readonly states = new StateCache(() => this.stateBudgetBytes);

  constructor(private readonly options: TaskRunnerOptions) {
    this.logger = options.logger ?? silentLogger();
    this.clock = options.clock ?? systemClock;
    this.observer = options.observer ?? noopExecutorObserver;
    this.producers = new TransactionalProducers(options.sink, options.maxOpenProducers ?? 16, options.transactionTimeoutMs);
    this.aggregators = options.aggregators ?? new AggregatorRegistry();
  }

  async run(assignment: TaskAssignment): Promise<TaskResult> {
    const { task } = assignment;
    if (assignment.settings.delivery === 'atLeastOnce') return this.runAtLeastOnce(assignment);
    const id = taskTransactionalId(assignment.job, task);
    const queued = this.clock.now();
    return this.mutex.run(id, () => this.producers.using(id, () => this.runExactlyOnce(assignment, id, queued)));
  }

  /** The job's changelog watermarks, read once for a round of standby refreshes. */
  changelogWatermarks(job: JobRef): Promise<PartitionWatermarks[]> {
    return this.admin((admin) => admin.topicOffsets(changelogTopic(job)));
  }

  /**
   * Brings this executor's warm standby copy of state partition `partition` up to what its
   * changelog committed (read_committed, up to the last stable offset: the owner's open
   * transaction is not read). Under the partition's lock, so never beside its task here; a
   * takeover then reads only what was committed since, after its producer fenced the old owner.
   *
   * `watermarks`, read once for a round over several partitions, spares an admin request per
   * partition (tasks' requests queue behind them). It may be older than the copy: a task of the
   * partition that committed here since moved the copy past it, and then there is nothing to read
   * (undefined) — never a sign of a new log, as it is for watermarks read under the lock.
   */
  async refreshStandby(job: JobRef, partition: number, aggregation: AggregationConfig, watermarks?: readonly PartitionWatermarks[]): Promise<RestoreReport | undefined> {
    const id = transactionalId(job, repartitionTopic(job), partition);
    return this.mutex.run(id, async () => {
      this.stateBudgetBytes = aggregation.stateMemoryBytes;
      const held = this.states.positionOf(partition);
      if (watermarks !== undefined && held !== undefined && held >= (watermarks.find((w) => w.partition === partition)?.high ?? 0)) return undefined;
      const reader = await this.sinkRangeReader();
      const watermarksOf = watermarks === undefined ? (topic: string) => this.admin((admin) => admin.topicOffsets(topic)) : () => Promise.resolve(watermarks);
      const { report } = await this.states.restore(partition, changelogTopic(job), watermarksOf, reader, this.options.readTimeoutMs);
      this.observer.standbyRefreshed?.(report);
      return report;
    });
  }

  /**
   * Forgets cached state partitions other than `keep` (this executor neither runs nor stands by
   * for them), each under its lock: memory goes to the partitions it needs.
   */
  async forgetStatePartitions(job: JobRef, keep: ReadonlySet<number>): Promise<void> {
    const repartition = repartitionTopic(job);
    await Promise.all(
      this.states.heldPartitions
        .filter((partition) => !keep.has(partition))
        .map((partition) =>
          this.mutex.run(transactionalId(job, repartition, partition), () => {
            this.states.drop(partition);
            return Promise.resolve();
          }),
        ),
    );
  }

  async close(): Promise<void> {
    const reader = this.reader;
    const sinkReader = this.sinkReader;
    const producer = this.producer;
    this.reader = undefined;
    this.sinkReader = undefined;
    this.producer = undefined;
    await Promise.allSettled([this.producers.closeAll(), reader?.then((r) => r.close()), sinkReader?.then((r) => r.close()), producer?.then((p) => p.close())]);
    await Promise.allSettled([this.options.source.close(), this.options.sink.close()]);
  }

  private rangeReader(): Promise<RangeReader> {
    this.reader ??= this.options.source.rangeReader();
    this.reader.catch(() => {
      this.reader = undefined;
    });
    return this.reader;
  }

  /** Reads the job's internal topics, which live on the sink cluster. */
  private sinkRangeReader(): Promise<RangeReader> {
    this.sinkReader ??= this.options.sink.rangeReader();
    this.sinkReader.catch(() => {
      this.sinkReader = undefined;
    });
    return this.sinkReader;
  }

  private idempotentProducer(): Promise<RecordProducer> {
    this.producer ??= this.options.sink.producer();
    this.producer.catch(() => {
      this.producer = undefined;
    });
    return this.producer;
  }

  private admin<T>(request: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    const result = this.adminTail.catch(() => undefined).then(() => request(this.options.sink.admin));
    this.adminTail = result;
    return result;
  }

  /**
   * The partition count of a topic the task writes to. A missing topic names the spec `field` it
   * comes from, so the driver can tell the user which one to create or fix.
   */
  private async partitionsOf(topic: string, field: string): Promise<number> {
    const cached = this.partitionCounts.get(topic);
    if (cached !== undefined && this.clock.now() - cached.readAt < partitionCountTtlMs) return cached.count;
    const count = await this.admin((admin) => admin.topicOffsets(topic)).then(
      (partitions) => partitions.length,
      (err: unknown) => {
        if (isStreamkeeperError(err, 'SK_KAFKA_UNKNOWN_TOPIC')) throw new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', `topic ${topic} does not exist on the sink brokers: ${err.message}`, { field, cause: err });
        throw err;
      },
    );
    if (count === 0) throw new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', `topic ${topic} has no partitions`, { field });
    this.partitionCounts.set(topic, { count, readAt: this.clock.now() });
    return count;
  }

  private async read(assignment: TaskAssignment, range: OffsetRange, from: number, until: number): Promise<InputRecord[]> {
    const { topic, partition } = range;
    if (from >= until) return [];
    const reader = await (isAggregateTask(assignment) ? this.sinkRangeReader() : this.rangeReader());
    const records = await reader.readRange(topic, partition, from, until, this.options.readTimeoutMs === undefined ? {} : { timeoutMs: this.options.readTimeoutMs });
    this.observer.recordsRead?.(records.length);
    return records; // a consumed record is an input record: no copy per record
  }

  /**
   * A repartition partition's task of a job with an aggregation: restores the state partition
   * (after the producer was opened, so the changelog holds only settled transactions), merges
   * the partials, and sends one sink record and one changelog record per changed key.
   */
  private async aggregateStage(assignment: TaskAssignment, range: OffsetRange, records: readonly InputRecord[], logger: Logger, current: CachedPartition | undefined): Promise<ProcessedTask> {
    const { settings, job } = assignment;
    const aggregation = settings.aggregation;
    if (aggregation === undefined) throw new StreamkeeperError('SK_PROCESSOR_ERROR', 'an aggregate task without an aggregation');
    const partition = range.partition;
    this.stateBudgetBytes = aggregation.stateMemoryBytes;
    const aggregator = await this.aggregators.resolve(aggregation);
    const changelog = changelogTopic(job);
    // The copy this executor's kept producer committed last is current (see lastCommits): no
    // watermark request, no changelog read. Otherwise it catches up (or restores in full).
    const reused = current === undefined ? undefined : this.states.reuse(partition, current);
    let state: CachedPartition;
    let report: RestoreReport;
    if (reused !== undefined) {
      state = reused;
      report = { partition, records: 0, full: false, keys: state.store.size, bytes: state.store.usedBytes, millis: 0 };
    } else {
      const reader = await this.sinkRangeReader();
      ({ state, report } = await this.states.restore(partition, changelog, (topic) => this.admin((admin) => admin.topicOffsets(topic)), reader, this.options.readTimeoutMs));
      this.observer.stateRestored?.(report);
      if (report.records > 0) logger.info(report, 'state partition restored from the changelog');
    }
    const window = aggregation.window;
    let aggregated: Aggregated & { readonly closed?: readonly StateKey[] };
    try {
      aggregated = window === undefined ? aggregate(aggregator, state.store, records) : aggregateWindows(aggregator, state.store, records, window.emit, assignment.watermark ?? noWatermark);
    } catch (err) {
      this.states.drop(partition);
      throw err;
    }
    const sends = new Map<string, { topic: string; partition: number; records: OutgoingRecord[] }>();
    if (aggregated.outputs.length > 0) {
      const sinkPartitions = await this.partitionsOf(settings.sinkTopic, 'spec.sink.kafka.topic');
      for (const output of aggregated.outputs) {
        const sinkAt = sinkPartition(output.key, partition, sinkPartitions);
        const key = `${settings.sinkTopic}/${sinkAt}`;
        let entry = sends.get(key);
        if (entry === undefined) {
          entry = { topic: settings.sinkTopic, partition: sinkAt, records: [] };
          sends.set(key, entry);
        }
        entry.records.push(output);
      }
    }
    if (aggregated.changelog.length > 0) sends.set(`${changelog}/${partition}`, { topic: changelog, partition, records: [...aggregated.changelog] });
    if ((aggregated.closed?.length ?? 0) > 0) logger.debug({ closed: aggregated.closed?.length, watermark: assignment.watermark }, 'windows closed by the watermark left the state');
    return {
      sends,
      written: aggregated.outputs.length,
      skipped: 0,
      deadLettered: 0,
      state,
      committed: () => {
        for (const update of aggregated.updates) state.store.set(update.key, update.accumulator, update.encoded.length);
        for (const key of aggregated.closed ?? []) state.store.delete(key);
        // Sends report no offsets (a delivery report per record cost the executor more than the
        // records: ~35 us each), so the copy's position moves by the records this transaction
        // added to the changelog: a lower bound of their end (they were appended at or after the
        // old position; markers take offsets too). Every committed record below it is applied —
        // nobody else committed under the id between the copy's last read and this commit, or
        // the commit would have been fenced — so a later read from there re-reads at most this
        // executor's own markers and records, applied again in order to the same values.
        state.position += aggregated.changelog.length;
        this.observer.stateSize?.(partition, state.store.size, state.store.usedBytes);
      },
      stateReport: () => ({
        keys: state.store.size,
        bytes: state.store.usedBytes,
        ...(report.records === 0 ? {} : { restore: { records: report.records, millis: Math.round(report.millis), full: report.full } }),
      }),
      failed: (err) => {
        // Fenced: nothing was committed and the cached state was not touched (it changes only
        // after a commit), so it stays; the restart reads only what the other producer committed.
        if (!isStreamkeeperError(err, 'SK_KAFKA_FENCED')) this.states.drop(partition);
      },
    };
  }

  /**
   * Reads and processes each range not committed yet (`starts`: where each range's work starts),
   * as one task's output. The next range is read while the current one is processed (a group
   * task's ranges are on several partitions). A map task of a job with an aggregation combines
   * its partials across all its ranges, then addresses them to the repartition topic once.
   */
  private async processRanges(assignment: TaskAssignment, starts: ReadonlyMap<string, number>, logger: Logger, currentState?: CachedPartition): Promise<{ processed: ProcessedTask; read: number; readWaitMs: number }> {
    const { ranges } = assignment.task;
    const aggregation = assignment.settings.aggregation;
    const aggregator = aggregation === undefined || isAggregateTask(assignment) ? undefined : await this.aggregators.resolve(aggregation);
    const readAt = (index: number): Promise<InputRecord[]> | undefined => {
      const range = ranges[index];
      if (range === undefined) return undefined;
      const reading = this.read(assignment, range, starts.get(rangeKey(range)) ?? Number(range.from), Number(range.to));
      // Handled here too: a read left behind by a failed range must not surface as unhandled.
      reading.catch(() => undefined);
      return reading;
    };
    let processed: ProcessedTask | undefined;
    let read = 0;
    /** How long processing waited for reads (the rest of the time went to the processor and the aggregation). */
    let readWaitMs = 0;
    let next = readAt(0);
    for (let index = 0; next !== undefined; index++) {
      const range = ranges[index] as OffsetRange;
      const waitFrom = this.clock.now();
      const records = await next;
      readWaitMs += this.clock.now() - waitFrom;
      next = readAt(index + 1);
      read += records.length;
      processed = mergeProcessed(processed, await this.process(assignment, range, records, logger, currentState), aggregator);
    }
    processed ??= { sends: new Map(), written: 0, skipped: 0, deadLettered: 0 };
    const { partials } = processed;
    readWaitMs = Math.round(readWaitMs);
    if (partials === undefined || aggregation === undefined) return { processed, read, readWaitMs };
    const sends = new Map(processed.sends);
    const topic = repartitionTopic(assignment.job);
    for (const [partition, records] of repartitionRecords(partials, aggregation.statePartitions)) sends.set(`${topic}/${partition}`, { topic, partition, records });
    return { processed: { ...processed, sends }, read, readWaitMs };
  }

  /** Runs the processor and sorts the output and dead letters by sink partition (or, with an aggregation, pre-aggregates for the repartition topic). */
  private async process(assignment: TaskAssignment, range: OffsetRange, records: readonly InputRecord[], logger: Logger, currentState?: CachedPartition): Promise<ProcessedTask> {
    if (isAggregateTask(assignment)) return this.aggregateStage(assignment, range, records, logger, currentState);
    const { task, settings, job } = assignment;
    const processor = await this.options.processors.resolve(settings.processor, settings.params);
    const run = (input: readonly InputRecord[]): Promise<ProcessingResult> =>
      runProcessor(
        processor,
        input,
        { job, batchId: task.batch, taskId: task.id, topic: range.topic, partition: range.partition, attempt: task.attempt, params: settings.params, config: assignment.config, logger: logger.child({ processor: settings.processor }) },
        settings.poisonRecords,
      );
    let result: { outputs: readonly SinkRecord[]; poison: readonly PoisonRecord[] };
    let partials: Map<StateKey, unknown> | undefined;
    let late: readonly LateRecord[] = [];
    let maxEventTime: number | undefined;
    if (settings.aggregation === undefined) {
      result = await run(records);
    } else {
      const aggregator = await this.aggregators.resolve(settings.aggregation);
      const window = settings.aggregation.window;
      const pre = await preAggregate(aggregator, records, run, settings.poisonRecords, window === undefined ? undefined : mapWindowing(window, assignment.watermark ?? noWatermark));
      result = { outputs: [], poison: pre.poison };
      partials = pre.partials;
      late = pre.late;
      if (window !== undefined && pre.maxEventTime !== noWatermark) maxEventTime = pre.maxEventTime;
    }
    const sends = new Map<string, { topic: string; partition: number; records: OutgoingRecord[] }>();
    const add = (topic: string, partition: number, record: OutgoingRecord): void => {
      const key = `${topic}/${partition}`;
      let entry = sends.get(key);
      if (entry === undefined) {
        entry = { topic, partition, records: [] };
        sends.set(key, entry);
      }
      entry.records.push(record);
    };
    if (result.outputs.length > 0) {
      const partitions = await this.partitionsOf(settings.sinkTopic, 'spec.sink.kafka.topic');
      // One lookup per sink partition, not one key string per record.
      const bySinkPartition: OutgoingRecord[][] = [];
      for (const output of result.outputs) {
        const sinkAt = sinkPartition(output.key, range.partition, partitions);
        let records = bySinkPartition[sinkAt];
        if (records === undefined) {
          records = [];
          bySinkPartition[sinkAt] = records;
          sends.set(`${settings.sinkTopic}/${sinkAt}`, { topic: settings.sinkTopic, partition: sinkAt, records });
        }
        records.push(outgoing(output));
      }
    }
    // With an aggregation, what this stage writes goes to the job's own repartition topic (once
    // per task, see processRanges), not to the sink.
    const written = result.outputs.length;
    let skipped = 0;
    let deadLettered = 0;
    if (result.poison.length > 0) {
      const offsets = result.poison.slice(0, 100).map((p) => p.record.offset);
      const firstError = result.poison[0]?.error;
      if (settings.poisonRecords === 'deadLetter' && settings.deadLetterTopic !== undefined) {
        const partitions = await this.partitionsOf(settings.deadLetterTopic, 'spec.failurePolicy.deadLetterTopic');
        for (const poison of result.poison) add(settings.deadLetterTopic, sinkPartition(poison.record.key, range.partition, partitions), deadLetterRecord(poison, job, task));
        deadLettered = result.poison.length;
        logger.warn({ deadLetterTopic: settings.deadLetterTopic, count: deadLettered, offsets, firstError }, 'poison records sent to the dead-letter topic');
      } else {
        skipped = result.poison.length;
        logger.warn({ count: skipped, offsets, firstError }, 'poison records skipped (failurePolicy.poisonRecords: skip)');
      }
    }
    let lateDropped = 0;
    let lateDeadLettered = 0;
    if (late.length > 0) {
      const times = late.map((l) => l.eventTime);
      const lateSpan = { count: late.length, earliest: isoTime(Math.min(...times)), latest: isoTime(Math.max(...times)), watermark: isoTime(assignment.watermark ?? noWatermark) };
      if (settings.aggregation?.window?.lateRecords === 'deadLetter' && settings.deadLetterTopic !== undefined) {
        const partitions = await this.partitionsOf(settings.deadLetterTopic, 'spec.failurePolicy.deadLetterTopic');
        for (const l of late) {
          if (l.record === undefined) continue;
          const windows = l.windows.map((w) => `${isoTime(w.start)}/${isoTime(w.end)}`).join(', ');
          add(settings.deadLetterTopic, sinkPartition(l.record.key, range.partition, partitions), deadLetterRecord({ record: l.record, error: `late: event time ${isoTime(l.eventTime)} is behind the watermark ${lateSpan.watermark}, which closed window ${windows}` }, job, task));
          lateDeadLettered++;
        }
        logger.warn({ ...lateSpan, deadLetterTopic: settings.deadLetterTopic }, 'late records sent to the dead-letter topic (aggregation.window.lateRecords: deadLetter)');
      } else {
        lateDropped = late.length;
        logger.warn(lateSpan, 'late records left out of the windows the watermark closed (aggregation.window.lateRecords: drop)');
      }
    }
    return { sends, written, skipped, deadLettered, lateDropped, lateDeadLettered, ...(maxEventTime === undefined ? {} : { maxEventTime }), ...(partials === undefined ? {} : { partials }) };
  }

  private async runAtLeastOnce(assignment: TaskAssignment): Promise<TaskResult> {
    const { task } = assignment;
    const logger = this.logger.child({ task: task.id, attempt: task.attempt });
    const { processed, read } = await this.processRanges(assignment, new Map(), logger);
    const producer = await this.idempotentProducer();
    for (const { topic, partition, records: out } of processed.sends.values()) {
      for (const chunk of chunkRecords(out)) await producer.send(topic, partition, chunk);
    }
    this.report(processed);
    return { kind: 'processed', read, written: processed.written, skipped: processed.skipped, deadLettered: processed.deadLettered };
  }

  private report(processed: { written: number; skipped: number; deadLettered: number; lateDropped?: number; lateDeadLettered?: number }): void {
    if ((processed.lateDropped ?? 0) > 0) this.observer.lateRecords?.('dropped', processed.lateDropped ?? 0);
    if ((processed.lateDeadLettered ?? 0) > 0) this.observer.lateRecords?.('dead-lettered', processed.lateDeadLettered ?? 0);
    this.observer.recordsWritten?.(processed.written);
    if (processed.skipped > 0) this.observer.poisonRecords?.('skipped', processed.skipped);
    if (processed.deadLettered > 0) this.observer.poisonRecords?.('dead-lettered', processed.deadLettered);
  }

  /** The job's committed group offset (the next offset to read) of each of the task's ranges; -1: none. */
  private async committedPositions(group: string, ranges: readonly OffsetRange[]): Promise<Map<string, number>> {
    const positions = new Map<string, number>();
    for (const topic of new Set(ranges.map((r) => r.topic))) {
      const committed = await this.admin((admin) => admin.committedOffsets(group, topic));
      for (const r of ranges) if (r.topic === topic) positions.set(rangeKey(r), committed.get(r.partition) ?? -1);
    }
    return positions;
  }

  private async runExactlyOnce(assignment: TaskAssignment, id: string, queued: number): Promise<TaskResult> {
    const { task, job } = assignment;
    const { ranges } = task;
    const group = consumerGroupId(job);
    const logger = this.logger.child({ task: task.id, attempt: task.attempt, transactionalId: id });
    const timeline = new TakeoverTimeline(this.clock, assignment.receivedAt ?? queued, queued);
    // A windowed aggregate task also closes the windows its batch's watermark passed, range or
    // not. That is idempotent through the state it restores (a closed window's state is gone), so
    // it runs even when its range was committed, and an empty range is a task too.
    const closesWindows = isAggregateTask(assignment) && assignment.settings.aggregation?.window !== undefined;
    const allCommitted = (done: ReadonlyMap<string, number>): boolean => ranges.every((r) => (done.get(rangeKey(r)) ?? -1) >= Number(r.to));
    /** Reported for a task found committed: the least committed position among its ranges. */
    const least = (done: ReadonlyMap<string, number>): number => Math.min(...ranges.map((r) => done.get(rangeKey(r)) ?? -1));
    for (let restart = 0; ; restart++) {
      const reopening = task.attempt > 1 || restart > 0;
      if (reopening) {
        // Re-opening fences whoever holds the id — maybe the live owner of a task this attempt
        // lost while it was paused. So first make sure the task is still ours and the ranges not
        // committed yet; only then take the id over.
        // Both reads at once: nothing is written before both answered.
        const [held, committed] = await Promise.all([assignment.stillHeld(), this.committedPositions(group, ranges)]);
        if (!held) throw new StreamkeeperError('SK_TASK_STALE', `task ${task.id} is no longer held by ${task.owner} attempt ${task.attempt}; not re-opening transactional id ${id}`);
        timeline.lap('checkMs');
        if (allCommitted(committed) && !closesWindows) {
          logger.info({ committed: least(committed) }, 'the task\'s ranges were committed by an earlier attempt; completing the task without processing it again');
          return { kind: 'already-committed', committed: least(committed), ...(await this.committedEventTime(assignment, logger)) };
        }
      }
      // A retry (or a restart after being fenced) opens anew: that fences whoever held the id
      // and settles their transaction, so the group offsets read next are final.
      const producer = await this.producers.acquire(id, reopening);
      timeline.lap('producerMs');
      let last = this.lastCommits.get(id);
      if (last !== undefined && last.producer !== producer) {
        this.lastCommits.delete(id);
        last = undefined;
      }
      // This producer made the id's last commit and is still the one kept: what it committed is
      // what Kafka holds (lastCommits), so the offsets need no request. Should anyone have opened
      // the id since, this attempt's commit is fenced and it starts over, reading them.
      const known = last?.positions;
      const done = known !== undefined && ranges.every((r) => known.has(rangeKey(r))) ? new Map(ranges.map((r) => [rangeKey(r), known.get(rangeKey(r)) ?? -1])) : await this.committedPositions(group, ranges);
      timeline.lap('offsetsMs');
      for (const r of ranges) done.set(rangeKey(r), Math.max(done.get(rangeKey(r)) ?? -1, this.ownCommits.get(rangeKey(r)) ?? -1));
      if (allCommitted(done) && !closesWindows) {
        logger.info({ committed: least(done) }, 'the task\'s ranges were committed by an earlier attempt; completing the task without processing it again');
        return { kind: 'already-committed', committed: least(done), ...(await this.committedEventTime(assignment, logger)) };
      }
      // Part of a range may be committed already (an earlier attempt of a wider range): skip it.
      const starts = new Map<string, number>();
      for (const r of ranges) {
        const from = Number(r.from);
        const until = Number(r.to);
        const start = Math.min(until, Math.max(from, done.get(rangeKey(r)) ?? -1));
        if (start > from) logger.info({ topic: r.topic, partition: r.partition, from, start, until }, 'offsets before start were committed by an earlier attempt; processing the rest');
        starts.set(rangeKey(r), start);
      }
      const { processed, read, readWaitMs } = await this.processRanges(assignment, starts, logger, last?.state);
      timeline.lap('processMs');
      timeline.laps.readWaitMs = (timeline.laps.readWaitMs ?? 0) + readWaitMs;
      let transaction: KafkaTransaction | undefined;
      try {
        transaction = await producer.begin();
        for (const { topic, partition, records: out } of processed.sends.values()) {
          for (const chunk of chunkRecords(out)) await transaction.send(topic, partition, chunk);
        }
        // Every range's offset advance in the same transaction: the task commits all or nothing.
        await transaction.commitOffsets(group, ...ranges.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.to) })));
        if (!(await assignment.stillHeld())) {
          throw new StreamkeeperError('SK_TASK_STALE', `task ${task.id} is no longer held by ${task.owner} attempt ${task.attempt}; its transaction is aborted`);
        }
        await transaction.commit();
      } catch (err) {
        this.lastCommits.delete(id);
        processed.failed?.(err);
        await this.endFailed(id, transaction, err);
        if (isStreamkeeperError(err, 'SK_KAFKA_FENCED') && restart < maxFencedRestarts) {
          // Expected when the task's partitions ran on another executor since this producer was
          // opened: its producer took the id over. Not a fault.
          logger.info({ err: (err as Error).message }, 'this executor\'s producer for the task\'s transactional id was taken over by a newer one (its partitions\' task ran elsewhere since); opening it again and starting over');
          continue;
        }
        throw err;
      }
      timeline.lap('commitMs');
      for (const r of ranges) this.ownCommits.set(rangeKey(r), Number(r.to));
      processed.committed?.();
      const positions = new Map(last?.positions);
      for (const r of ranges) positions.set(rangeKey(r), Number(r.to));
      this.lastCommits.set(id, { producer, positions, ...(processed.state === undefined ? {} : { state: processed.state }) });
      this.report(processed);
      const stateReport = processed.stateReport?.();
      if (task.attempt > 1 && isAggregateTask(assignment)) {
        // Where a moved state partition's takeover spends its time (restoreMs is part of processMs).
        logger.info({ partition: ranges[0]?.partition, ...timeline.laps, restoreMs: Math.round(stateReport?.restore?.millis ?? 0), restored: stateReport?.restore?.records ?? 0, restarts: restart }, 'aggregate task of a moved state partition committed');
      } else {
        // Where a task's time goes (processMs includes readWaitMs and, for an aggregate task, the restore).
        logger.debug({ ...timeline.laps, restoreMs: Math.round(stateReport?.restore?.millis ?? 0), sent: [...processed.sends.values()].reduce((n, s) => n + s.records.length, 0) }, 'task committed');
      }
      return {
        kind: 'processed',
        read,
        written: processed.written,
        skipped: processed.skipped,
        deadLettered: processed.deadLettered,
        ...(processed.maxEventTime === undefined ? {} : { maxEventTime: processed.maxEventTime }),
        ...(stateReport === undefined ? {} : { stateReport }),
      };
    }
  }

  /**
   * A windowed map task whose ranges an earlier attempt committed must still report the greatest
   * event time of those ranges, or the job's watermark would depend on when the earlier attempt
   * died. The ranges are read and folded again (deterministic, nothing is written).
   */
  private async committedEventTime(assignment: TaskAssignment, logger: Logger): Promise<{ maxEventTime?: number }> {
    const window = assignment.settings.aggregation?.window;
    if (window === undefined || isAggregateTask(assignment)) return {};
    const { task, settings, job } = assignment;
    const processor = await this.options.processors.resolve(settings.processor, settings.params);
    const aggregator = await this.aggregators.resolve(settings.aggregation as NonNullable<typeof settings.aggregation>);
    let maxEventTime = noWatermark;
    for (const range of task.ranges) {
      const records = await this.read(assignment, range, Number(range.from), Number(range.to));
      // Records the committed attempt refused are refused again here; only the event time is kept.
      const run = (input: readonly InputRecord[]): Promise<ProcessingResult> =>
        runProcessor(processor, input, { job, batchId: task.batch, taskId: task.id, topic: range.topic, partition: range.partition, attempt: task.attempt, params: settings.params, config: assignment.config, logger: silentLogger() }, 'skip');
      const pre = await preAggregate(aggregator, records, run, 'skip', mapWindowing(window, assignment.watermark ?? noWatermark));
      maxEventTime = Math.max(maxEventTime, pre.maxEventTime);
    }
    logger.debug({ maxEventTime }, 'the greatest event time of the committed ranges, read again for the watermark');
    return maxEventTime === noWatermark ? {} : { maxEventTime };
  }

  /** Aborts what can be aborted; a producer left unusable is closed so the next use re-opens it. */
  private async endFailed(id: string, transaction: KafkaTransaction | undefined, err: unknown): Promise<void> {
    if (transaction !== undefined && !isStreamkeeperError(err, 'SK_KAFKA_FENCED')) {
      try {
        await transaction.abort();
        if (!isStreamkeeperError(err, 'SK_KAFKA_TRANSACTION_STATE')) return;
      } catch {
        // falls through: the producer's state is unknown
      }
    }
    await this.producers.discard(id);
  }
}
