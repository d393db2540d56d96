/**
 * The narrow Kafka interface the streaming runtime is written against: exactly what exactly-once
 * Kafka→Kafka micro-batches need, nothing more. The kafkajs adapter and the in-memory fake both
 * implement it, and test/contract/kafka holds them to the same behaviour.
 *
 * Offsets are plain numbers (Kafka's int64 fits a JavaScript number up to 2^53, far beyond any
 * real partition). A committed offset is, as everywhere in Kafka, the next offset to read.
 */

export interface RecordHeader {
  readonly key: string;
  readonly value: Buffer;
}

/** A record to produce. The partition is always chosen by the caller: retries must be deterministic. */
export interface OutgoingRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: readonly RecordHeader[];
  /** Create time in milliseconds since the epoch; the producer's clock when omitted. */
  readonly timestamp?: number;
}

export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Headers with equal keys are adjacent, in the order their keys first appeared (see `normaliseHeaders`). */
  readonly headers: readonly RecordHeader[];
  readonly timestamp: number;
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

/**
 * `low` is the first offset still in the log. `high` is the last stable offset: every offset
 * below it belongs to a record, a transaction marker or an aborted record whose fate is decided,
 * so a read_committed range ending at `high` never waits.
 */
export interface PartitionWatermarks {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

export interface SendResult {
  readonly topic: string;
  readonly partition: number;
  /** Offset of the first record of the batch. */
  readonly baseOffset: number;
}

export interface CreateTopicOptions {
  readonly partitions: number;
  /** Defaults to the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  readonly configs?: Readonly<Record<string, string>>;
}

export interface WaitOptions {
  /** Give up with SK_TIMEOUT after this long. */
  readonly timeoutMs?: number;
}

export interface KafkaAdmin {
  /** Creates the topic and waits until every partition has a leader. False when it already existed. */
  createTopic(topic: string, options: CreateTopicOptions): Promise<boolean>;
  /** False when there was no such topic. */
  deleteTopic(topic: string): Promise<boolean>;
  /** Topic names, sorted, without Kafka's internal topics (names starting with `__`). */
  listTopics(): Promise<string[]>;
  /** Grows the topic to `totalPartitions` partitions and waits for their leaders. */
  addPartitions(topic: string, totalPartitions: number): Promise<void>;
  /** Low and high (last stable) offsets of every partition, ordered by partition. */
  topicOffsets(topic: string): Promise<PartitionWatermarks[]>;
  /**
   * The group's committed offset per partition of `topic`; partitions without one are absent.
   *
   * A transaction's offsets become visible here shortly after its `commit()` returns (the broker
   * writes the transaction markers after answering). To learn for sure whether an earlier attempt
   * committed, first open a TransactionalProducer with that attempt's transactional id: opening
   * it completes or aborts whatever the earlier producer left pending, after which this answer is
   * final.
   */
  committedOffsets(groupId: string, topic: string): Promise<ReadonlyMap<number, number>>;
  /** Resolves once every partition of the topic has a leader that answers. */
  waitForLeaders(topic: string, options?: WaitOptions): Promise<void>;
}

/** At-least-once, idempotent: a retried send is not duplicated by the broker. */
export interface RecordProducer {
  send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult>;
  close(): Promise<void>;
}

/**
 * One Kafka transaction. Its records and group offsets become visible together on `commit()`,
 * or never. After `send` or `commitOffsets` fails the transaction can only be aborted. After
 * `commit` or `abort` fails, or after SK_KAFKA_FENCED, the producer is unusable: close it and
 * open a new one with the same transactional id, which settles the interrupted transaction.
 */
export interface KafkaTransaction {
  send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult>;
  /** Commits `offset` (the next offset to read) for `groupId` as part of this transaction. */
  commitOffsets(groupId: string, ...offsets: TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A producer owning one transactional id. Opening it fences every earlier producer with the same
 * id: their pending transaction is aborted and any later operation of theirs fails with
 * SK_KAFKA_FENCED.
 */
export interface TransactionalProducer {
  readonly transactionalId: string;
  /** One transaction at a time; beginning a second before the first ended is SK_KAFKA_TRANSACTION_STATE. */
  begin(): Promise<KafkaTransaction>;
  close(): Promise<void>;
}

export interface TransactionalProducerOptions {
  /** The broker aborts (and fences) a transaction left open longer than this. */
  readonly transactionTimeoutMs?: number;
  /**
   * false: a transaction's `send` resolves once the client has taken its records, with
   * `baseOffset` -1, instead of once the brokers acknowledged them with their offsets. Their
   * delivery is proven by `commit()`, which fails if any of them was not written. For writers that
   * need no offsets: it spares librdkafka a delivery report per record. Default true.
   */
  readonly sendOffsets?: boolean;
}

/**
 * Reads exact offset ranges with read_committed isolation. Ranges may be read in any order,
 * repeatedly and concurrently; a repeated read returns the same records.
 */
export interface RangeReader {
  /**
   * Exactly the committed records with `fromOffset <= offset < untilOffset`: none skipped, none
   * twice. Transaction markers and aborted records occupy offsets but are never returned, so the
   * result may hold fewer than `untilOffset - fromOffset` records. Waits while part of the range
   * is not yet decided (beyond the last stable offset) and fails with SK_TIMEOUT after
   * `timeoutMs`. A start beyond the end of the log is SK_KAFKA_OFFSET_OUT_OF_RANGE.
   */
  readRange(topic: string, partition: number, fromOffset: number, untilOffset: number, options?: WaitOptions): Promise<ConsumedRecord[]>;
  close(): Promise<void>;
}

export interface KafkaClient {
  readonly admin: KafkaAdmin;
  producer(): Promise<RecordProducer>;
  transactionalProducer(transactionalId: string, options?: TransactionalProducerOptions): Promise<TransactionalProducer>;
  rangeReader(): Promise<RangeReader>;
  /** Closes the admin connection and every producer and reader this client opened. */
  close(): Promise<void>;
}

export const defaultReadTimeoutMs = 30_000;
export const defaultLeaderWaitMs = 30_000;
export const defaultTransactionTimeoutMs = 60_000;

/**
 * Kafka keeps headers as a list in which keys may repeat; kafkajs carries them as an object of
 * key → value(s), so a round trip groups equal keys together in first-appearance order. Both
 * implementations apply this on send so they return identical headers.
 */
export function normaliseHeaders(headers: readonly RecordHeader[] | undefined): RecordHeader[] {
  if (headers === undefined || headers.length === 0) return [];
  const byKey = new Map<string, Buffer[]>();
  for (const { key, value } of headers) {
    const values = byKey.get(key);
    if (values === undefined) byKey.set(key, [value]);
    else values.push(value);
  }
  return [...byKey].flatMap(([key, values]) => values.map((value) => ({ key, value })));
}
