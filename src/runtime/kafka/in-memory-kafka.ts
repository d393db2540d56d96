/**
 * An in-memory Kafka cluster behind the KafkaClient interface, for fast unit tests of the runtime.
 * It models what exactly-once depends on — offsets taken by transaction markers, read_committed
 * visibility (the last stable offset), fencing by transactional id, transactional group offsets —
 * and the contract suite in test/contract/kafka keeps it honest against a real broker.
 *
 * Not modelled: replication, retention (the low watermark stays 0), compaction, and the broker
 * aborting a transaction left open past its timeout.
 */
import { StreamkeeperError } from '../../errors/index.js';
import {
  defaultReadTimeoutMs,
  normaliseHeaders,
  type ConsumedRecord,
  type CreateTopicOptions,
  type KafkaAdmin,
  type KafkaClient,
  type KafkaTransaction,
  type OutgoingRecord,
  type PartitionWatermarks,
  type RangeReader,
  type RecordHeader,
  type RecordProducer,
  type SendResult,
  type TopicPartitionOffset,
  type TransactionalProducer,
  type TransactionalProducerOptions,
  type WaitOptions,
} from './kafka-client.js';
import { checkGroupOffsets, checkPartitionCount, checkRange, checkSend, checkTimeout, checkTopicName, checkTransactionTimeout } from './request-checks.js';
import { TransactionLifecycle } from './transaction-lifecycle.js';

/** Operations a test can make fail once with `failNext`. */
export type FaultPoint =
  | 'producer.send'
  | 'transaction.send'
  | 'transaction.commitOffsets'
  | 'transaction.commit'
  | 'transaction.abort'
  | 'readRange'
  | 'topicOffsets'
  | 'committedOffsets';

export interface InjectedFault {
  /** Defaults to a transient SK_KAFKA_ERROR. */
  readonly error?: Error;
  /** The operation takes effect and then fails — a reply lost on the way back (e.g. a commit that did commit). */
  readonly afterApplying?: boolean;
}

export interface InMemoryKafkaOptions {
  /** Timestamp for records produced without one. */
  readonly now?: () => number;
}

/** The broker's upper bound (transaction.max.timeout.ms default). */
const maxTransactionTimeoutMs = 900_000;

interface TransactionOnPartition {
  state: 'open' | 'committed' | 'aborted';
  readonly firstOffset: number;
}

interface StoredRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
}

type LogEntry = { readonly kind: 'record'; readonly record: StoredRecord; readonly transaction?: TransactionOnPartition } | { readonly kind: 'marker' };

class PartitionLog {
  readonly entries: LogEntry[] = [];
  readonly open = new Set<TransactionOnPartition>();

  get highWatermark(): number {
    return this.entries.length;
  }

  /** Everything below it is decided: the first offset of the oldest open transaction, else the end. */
  get lastStableOffset(): number {
    let stable = this.highWatermark;
    for (const t of this.open) stable = Math.min(stable, t.firstOffset);
    return stable;
  }
}

/** What one transaction has touched, as its coordinator knows it. */
interface OpenTransaction {
  readonly partitions: Map<PartitionLog, TransactionOnPartition>;
  /** group → topic → partition → offset, applied on commit. */
  readonly offsets: Map<string, Map<string, Map<number, number>>>;
}

function newOpenTransaction(): OpenTransaction {
  return { partitions: new Map(), offsets: new Map() };
}

interface TransactionalIdState {
  epoch: number;
  open: OpenTransaction | undefined;
}

function fault(error: Error | undefined, point: FaultPoint): Error {
  return error ?? new StreamkeeperError('SK_KAFKA_ERROR', `injected failure of ${point}`);
}

function unknownTopic(topic: string, partition?: number): StreamkeeperError {
  return new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', partition === undefined ? `topic ${topic} does not exist` : `topic ${topic} has no partition ${partition}`);
}

function closedError(what: string): StreamkeeperError {
  return new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', `the ${what} is closed`);
}

export class InMemoryKafka {
  private readonly topics = new Map<string, PartitionLog[]>();
  /** group → topic → partition → committed offset */
  private readonly groups = new Map<string, Map<string, Map<number, number>>>();
  private readonly transactionalIds = new Map<string, TransactionalIdState>();
  private readonly faults = new Map<FaultPoint, InjectedFault[]>();
  private readonly waiters = new Set<() => void>();
  readonly now: () => number;

  constructor(options: InMemoryKafkaOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** A client of this cluster; several clients see the same topics, groups and transactional ids. */
  client(): KafkaClient {
    return new InMemoryKafkaClient(this);
  }

  /** Makes the next `point` operation fail (faults queue up per point). */
  failNext(point: FaultPoint, injected: InjectedFault = {}): void {
    const queue = this.faults.get(point) ?? [];
    queue.push(injected);
    this.faults.set(point, queue);
  }

  /** Runs `apply` under any fault injected for `point`. */
  async faultable<T>(point: FaultPoint, apply: () => T | Promise<T>): Promise<T> {
    const injected = this.faults.get(point)?.shift();
    if (injected === undefined) return apply();
    if (injected.afterApplying !== true) throw fault(injected.error, point);
    await apply();
    throw fault(injected.error, point);
  }

  /** Every committed record of a partition, as a read_committed reader of the whole log would see it. */
  visibleRecords(topic: string, partition: number): ConsumedRecord[] {
    const log = this.log(topic, partition);
    return this.collect(topic, partition, log, 0, log.lastStableOffset);
  }

  /** Transactional ids whose producer has a transaction open, sorted. */
  openTransactions(): string[] {
    return [...this.transactionalIds].filter(([, s]) => s.open !== undefined).map(([id]) => id).sort();
  }

  // ---- admin ----

  createTopic(topic: string, partitions: number): boolean {
    if (this.topics.has(topic)) return false;
    this.topics.set(topic, Array.from({ length: partitions }, () => new PartitionLog()));
    return true;
  }

  deleteTopic(topic: string): boolean {
    const existed = this.topics.delete(topic);
    for (const byTopic of this.groups.values()) byTopic.delete(topic);
    this.wake();
    return existed;
  }

  listTopics(): string[] {
    return [...this.topics.keys()].sort();
  }

  addPartitions(topic: string, total: number): void {
    const logs = this.partitions(topic);
    if (total <= logs.length) throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', `topic ${topic} already has ${logs.length} partitions; it can only grow`);
    while (logs.length < total) logs.push(new PartitionLog());
    this.wake();
  }

  topicOffsets(topic: string): PartitionWatermarks[] {
    return this.partitions(topic).map((log, partition) => ({ partition, low: 0, high: log.lastStableOffset }));
  }

  committedOffsets(groupId: string, topic: string): Map<number, number> {
    this.partitions(topic);
    return new Map(this.groups.get(groupId)?.get(topic));
  }

  hasTopic(topic: string): boolean {
    return this.topics.has(topic);
  }

  // ---- producing ----

  append(topic: string, partition: number, records: readonly OutgoingRecord[], transaction?: TransactionOnPartition): number {
    const log = this.log(topic, partition);
    const baseOffset = log.highWatermark;
    for (const r of records) {
      const record: StoredRecord = { key: r.key, value: r.value, headers: normaliseHeaders(r.headers), timestamp: r.timestamp ?? this.now() };
      log.entries.push(transaction === undefined ? { kind: 'record', record } : { kind: 'record', record, transaction });
    }
    this.wake();
    return baseOffset;
  }

  /** Registers a producer for `transactionalId`: aborts what an earlier one left open and fences it. */
  initTransactionalId(transactionalId: string): number {
    const state = this.transactionalIds.get(transactionalId) ?? { epoch: -1, open: undefined };
    if (state.open !== undefined) this.endTransaction(state, false);
    state.epoch += 1;
    this.transactionalIds.set(transactionalId, state);
    return state.epoch;
  }

  /** The coordinator's state for a producer holding `epoch`; SK_KAFKA_FENCED when a newer one took over. */
  coordinator(transactionalId: string, epoch: number): TransactionalIdState {
    const state = this.transactionalIds.get(transactionalId);
    if (state?.epoch !== epoch) {
      throw new StreamkeeperError('SK_KAFKA_FENCED', `transactional id ${transactionalId} was taken over by a newer producer`);
    }
    return state;
  }

  transactionalSend(state: TransactionalIdState, topic: string, partition: number, records: readonly OutgoingRecord[]): number {
    const log = this.log(topic, partition);
    const open = (state.open ??= newOpenTransaction());
    let onPartition = open.partitions.get(log);
    if (onPartition === undefined) {
      onPartition = { state: 'open', firstOffset: log.highWatermark };
      open.partitions.set(log, onPartition);
      log.open.add(onPartition);
    }
    return this.append(topic, partition, records, onPartition);
  }

  transactionalOffsets(state: TransactionalIdState, groupId: string, offsets: readonly TopicPartitionOffset[]): void {
    for (const { topic, partition } of offsets) this.log(topic, partition);
    const open = (state.open ??= newOpenTransaction());
    const byTopic = open.offsets.get(groupId) ?? new Map<string, Map<number, number>>();
    for (const { topic, partition, offset } of offsets) {
      const byPartition = byTopic.get(topic) ?? new Map<number, number>();
      byPartition.set(partition, offset);
      byTopic.set(topic, byPartition);
    }
    open.offsets.set(groupId, byTopic);
  }

  /** Writes a commit or abort marker to every partition the transaction touched and applies or drops its offsets. */
  endTransaction(state: TransactionalIdState, commit: boolean): void {
    const { open } = state;
    if (open === undefined) return;
    state.open = undefined;
    for (const [log, onPartition] of open.partitions) {
      onPartition.state = commit ? 'committed' : 'aborted';
      log.open.delete(onPartition);
      log.entries.push({ kind: 'marker' });
    }
    if (commit) {
      for (const [groupId, byTopic] of open.offsets) {
        const group = this.groups.get(groupId) ?? new Map<string, Map<number, number>>();
        for (const [topic, byPartition] of byTopic) {
          if (!this.topics.has(topic)) continue;
          const committed = group.get(topic) ?? new Map<number, number>();
          for (const [partition, offset] of byPartition) committed.set(partition, offset);
          group.set(topic, committed);
        }
        this.groups.set(groupId, group);
      }
    }
    this.wake();
  }

  // ---- reading ----

  async readRange(topic: string, partition: number, from: number, until: number, timeoutMs: number): Promise<ConsumedRecord[]> {
    if (from === until) return [];
    const log = this.log(topic, partition);
    if (from > log.highWatermark) {
      throw new StreamkeeperError('SK_KAFKA_OFFSET_OUT_OF_RANGE', `${topic}/${partition} has offsets up to ${log.highWatermark}; ${from} is beyond its end`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = this.log(topic, partition); // the topic may have been deleted meanwhile
      if (current.lastStableOffset >= until) return this.collect(topic, partition, current, from, until);
      const remaining = deadline - Date.now();
      if (remaining <= 0 || !(await this.changeWithin(remaining))) {
        throw new StreamkeeperError('SK_TIMEOUT', `reading ${topic}/${partition} [${from}, ${until}): offsets from ${current.lastStableOffset} were not readable within ${timeoutMs} ms (not yet written, or in a transaction still open)`);
      }
    }
  }

  private collect(topic: string, partition: number, log: PartitionLog, from: number, until: number): ConsumedRecord[] {
    const records: ConsumedRecord[] = [];
    for (let offset = from; offset < until; offset++) {
      const entry = log.entries[offset];
      if (entry?.kind !== 'record' || (entry.transaction !== undefined && entry.transaction.state !== 'committed')) continue;
      const { key, value, headers, timestamp } = entry.record;
      records.push({ topic, partition, offset, key, value, headers: [...headers], timestamp });
    }
    return records;
  }

  /** Resolves true at the next change of any log, false when `ms` pass first. */
  private changeWithin(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, ms);
      this.waiters.add(wake);
    });
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private partitions(topic: string): PartitionLog[] {
    const logs = this.topics.get(topic);
    if (logs === undefined) throw unknownTopic(topic);
    return logs;
  }

  private log(topic: string, partition: number): PartitionLog {
    const log = this.partitions(topic)[partition];
    if (log === undefined) throw unknownTopic(topic, partition);
    return log;
  }
}

class InMemoryAdmin implements KafkaAdmin {
  constructor(
    private readonly kafka: InMemoryKafka,
    private readonly ensureOpen: () => void,
  ) {}

  async createTopic(topic: string, options: CreateTopicOptions): Promise<boolean> {
    this.ensureOpen();
    checkTopicName(topic);
    checkPartitionCount(options.partitions);
    return Promise.resolve(this.kafka.createTopic(topic, options.partitions));
  }

  async deleteTopic(topic: string): Promise<boolean> {
    this.ensureOpen();
    checkTopicName(topic);
    return Promise.resolve(this.kafka.deleteTopic(topic));
  }

  async listTopics(): Promise<string[]> {
    this.ensureOpen();
    return Promise.resolve(this.kafka.listTopics());
  }

  async addPartitions(topic: string, totalPartitions: number): Promise<void> {
    this.ensureOpen();
    checkTopicName(topic);
    checkPartitionCount(totalPartitions);
    this.kafka.addPartitions(topic, totalPartitions);
    return Promise.resolve();
  }

  async topicOffsets(topic: string): Promise<PartitionWatermarks[]> {
    this.ensureOpen();
    checkTopicName(topic);
    return this.kafka.faultable('topicOffsets', () => this.kafka.topicOffsets(topic));
  }

  async committedOffsets(groupId: string, topic: string): Promise<ReadonlyMap<number, number>> {
    this.ensureOpen();
    checkTopicName(topic);
    if (groupId === '') throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'consumer group id must not be empty');
    return this.kafka.faultable('committedOffsets', () => this.kafka.committedOffsets(groupId, topic));
  }

  async waitForLeaders(topic: string, options: WaitOptions = {}): Promise<void> {
    this.ensureOpen();
    checkTopicName(topic);
    if (options.timeoutMs !== undefined) checkTimeout(options.timeoutMs);
    if (!this.kafka.hasTopic(topic)) throw unknownTopic(topic);
    return Promise.resolve();
  }
}

class InMemoryRecordProducer implements RecordProducer {
  private closed = false;

  constructor(private readonly kafka: InMemoryKafka) {}

  async send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
    if (this.closed) throw closedError('producer');
    checkSend(topic, partition, records);
    const baseOffset = await this.kafka.faultable('producer.send', () => this.kafka.append(topic, partition, records));
    return { topic, partition, baseOffset };
  }

  async close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

class InMemoryTransaction implements KafkaTransaction {
  /** Like kafkajs, a transaction that never reached the coordinator ends without asking it. */
  private touched = false;

  constructor(
    private readonly producer: InMemoryTransactionalProducer,
    private readonly sequence: number,
  ) {}

  async send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
    checkSend(topic, partition, records);
    const { kafka } = this.producer;
    return this.producer.lifecycle.run(this.sequence, 'send', () =>
      kafka.faultable('transaction.send', () => {
        const baseOffset = kafka.transactionalSend(this.producer.coordinatorState(), topic, partition, records);
        this.touched = true;
        return { topic, partition, baseOffset: this.producer.sendOffsets ? baseOffset : -1 };
      }),
    );
  }

  async commitOffsets(groupId: string, ...offsets: TopicPartitionOffset[]): Promise<void> {
    checkGroupOffsets(groupId, offsets);
    const { kafka } = this.producer;
    return this.producer.lifecycle.run(this.sequence, 'commitOffsets', () =>
      kafka.faultable('transaction.commitOffsets', () => {
        const state = this.producer.coordinatorState();
        this.touched = true;
        kafka.transactionalOffsets(state, groupId, offsets);
      }),
    );
  }

  async commit(): Promise<void> {
    return this.end(true);
  }

  async abort(): Promise<void> {
    return this.end(false);
  }

  private async end(commit: boolean): Promise<void> {
    const { kafka } = this.producer;
    return this.producer.lifecycle.run(this.sequence, commit ? 'commit' : 'abort', () =>
      kafka.faultable(commit ? 'transaction.commit' : 'transaction.abort', () => {
        if (this.touched) kafka.endTransaction(this.producer.coordinatorState(), commit);
      }),
    );
  }
}

class InMemoryTransactionalProducer implements TransactionalProducer {
  readonly lifecycle: TransactionLifecycle;
  private readonly epoch: number;

  constructor(
    readonly kafka: InMemoryKafka,
    readonly transactionalId: string,
    readonly sendOffsets: boolean,
  ) {
    this.lifecycle = new TransactionLifecycle(transactionalId);
    this.epoch = kafka.initTransactionalId(transactionalId);
  }

  coordinatorState(): TransactionalIdState {
    return this.kafka.coordinator(this.transactionalId, this.epoch);
  }

  async begin(): Promise<KafkaTransaction> {
    return Promise.resolve(new InMemoryTransaction(this, this.lifecycle.begin()));
  }

  async close(): Promise<void> {
    this.lifecycle.close();
    return Promise.resolve();
  }
}

class InMemoryRangeReader implements RangeReader {
  private closed = false;

  constructor(private readonly kafka: InMemoryKafka) {}

  async readRange(topic: string, partition: number, fromOffset: number, untilOffset: number, options: WaitOptions = {}): Promise<ConsumedRecord[]> {
    checkRange(topic, partition, fromOffset, untilOffset);
    const timeoutMs = options.timeoutMs ?? defaultReadTimeoutMs;
    checkTimeout(timeoutMs);
    if (this.closed) throw closedError('range reader');
    return this.kafka.faultable('readRange', () => this.kafka.readRange(topic, partition, fromOffset, untilOffset, timeoutMs));
  }

  async close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

class InMemoryKafkaClient implements KafkaClient {
  readonly admin: KafkaAdmin;
  private readonly open = new Set<{ close(): Promise<void> }>();
  private closed = false;

  constructor(private readonly kafka: InMemoryKafka) {
    this.admin = new InMemoryAdmin(kafka, () => {
      this.ensureOpen();
    });
  }

  private ensureOpen(): void {
    if (this.closed) throw closedError('Kafka client');
  }

  private track<T extends { close(): Promise<void> }>(resource: T): T {
    this.open.add(resource);
    return resource;
  }

  async producer(): Promise<RecordProducer> {
    this.ensureOpen();
    return Promise.resolve(this.track(new InMemoryRecordProducer(this.kafka)));
  }

  async transactionalProducer(transactionalId: string, options: TransactionalProducerOptions = {}): Promise<TransactionalProducer> {
    this.ensureOpen();
    if (transactionalId === '') throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'transactional id must not be empty');
    const timeoutMs = options.transactionTimeoutMs;
    checkTransactionTimeout(timeoutMs);
    if (timeoutMs !== undefined && timeoutMs > maxTransactionTimeoutMs) {
      throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', `transaction timeout ${timeoutMs} ms is above the broker's maximum of ${maxTransactionTimeoutMs} ms`);
    }
    return Promise.resolve(this.track(new InMemoryTransactionalProducer(this.kafka, transactionalId, options.sendOffsets !== false)));
  }

  async rangeReader(): Promise<RangeReader> {
    this.ensureOpen();
    return Promise.resolve(this.track(new InMemoryRangeReader(this.kafka)));
  }

  async close(): Promise<void> {
    this.closed = true;
    const resources = [...this.open];
    this.open.clear();
    await Promise.all(resources.map((r) => r.close()));
  }
}
