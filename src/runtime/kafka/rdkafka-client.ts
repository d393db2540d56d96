/**
 * The KafkaClient on librdkafka through @confluentinc/kafka-javascript: the default, chosen by
 * measurement (docs/compatibility.md). librdkafka does natively what the kafkajs adapter builds by
 * hand — read_committed range reads by assign + fetch, transactions, fencing — and does the
 * protocol work on its own threads, off the JavaScript heap. Admin calls use librdkafka's admin
 * client too (last stable offsets are ListOffsets with read_committed), so a pod on this adapter
 * loads no kafkajs at all.
 *
 * The package is built by tools/kafka-client/install.sh (npm's postinstall) for the Node ABI that
 * runs it; it is loaded on first use, so nothing else needs it.
 */
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Rdkafka from '@confluentinc/kafka-javascript';
import { StreamkeeperError, type ErrorCode } from '../../errors/index.js';
import { silentLogger, type Logger } from '../../logging/logger.js';
import { checkConnectionSettings, describeConnection, type KafkaConnectionSettings } from './connection-settings.js';
import {
  defaultReadTimeoutMs,
  defaultTransactionTimeoutMs,
  normaliseHeaders,
  type ConsumedRecord,
  defaultLeaderWaitMs,
  type CreateTopicOptions,
  type KafkaAdmin,
  type KafkaClient,
  type PartitionWatermarks,
  type KafkaTransaction,
  type OutgoingRecord,
  type RangeReader,
  type RecordHeader,
  type RecordProducer,
  type SendResult,
  type TopicPartitionOffset,
  type TransactionalProducer,
  type TransactionalProducerOptions,
  type WaitOptions,
} from './kafka-client.js';
import { ClientResources, closedClient } from './client-resources.js';
import { checkGroupOffsets, checkPartitionCount, checkRange, checkSend, checkTimeout, checkTopicName, checkTransactionTimeout } from './request-checks.js';
import { TransactionLifecycle } from './transaction-lifecycle.js';

type RdkafkaModule = typeof Rdkafka;
type Config = Record<string, string | number | boolean>;

let loaded: RdkafkaModule | undefined;

/** The native client, loaded on first use; a missing build is a clear error, not a stack trace. */
function rdkafka(): RdkafkaModule {
  if (loaded !== undefined) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@confluentinc/kafka-javascript') as RdkafkaModule;
    return loaded;
  } catch (err) {
    throw new StreamkeeperError(
      'SK_KAFKA_UNSUPPORTED',
      `the librdkafka Kafka client is not built for Node.js ${process.version} (ABI ${process.versions.modules}); run tools/kafka-client/install.sh with this node (${(err as Error).message.split('\n')[0] ?? ''})`,
    );
  }
}

/** librdkafka error codes (rd_kafka_resp_err_t) with a meaning of their own. */
const codeByRdkafkaError: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [-144, 'SK_KAFKA_FENCED'], // _FENCED
  [90, 'SK_KAFKA_FENCED'], // PRODUCER_FENCED
  [47, 'SK_KAFKA_FENCED'], // INVALID_PRODUCER_EPOCH
  [49, 'SK_KAFKA_FENCED'], // INVALID_PRODUCER_ID_MAPPING
  [48, 'SK_KAFKA_TRANSACTION_STATE'], // INVALID_TXN_STATE
  [-172, 'SK_KAFKA_TRANSACTION_STATE'], // _STATE
  [3, 'SK_KAFKA_UNKNOWN_TOPIC'], // UNKNOWN_TOPIC_OR_PART
  [100, 'SK_KAFKA_UNKNOWN_TOPIC'], // UNKNOWN_TOPIC_ID
  [-188, 'SK_KAFKA_UNKNOWN_TOPIC'], // _UNKNOWN_TOPIC
  [-190, 'SK_KAFKA_UNKNOWN_TOPIC'], // _UNKNOWN_PARTITION
  [1, 'SK_KAFKA_OFFSET_OUT_OF_RANGE'], // OFFSET_OUT_OF_RANGE
  [-140, 'SK_KAFKA_OFFSET_OUT_OF_RANGE'], // _AUTO_OFFSET_RESET
  [10, 'SK_KAFKA_RECORD_TOO_LARGE'], // MSG_SIZE_TOO_LARGE
  [18, 'SK_KAFKA_RECORD_TOO_LARGE'], // RECORD_LIST_TOO_LARGE
  [-186, 'SK_KAFKA_RECORD_TOO_LARGE'], // _MSG_SIZE_TOO_LARGE
  [29, 'SK_KAFKA_NOT_AUTHORIZED'], // TOPIC_AUTHORIZATION_FAILED
  [30, 'SK_KAFKA_NOT_AUTHORIZED'], // GROUP_AUTHORIZATION_FAILED
  [31, 'SK_KAFKA_NOT_AUTHORIZED'], // CLUSTER_AUTHORIZATION_FAILED
  [53, 'SK_KAFKA_NOT_AUTHORIZED'], // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
  [58, 'SK_KAFKA_AUTHENTICATION_FAILED'], // SASL_AUTHENTICATION_FAILED
  [-169, 'SK_KAFKA_AUTHENTICATION_FAILED'], // _AUTHENTICATION
  [-181, 'SK_KAFKA_AUTHENTICATION_FAILED'], // _SSL: the handshake failed, e.g. a certificate the CA did not sign
  [-185, 'SK_TIMEOUT'], // _TIMED_OUT
  [7, 'SK_TIMEOUT'], // REQUEST_TIMED_OUT
  [37, 'SK_KAFKA_INVALID_REQUEST'], // INVALID_PARTITIONS
  [50, 'SK_KAFKA_INVALID_REQUEST'], // INVALID_TRANSACTION_TIMEOUT
  [35, 'SK_KAFKA_UNSUPPORTED'], // UNSUPPORTED_VERSION
  // No broker answers: what the job's status reports as KafkaUnreachable.
  [-195, 'SK_KAFKA_UNREACHABLE'], // _TRANSPORT
  [-187, 'SK_KAFKA_UNREACHABLE'], // _ALL_BROKERS_DOWN
  [-193, 'SK_KAFKA_UNREACHABLE'], // _RESOLVE
]);

interface RdkafkaErrorShape {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly isFatal?: unknown;
}

/** A StreamkeeperError for what librdkafka reported while doing `what`. */
export function fromRdkafka(err: unknown, what: string): StreamkeeperError {
  if (err instanceof StreamkeeperError) return err;
  const shape = (typeof err === 'object' && err !== null ? err : {}) as RdkafkaErrorShape;
  const message = typeof shape.message === 'string' ? shape.message : String(err);
  let code = typeof shape.code === 'number' ? codeByRdkafkaError.get(shape.code) : undefined;
  // _FATAL: a transactional producer's fatal errors are fencing (a newer epoch took over). Error
  // events carry no code, only librdkafka's message.
  if (code === undefined && (shape.code === -150 || /\bfenced\b/i.test(message))) code = 'SK_KAFKA_FENCED';
  // A failed certificate check arrives as a transport failure; retrying does not fix it.
  if (code === 'SK_KAFKA_UNREACHABLE' && /certificate verify failed|SSL handshake failed/i.test(message)) code = 'SK_KAFKA_AUTHENTICATION_FAILED';
  // Error events (an admin client's above all) carry no code (or -1), only librdkafka's text —
  // "Local: Authentication failure", or just "authentication failure" in an admin client's
  // event — which names neither credentials nor certificates: say what the user has to check.
  if (code === undefined && /^(Local: )?authentication failure$|SASL authentication error/i.test(message)) {
    return new StreamkeeperError('SK_KAFKA_AUTHENTICATION_FAILED', `${what}: authentication failed: the brokers refused the SASL credentials (${message})`, { cause: err });
  }
  if (code === undefined && /^(Local: )?SSL error$/i.test(message)) {
    return new StreamkeeperError('SK_KAFKA_AUTHENTICATION_FAILED', `${what}: the TLS handshake failed: the broker's certificate does not verify against the configured CA, or the listener does not speak TLS (${message})`, { cause: err });
  }
  return new StreamkeeperError(code ?? 'SK_KAFKA_ERROR', `${what}: ${message}`, { cause: err });
}

/** librdkafka's configuration for `settings`. Credentials go to librdkafka only, never to a log line. */
export function rdkafkaConfig(settings: KafkaConnectionSettings): Config {
  const { tls, sasl } = settings;
  const config: Config = {
    'bootstrap.servers': settings.brokers.join(','),
    'client.id': settings.clientId,
    'socket.connection.setup.timeout.ms': settings.connectionTimeoutMs ?? 3000,
    'socket.timeout.ms': settings.requestTimeoutMs ?? 30_000,
    'socket.keepalive.enable': true,
    'allow.auto.create.topics': false,
    // A topic missing from metadata is believed missing after this long (librdkafka waits 30 s).
    'topic.metadata.propagation.max.ms': 2000,
    'security.protocol': tls === undefined ? (sasl === undefined ? 'plaintext' : 'sasl_plaintext') : sasl === undefined ? 'ssl' : 'sasl_ssl',
  };
  if (tls?.ca !== undefined) config['ssl.ca.pem'] = tls.ca;
  if (sasl !== undefined) {
    config['sasl.mechanisms'] = sasl.mechanism.toUpperCase();
    config['sasl.username'] = sasl.username;
    config['sasl.password'] = sasl.password;
  }
  return config;
}

function toRdkafkaHeaders(headers: readonly RecordHeader[] | undefined): Rdkafka.MessageHeader[] | undefined {
  if (headers === undefined || headers.length === 0) return undefined; // the usual record: nothing to allocate
  const normalised = normaliseHeaders(headers);
  return normalised.length === 0 ? undefined : normalised.map(({ key, value }) => ({ [key]: value }));
}

/** Shared by every record read without headers (most), instead of one empty array each. */
const noHeaders: readonly RecordHeader[] = Object.freeze([]);

function fromRdkafkaHeaders(headers: Rdkafka.MessageHeader[] | undefined): readonly RecordHeader[] {
  if (headers === undefined || headers.length === 0) return noHeaders;
  const result: RecordHeader[] = [];
  for (const header of headers) {
    for (const key in header) {
      const value = header[key];
      result.push({ key, value: typeof value === 'string' ? Buffer.from(value) : (value ?? Buffer.alloc(0)) });
    }
  }
  return result;
}

function callback<T = void>(what: string, start: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((err, value) => {
        if (err) reject(fromRdkafka(err, what));
        else resolve(value as T);
      });
    } catch (err) {
      reject(fromRdkafka(err, what));
    }
  });
}

/** Local: Purged in queue / Purged in flight. */
function isPurge(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === -152 || code === -151;
}

const purgeReasonWaitMs = 50;

/** One send's records, settled when the last delivery report arrives. */
interface PendingSend {
  remaining: number;
  baseOffset: number;
  failure: unknown;
  resolve(offset: number): void;
  reject(err: unknown): void;
}

/** Local: Queue full — more records waiting in librdkafka than `queue.buffering.max.*` allow. */
const queueFull = -184;

/**
 * A connected librdkafka producer that turns delivery reports into one promise per send. One
 * opened with `reportsDelivery` false asks librdkafka for reports of failed records only: its
 * sends resolve once their records are queued, without offsets, and a transaction's commit is
 * what proves they were written. A report crosses into JavaScript as an object per record, which
 * costs more main-thread time than producing the record.
 */
class DeliveringProducer {
  /** librdkafka's fatal error (for a transactional producer: fenced), once it has had one. */
  private fatal: Rdkafka.LibrdKafkaError | undefined;

  constructor(
    readonly producer: Rdkafka.Producer,
    private readonly reportsDelivery: boolean,
  ) {
    producer.on('event.error', (err) => {
      if (err.isFatal === true || fromRdkafka(err, 'a producer event').code === 'SK_KAFKA_FENCED') this.fatal ??= err;
    });
    producer.on('delivery-report', (err, report) => {
      const pending = report.opaque as PendingSend | undefined;
      if (pending === undefined) return;
      if (err as Rdkafka.LibrdKafkaError | null) pending.failure ??= err;
      else if (report.offset < pending.baseOffset) pending.baseOffset = report.offset;
      if (--pending.remaining === 0) {
        if (pending.failure === undefined) pending.resolve(pending.baseOffset);
        else if (!isPurge(pending.failure)) pending.reject(pending.failure);
        // After a fatal error librdkafka purges what is queued; the purge is not the reason, and
        // the fatal error event may arrive just after the purged deliveries.
        else setTimeout(() => { pending.reject(this.fatal ?? pending.failure); }, purgeReasonWaitMs);
      }
    });
  }

  static async connect(config: Config, what: string, reportsDelivery = true): Promise<DeliveringProducer> {
    const { Producer } = rdkafka();
    const producer = new Producer({ ...config, dr_cb: true, ...(reportsDelivery ? {} : { 'delivery.report.only.error': true }) });
    await callback(what, (done) => producer.connect({}, (err) => { done(err); }));
    producer.setPollInBackground(true);
    return new DeliveringProducer(producer, reportsDelivery);
  }

  async send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
    checkSend(topic, partition, records);
    const what = `sending ${records.length} record(s) to ${topic}/${partition}`;
    if (!this.reportsDelivery) {
      await this.queue(topic, partition, records, what);
      return { topic, partition, baseOffset: -1 };
    }
    const baseOffset = await new Promise<number>((resolve, reject) => {
      const pending: PendingSend = { remaining: records.length, baseOffset: Number.MAX_SAFE_INTEGER, failure: undefined, resolve, reject };
      let produced = 0;
      try {
        for (const record of records) {
          this.producer.produce(topic, partition, record.value, record.key, record.timestamp ?? 0, pending, toRdkafkaHeaders(record.headers));
          produced++;
        }
      } catch (err) {
        // Records already queued still report; the send fails once they have.
        pending.failure ??= err;
        pending.remaining -= records.length - produced;
        if (pending.remaining === 0) reject(fromRdkafka(err, 'queueing records'));
      }
    }).catch((err: unknown) => {
      throw fromRdkafka(err, what);
    });
    return { topic, partition, baseOffset };
  }

  /** Hands the records to librdkafka; when its queue is full, waits for it to drain once and tries again. */
  private async queue(topic: string, partition: number, records: readonly OutgoingRecord[], what: string): Promise<void> {
    for (const record of records) {
      const produce = (): void => {
        this.producer.produce(topic, partition, record.value, record.key, record.timestamp ?? 0, undefined, toRdkafkaHeaders(record.headers));
      };
      try {
        produce();
      } catch (err) {
        if ((err as { code?: unknown } | null)?.code !== queueFull) throw fromRdkafka(this.fatal ?? err, what);
        await callback(what, (done) => { this.producer.flush(defaultTransactionTimeoutMs, (flushErr) => { done(flushErr); }); });
        try {
          produce();
        } catch (again) {
          throw fromRdkafka(this.fatal ?? again, what);
        }
      }
    }
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      try {
        this.producer.flush(5000, () => this.producer.disconnect(5000, () => { resolve(); }));
      } catch {
        resolve(); // already disconnected
      }
    });
  }
}

const producerConfig: Config = {
  'enable.idempotence': true,
  'acks': -1,
  // Sends are already batched by the caller; lingering only adds latency.
  'linger.ms': 2,
  'queue.buffering.max.messages': 1_000_000,
  'queue.buffering.max.kbytes': 1_048_576,
  'batch.num.messages': 10_000,
  'batch.size': 1_000_000,
};

class RdkafkaRecordProducer implements RecordProducer {
  private closed = false;

  constructor(
    private readonly delivering: DeliveringProducer,
    private readonly onClose: () => void,
  ) {}

  send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
    if (this.closed) return Promise.reject(new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'the producer is closed'));
    return this.delivering.send(topic, partition, records);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    await this.delivering.close();
  }
}

class RdkafkaTransaction implements KafkaTransaction {
  constructor(
    private readonly owner: RdkafkaTransactionalProducer,
    private readonly sequence: number,
  ) {}

  send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
    checkSend(topic, partition, records);
    return this.owner.lifecycle.run(this.sequence, 'send', () => this.owner.delivering.send(topic, partition, records));
  }

  async commitOffsets(groupId: string, ...offsets: TopicPartitionOffset[]): Promise<void> {
    checkGroupOffsets(groupId, offsets);
    return this.owner.lifecycle.run(this.sequence, 'commitOffsets', async () => {
      const group = await this.owner.groupHandle(groupId);
      await callback(`committing offsets of group ${groupId} (transactional id ${this.owner.transactionalId})`, (done) =>
        { this.owner.delivering.producer.sendOffsetsToTransaction(
          offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })),
          group,
          this.owner.requestTimeoutMs,
          (err) => { done(err); },
        ); },
      );
    });
  }

  commit(): Promise<void> {
    return this.owner.lifecycle.run(this.sequence, 'commit', () =>
      callback(`committing the transaction (transactional id ${this.owner.transactionalId})`, (done) => { this.owner.delivering.producer.commitTransaction(this.owner.requestTimeoutMs, (err) => { done(err); }); }),
    );
  }

  abort(): Promise<void> {
    return this.owner.lifecycle.run(this.sequence, 'abort', () =>
      callback(`aborting the transaction (transactional id ${this.owner.transactionalId})`, (done) => { this.owner.delivering.producer.abortTransaction(this.owner.requestTimeoutMs, (err) => { done(err); }); }),
    );
  }
}

class RdkafkaTransactionalProducer implements TransactionalProducer {
  readonly lifecycle: TransactionLifecycle;
  /**
   * librdkafka commits offsets in a transaction on behalf of a consumer's group metadata; a
   * consumer handle per group supplies it. It never subscribes, so it never joins the group.
   */
  private readonly groups = new Map<string, Promise<Rdkafka.KafkaConsumer>>();

  constructor(
    readonly transactionalId: string,
    readonly delivering: DeliveringProducer,
    private readonly config: Config,
    readonly requestTimeoutMs: number,
    private readonly onClose: () => void,
  ) {
    this.lifecycle = new TransactionLifecycle(transactionalId);
  }

  groupHandle(groupId: string): Promise<Rdkafka.KafkaConsumer> {
    let handle = this.groups.get(groupId);
    if (handle === undefined) {
      const { KafkaConsumer } = rdkafka();
      const consumer = new KafkaConsumer({ ...this.config, 'group.id': groupId, 'enable.auto.commit': false });
      consumer.on('event.error', () => undefined);
      handle = callback(`preparing offsets of group ${groupId}`, (done) => consumer.connect({}, (err) => { done(err); })).then(() => consumer);
      handle.catch(() => this.groups.delete(groupId));
      this.groups.set(groupId, handle);
    }
    return handle;
  }

  async begin(): Promise<KafkaTransaction> {
    const sequence = this.lifecycle.begin();
    try {
      // Local only: the broker learns of the transaction with its first send or offset commit.
      await callback(`beginning a transaction (transactional id ${this.transactionalId})`, (done) => {
        this.delivering.producer.beginTransaction((err) => {
          done(err);
        });
      });
    } catch (err) {
      await this.lifecycle.run(sequence, 'abort', () => Promise.resolve());
      throw err;
    }
    return new RdkafkaTransaction(this, sequence);
  }

  async close(): Promise<void> {
    if (this.lifecycle.current === 'closed') return;
    this.lifecycle.close();
    this.onClose();
    const groups = [...this.groups.values()];
    this.groups.clear();
    await Promise.allSettled(groups.map(async (g) => disconnect(await g)));
    await this.delivering.close();
  }
}

function disconnect(client: Rdkafka.KafkaConsumer | Rdkafka.Producer): Promise<void> {
  return new Promise((resolve) => {
    try {
      client.disconnect(() => { resolve(); });
    } catch {
      resolve();
    }
  });
}

/** How long one consume call waits for records before the reader re-checks its deadline. */
const consumePollMs = 100;
/** While a read waits without progress, how often it checks the topic still exists. */
const existenceCheckMs = 1000;
const maxRecordsPerConsume = 10_000;

const readerConfig: Config = {
  // assign() never joins a group; librdkafka still wants a group id for a consumer handle.
  'group.id': 'streamkeeper-range-reader',
  'enable.auto.commit': false,
  'enable.auto.offset.store': false,
  'isolation.level': 'read_committed',
  'enable.partition.eof': true,
  // A range starting beyond the log is an error, never a silent jump.
  'auto.offset.reset': 'error',
  // Short: a reader's last fetch of a read is still waiting at the broker when the next read on
  // the same consumer assigns its partition, and the new fetch goes out only after it returns.
  // A consumer only fetches while a read is under way, so the shorter poll costs little.
  'fetch.wait.max.ms': 10,
  'fetch.min.bytes': 1,
  'fetch.max.bytes': 52_428_800,
  // A read ends at `until`, and whatever librdkafka fetched beyond it was decoded for nothing and
  // is dropped at unassign. Fetches of 1 MiB (~8,000 records of ~100 bytes; a larger record still
  // comes whole) and at most 2 MiB queued ahead bound that waste to a fraction of a task's range;
  // with 8 MiB fetches a 20,000-record range cost up to ~3x its records in decoding.
  'max.partition.fetch.bytes': 1_048_576,
  'queued.max.messages.kbytes': 2048,
  'queued.min.messages': 200_000,
  // What a read fetched past `until` stays in the consumer's queue after unassign, and counts
  // against the next read's partition until that read drains it: with the default 1000 ms its
  // first fetch waited out a second-long backoff ("Local: Queue full"), once per 20,000-record range.
  // Re-checking the queue every 10 ms costs a timer, no request.
  'fetch.queue.backoff.ms': 10,
};

/** The application's position in an assigned partition: the next offset it will be served (negative when unknown). */
function positionOf(consumer: Rdkafka.KafkaConsumer, topic: string, partition: number): number {
  const [position] = consumer.position([{ topic, partition }]);
  return position?.offset ?? -1;
}

/** One librdkafka consumer reads one range at a time; the reader keeps as many as reads run at once. */
class RdkafkaRangeReader implements RangeReader {
  private readonly idle: Rdkafka.KafkaConsumer[] = [];
  private readonly all = new Set<Rdkafka.KafkaConsumer>();
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly onClose: () => void,
  ) {}

  private async acquire(): Promise<Rdkafka.KafkaConsumer> {
    const free = this.idle.pop();
    if (free !== undefined) return free;
    const { KafkaConsumer } = rdkafka();
    const consumer = new KafkaConsumer({ ...this.config, ...readerConfig });
    consumer.on('event.error', () => undefined);
    await callback('connecting a range reader', (done) => consumer.connect({}, (err) => { done(err); }));
    consumer.setDefaultConsumeTimeout(consumePollMs);
    // Return what has arrived once the first record is there, instead of waiting out the timeout
    // for a full batch: a range's tail is usually smaller than the batch asked for.
    (consumer as Rdkafka.KafkaConsumer & { setDefaultIsTimeoutOnlyForFirstMessage(value: boolean): void }).setDefaultIsTimeoutOnlyForFirstMessage(true);
    this.all.add(consumer);
    return consumer;
  }

  private release(consumer: Rdkafka.KafkaConsumer): void {
    if (this.closed) void disconnect(consumer);
    else this.idle.push(consumer);
  }

  async readRange(topic: string, partition: number, fromOffset: number, untilOffset: number, options: WaitOptions = {}): Promise<ConsumedRecord[]> {
    if (this.closed) throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'the range reader is closed');
    checkRange(topic, partition, fromOffset, untilOffset);
    const timeoutMs = options.timeoutMs ?? defaultReadTimeoutMs;
    checkTimeout(timeoutMs);
    if (fromOffset === untilOffset) return [];
    const consumer = await this.acquire();
    try {
      return await this.read(consumer, topic, partition, fromOffset, untilOffset, timeoutMs);
    } finally {
      try {
        consumer.unassign();
      } catch {
        // a consumer that cannot unassign is closed; release disconnects it
      }
      this.release(consumer);
    }
  }

  private async read(consumer: Rdkafka.KafkaConsumer, topic: string, partition: number, fromOffset: number, untilOffset: number, timeoutMs: number): Promise<ConsumedRecord[]> {
    const what = `reading ${topic}/${partition} [${fromOffset}, ${untilOffset})`;
    const records: ConsumedRecord[] = [];
    let lastOffset = -1;
    // With read_committed, end of partition is the last stable offset: everything below it was delivered.
    let reachedEnd = false;
    const onEof = (eof: Rdkafka.EofEvent): void => {
      if (eof.topic === topic && eof.partition === partition && eof.offset >= untilOffset) reachedEnd = true;
    };
    consumer.on('partition.eof', onEof);
    try {
      consumer.assign([{ topic, partition, offset: fromOffset }]);
      const started = Date.now();
      let lastProgress = started;
      let lastExistenceCheck = started;
      for (;;) {
        if (this.closed) throw closedClient();
        const batch = await callback<Rdkafka.Message[]>(what, (done) => { consumer.consume(Math.min(maxRecordsPerConsume, untilOffset - fromOffset), (err, messages) => { done(err, messages); }); });
        let done = reachedEnd;
        for (const message of batch) {
          if (message.topic !== topic || message.partition !== partition) continue;
          if (message.offset >= untilOffset) {
            done = true;
            break;
          }
          if (message.offset < fromOffset || message.offset <= lastOffset) continue;
          lastOffset = message.offset;
          records.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key === undefined || message.key === null ? null : Buffer.isBuffer(message.key) ? message.key : Buffer.from(message.key),
            value: message.value,
            headers: fromRdkafkaHeaders(message.headers),
            timestamp: message.timestamp ?? 0,
          });
          if (message.offset === untilOffset - 1) done = true;
        }
        // A range of a transactional partition usually ends at a commit marker, never delivered as
        // a record; the end-of-partition event that would tell comes only after one more fetch.
        // librdkafka moves the application's position past markers and aborted records as it
        // serves them, so once this read has delivered a record (the position is then this
        // read's, not the previous assignment's), a position at or past `until` ends the read.
        if (!done && lastOffset >= 0 && positionOf(consumer, topic, partition) >= untilOffset) done = true;
        if (done) return records;
        const now = Date.now();
        if (batch.length > 0) lastProgress = now;
        if (now - started >= timeoutMs) throw new StreamkeeperError('SK_TIMEOUT', `${what}: the range was not readable within ${timeoutMs} ms`);
        if (now - lastProgress >= existenceCheckMs && now - lastExistenceCheck >= existenceCheckMs) {
          lastExistenceCheck = now;
          await this.checkExists(consumer, topic, partition, what);
        }
      }
    } finally {
      consumer.removeListener('partition.eof', onEof);
    }
  }

  /** librdkafka keeps retrying a fetch from a deleted topic; a read should fail instead. */
  private async checkExists(consumer: Rdkafka.KafkaConsumer, topic: string, partition: number, what: string): Promise<void> {
    const metadata = await callback<Rdkafka.Metadata>(what, (done) => {
      consumer.getMetadata({ topic, timeout: 5000 }, (err, data) => {
        done(err, data);
      });
    }).catch((err: unknown) => {
      if (err instanceof StreamkeeperError && err.code === 'SK_KAFKA_UNKNOWN_TOPIC') throw err;
      return undefined; // the broker did not answer: the read's own deadline decides
    });
    if (metadata === undefined) return;
    const found = metadata.topics.find((t) => t.name === topic);
    if (found === undefined || !found.partitions.some((p) => p.id === partition)) {
      throw new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', `${what}: topic ${topic} has no partition ${partition}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    const idle = this.idle.splice(0);
    await Promise.allSettled(idle.map((c) => disconnect(c)));
  }
}

/**
 * The error events meaning no broker could be reached: _TRANSPORT, _ALL_BROKERS_DOWN, _RESOLVE.
 * An admin client's events arrive with code -1 and only librdkafka's text, so the text decides.
 */
const unreachableCodes: ReadonlySet<number> = new Set([-195, -187, -193]);
const unreachableText = /broker transport failure|all broker connections are down|failed to resolve/i;
const topicAlreadyExists = 36;
const unknownTopicOrPartition = 3;
/**
 * Admin requests wait at most this long (or the connection's request timeout, if shorter): with no
 * broker answering, librdkafka waits out a request's whole timeout, and the driver should report
 * the brokers unreachable within a pass or two, as the kafkajs admin's connection attempts did.
 */
const adminRequestTimeoutMs = 10_000;

/**
 * Topic administration and offsets on librdkafka's admin client, created on first use. Requests go
 * to the controller or the partition leaders librdkafka finds; nothing is cached between calls.
 */
class RdkafkaAdmin implements KafkaAdmin {
  private client: Rdkafka.IAdminClient | undefined;
  /** The latest "no broker reachable" error event since the last answered request. */
  private unreachable: Rdkafka.LibrdKafkaError | undefined;
  /** The latest refused login (SASL credentials, or a broker certificate TLS did not verify). */
  private refused: StreamkeeperError | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly isOpen: () => boolean,
    requestTimeoutMs: number,
  ) {
    this.timeoutMs = Math.min(requestTimeoutMs, adminRequestTimeoutMs);
  }

  private handle(): Rdkafka.IAdminClient {
    if (!this.isOpen()) throw closedClient();
    if (this.client === undefined) {
      this.client = rdkafka().AdminClient.create(this.config, {
        'event.error': (err: Rdkafka.LibrdKafkaError) => {
          const refusal = fromRdkafka(err, 'logging in to the brokers');
          if (refusal.code === 'SK_KAFKA_AUTHENTICATION_FAILED') this.refused = refusal;
          else if ((typeof err.code === 'number' && unreachableCodes.has(err.code)) || unreachableText.test(err.message)) this.unreachable = err;
        },
      });
    }
    return this.client;
  }

  /**
   * One admin request. A request that timed out while librdkafka was reporting every broker
   * unreachable is SK_KAFKA_UNREACHABLE: what the job's status must say, not a plain timeout.
   */
  private async call<T>(what: string, start: (admin: Rdkafka.IAdminClient, done: (err: unknown, value?: T) => void) => void): Promise<T> {
    const admin = this.handle();
    try {
      const value = await callback<T>(what, (done) => {
        start(admin, done);
      });
      this.unreachable = undefined;
      this.refused = undefined;
      return value;
    } catch (err) {
      // librdkafka fails requests after a refused login as timeouts or transport failures; the
      // refusal is what the user has to fix.
      if (err instanceof StreamkeeperError && (err.code === 'SK_TIMEOUT' || err.code === 'SK_KAFKA_UNREACHABLE') && this.refused !== undefined) {
        throw new StreamkeeperError('SK_KAFKA_AUTHENTICATION_FAILED', `${what}: ${this.refused.message}`, { cause: err });
      }
      if (err instanceof StreamkeeperError && err.code === 'SK_TIMEOUT' && this.unreachable !== undefined) {
        throw new StreamkeeperError('SK_KAFKA_UNREACHABLE', `${what}: no broker answered (${this.unreachable.message})`, { cause: err });
      }
      throw err;
    }
  }

  async createTopic(topic: string, options: CreateTopicOptions): Promise<boolean> {
    checkTopicName(topic);
    checkPartitionCount(options.partitions);
    const created = await this.call<boolean>(`creating topic ${topic}`, (admin, done) => {
      admin.createTopic(
        { topic, num_partitions: options.partitions, replication_factor: options.replicationFactor ?? -1, config: { ...options.configs } },
        this.timeoutMs,
        (err) => {
          const code = (err as Rdkafka.LibrdKafkaError | null | undefined)?.code;
          if (code === topicAlreadyExists) done(null, false);
          else done(err, true);
        },
      );
    });
    await this.waitForLeaders(topic);
    if (created) this.logger.info({ topic, partitions: options.partitions }, 'created Kafka topic');
    return created;
  }

  async deleteTopic(topic: string): Promise<boolean> {
    checkTopicName(topic);
    if (!(await this.listTopics()).includes(topic)) return false;
    await this.call<undefined>(`deleting topic ${topic}`, (admin, done) => {
      admin.deleteTopic(topic, this.timeoutMs, (err) => {
        // Deleted meanwhile: it is going either way.
        done((err as Rdkafka.LibrdKafkaError | null | undefined)?.code === unknownTopicOrPartition ? null : err);
      });
    });
    // Deletion is acknowledged before every broker has forgotten the topic.
    const deadline = Date.now() + defaultLeaderWaitMs;
    while ((await this.listTopics()).includes(topic)) {
      if (Date.now() >= deadline) throw new StreamkeeperError('SK_TIMEOUT', `topic ${topic} was deleted but is still listed after ${defaultLeaderWaitMs} ms`);
      await sleep(100);
    }
    return true;
  }

  async listTopics(): Promise<string[]> {
    const topics = await this.call<string[]>('listing topics', (admin, done) => {
      admin.listTopics({ timeout: this.timeoutMs }, (err, names) => {
        done(err, names);
      });
    });
    return topics.filter((t) => !t.startsWith('__')).sort();
  }

  async addPartitions(topic: string, totalPartitions: number): Promise<void> {
    checkTopicName(topic);
    checkPartitionCount(totalPartitions);
    await this.call<undefined>(`growing topic ${topic} to ${totalPartitions} partitions`, (admin, done) => {
      admin.createPartitions(topic, totalPartitions, this.timeoutMs, (err) => {
        done(err);
      });
    });
    await this.waitForLeaders(topic);
  }

  /** The topic's partitions with their leaders (null: none); SK_KAFKA_UNKNOWN_TOPIC when there is no such topic. */
  private async describe(topic: string, timeoutMs = this.timeoutMs): Promise<Rdkafka.TopicPartitionInfo[]> {
    const [description] = await this.call<Rdkafka.TopicDescription[]>(`looking up ${topic}`, (admin, done) => {
      admin.describeTopics([topic], { timeout: timeoutMs }, (err, descriptions) => {
        done(err, descriptions);
      });
    });
    if (description?.error !== undefined) throw fromRdkafka(description.error, `looking up ${topic}`);
    if (description === undefined || description.partitions.length === 0) throw new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', `looking up ${topic}: no such topic`);
    return [...description.partitions].sort((a, b) => a.partition - b.partition);
  }

  /** One offset per partition at `spec`, read_committed: LATEST is the last stable offset. */
  private async offsetsAt(topic: string, partitions: readonly number[], spec: Rdkafka.OffsetSpec, timeoutMs = this.timeoutMs): Promise<Map<number, number>> {
    const what = `reading the offsets of ${topic}`;
    const results = await this.call<Rdkafka.ListOffsetsResult[]>(what, (admin, done) => {
      admin.listOffsets(
        partitions.map((partition) => ({ topic, partition, offset: spec })),
        { timeout: timeoutMs, isolationLevel: 1 as Rdkafka.IsolationLevel }, // READ_COMMITTED
        (err, offsets) => {
          done(err, offsets);
        },
      );
    });
    const offsets = new Map<number, number>();
    for (const result of results) {
      if (result.error !== undefined) throw fromRdkafka(result.error, `${what} (partition ${result.partition})`);
      offsets.set(result.partition, result.offset);
    }
    return offsets;
  }

  async topicOffsets(topic: string): Promise<PartitionWatermarks[]> {
    checkTopicName(topic);
    const partitions = (await this.describe(topic)).map((p) => p.partition);
    const { OffsetSpec } = rdkafka().AdminClient as unknown as { OffsetSpec: typeof Rdkafka.OffsetSpec };
    const [low, high] = await Promise.all([this.offsetsAt(topic, partitions, OffsetSpec.EARLIEST), this.offsetsAt(topic, partitions, OffsetSpec.LATEST)]);
    return partitions.map((partition) => ({ partition, low: low.get(partition) ?? 0, high: high.get(partition) ?? 0 }));
  }

  async committedOffsets(groupId: string, topic: string): Promise<ReadonlyMap<number, number>> {
    checkTopicName(topic);
    if (groupId === '') throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'consumer group id must not be empty');
    const partitions = (await this.describe(topic)).map((p) => p.partition);
    const what = `reading the offsets group ${groupId} committed for ${topic}`;
    const [group] = await this.call<Rdkafka.GroupResults[]>(what, (admin, done) => {
      admin.listConsumerGroupOffsets([{ groupId, partitions: partitions.map((partition) => ({ topic, partition })) }], { timeout: this.timeoutMs }, (err, results) => {
        done(err, results);
      });
    });
    if (group?.error !== undefined) throw fromRdkafka(group.error, what);
    const committed = new Map<number, number>();
    for (const p of group?.partitions ?? []) {
      if (p.topic !== topic) continue;
      if ((p as { error?: Rdkafka.LibrdKafkaError }).error !== undefined) throw fromRdkafka((p as { error?: Rdkafka.LibrdKafkaError }).error, `${what} (partition ${p.partition})`);
      if (p.offset >= 0) committed.set(p.partition, p.offset);
    }
    return committed;
  }

  async waitForLeaders(topic: string, options: WaitOptions = {}): Promise<void> {
    checkTopicName(topic);
    const timeoutMs = options.timeoutMs ?? defaultLeaderWaitMs;
    checkTimeout(timeoutMs);
    const { OffsetSpec } = rdkafka().AdminClient as unknown as { OffsetSpec: typeof Rdkafka.OffsetSpec };
    let lastProblem = 'no answer yet';
    let lastError: unknown;
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt === 0 || Date.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(100);
      const requestMs = Math.max(1000, Math.min(this.timeoutMs, deadline - Date.now()));
      try {
        const partitions = await this.describe(topic, requestMs);
        const leaderless = partitions.filter((p) => p.leader === null).map((p) => p.partition);
        if (leaderless.length === 0) {
          // Listed leaders must also answer: ListOffsets goes to each partition's leader.
          await this.offsetsAt(topic, partitions.map((p) => p.partition), OffsetSpec.LATEST, requestMs);
          return;
        }
        lastProblem = `no leader for partition(s) ${leaderless.join(', ')}`;
      } catch (err) {
        lastError = err;
        lastProblem = err instanceof Error ? err.message : String(err);
      }
    }
    if (lastError instanceof StreamkeeperError && (lastError.code === 'SK_KAFKA_UNKNOWN_TOPIC' || lastError.code === 'SK_KAFKA_UNREACHABLE')) throw lastError;
    throw new StreamkeeperError('SK_TIMEOUT', `the partitions of ${topic} had no available leaders after ${timeoutMs} ms (${lastProblem})`);
  }

  close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    try {
      client?.disconnect();
    } catch {
      // already disconnected
    }
    return Promise.resolve();
  }
}

class RdkafkaClient implements KafkaClient {
  readonly admin: RdkafkaAdmin;
  private readonly resources = new ClientResources();
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly config: Config,
    settings: KafkaConnectionSettings,
    private readonly logger: Logger,
  ) {
    this.requestTimeoutMs = settings.requestTimeoutMs ?? 30_000;
    this.admin = new RdkafkaAdmin(config, logger, () => this.resources.isOpen, this.requestTimeoutMs);
  }

  async producer(): Promise<RecordProducer> {
    this.resources.ensureOpen();
    const delivering = await DeliveringProducer.connect({ ...this.config, ...producerConfig }, 'connecting a producer');
    const handle: RecordProducer = new RdkafkaRecordProducer(delivering, () => { this.resources.forget(handle); });
    return this.resources.track(handle);
  }

  async transactionalProducer(transactionalId: string, options: TransactionalProducerOptions = {}): Promise<TransactionalProducer> {
    this.resources.ensureOpen();
    if (transactionalId === '') throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'transactional id must not be empty');
    checkTransactionTimeout(options.transactionTimeoutMs);
    const what = `opening transactional id ${transactionalId}`;
    const delivering = await DeliveringProducer.connect(
      { ...this.config, ...producerConfig, 'transactional.id': transactionalId, 'transaction.timeout.ms': options.transactionTimeoutMs ?? defaultTransactionTimeoutMs },
      what,
      options.sendOffsets !== false,
    );
    try {
      // InitProducerId: fences every older producer with this id and settles its pending transaction.
      await this.initTransactions(delivering, what);
    } catch (err) {
      await delivering.close();
      throw err;
    }
    const handle: RdkafkaTransactionalProducer = new RdkafkaTransactionalProducer(transactionalId, delivering, this.config, this.requestTimeoutMs, () => { this.resources.forget(handle); });
    this.logger.debug({ transactionalId }, 'opened transactional producer');
    return this.resources.track(handle);
  }

  /** The coordinator may still be loading, or settling the previous owner's transaction: retry that. */
  private async initTransactions(delivering: DeliveringProducer, what: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await callback(what, (done) => { delivering.producer.initTransactions(this.requestTimeoutMs, (err) => { done(err); }); });
        return;
      } catch (err) {
        const cause = (err as StreamkeeperError).cause as { isRetriable?: boolean } | undefined;
        if (attempt >= 5 || cause?.isRetriable !== true) throw err;
        await sleep(100 * attempt);
      }
    }
  }

  rangeReader(): Promise<RangeReader> {
    if (!this.resources.isOpen) return Promise.reject(closedClient());
    const handle: RangeReader = new RdkafkaRangeReader(this.config, () => { this.resources.forget(handle); });
    return Promise.resolve(this.resources.track(handle));
  }

  async close(): Promise<void> {
    await this.resources.closeAll(this.logger, [this.admin]);
  }
}

/** A KafkaClient on librdkafka for the cluster `settings` describes. */
export function createRdkafkaClient(settings: KafkaConnectionSettings, options: { readonly logger?: Logger } = {}): KafkaClient {
  checkConnectionSettings(settings);
  const logger = (options.logger ?? silentLogger()).child({ kafka: describeConnection(settings) });
  rdkafka();
  return new RdkafkaClient(rdkafkaConfig(settings), settings, logger);
}
