/**
 * The KafkaClient on kafkajs 2.2.4 — the only place besides its siblings in this directory that
 * may import kafkajs, which is barely maintained: if it has to be replaced, only this directory
 * changes. Every kafkajs failure leaves here as a StreamkeeperError (see kafkajs-errors.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, IHeaders, Kafka, KafkaConfig, Message, Producer, SASLOptions, Transaction } from 'kafkajs';
import { StreamkeeperError } from '../../errors/index.js';
import { silentLogger, type LogLevel, type Logger } from '../../logging/logger.js';
import { ClientResources, closedClient } from './client-resources.js';
import { checkConnectionSettings, describeConnection, type KafkaConnectionSettings } from './connection-settings.js';
import {
  defaultLeaderWaitMs,
  defaultTransactionTimeoutMs,
  normaliseHeaders,
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
import { fromKafkajs, isCoordinatorNotReady, kafkajsErrorCode } from './kafkajs-errors.js';
import { createInternalCluster } from './kafkajs-internals.js';
import { kafkajsLevel, kafkajsLogCreator } from './kafkajs-logging.js';
import { kafkajs } from './kafkajs-module.js';
import { KafkajsRangeReader, defaultRangeReaderLimits, type RangeReaderLimits } from './kafkajs-range-reader.js';
import { KafkajsSockets } from './kafkajs-sockets.js';
import { checkGroupOffsets, checkPartitionCount, checkSend, checkTimeout, checkTopicName, checkTransactionTimeout } from './request-checks.js';
import { ReplaceableConnection } from './replaceable-connection.js';
import { TransactionLifecycle } from './transaction-lifecycle.js';

export interface KafkajsClientOptions {
  readonly logger?: Logger;
  /** What kafkajs itself may log (through `logger`); `warn` unless told. */
  readonly kafkajsLogLevel?: LogLevel;
  readonly rangeReaderLimits?: Partial<RangeReaderLimits>;
}

/** kafkajs's configuration for `settings`. Credentials go to kafkajs only, never to a log line. */
export function kafkajsConfig(settings: KafkaConnectionSettings, logger: Logger, level: LogLevel = 'warn'): KafkaConfig {
  const { tls, sasl } = settings;
  return {
    brokers: [...settings.brokers],
    clientId: settings.clientId,
    ssl: tls === undefined ? false : tls.ca === undefined && tls.servername === undefined ? true : { ...(tls.ca === undefined ? {} : { ca: [tls.ca] }), ...(tls.servername === undefined ? {} : { servername: tls.servername }) },
    ...(sasl === undefined ? {} : { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions }),
    connectionTimeout: settings.connectionTimeoutMs ?? 3000,
    requestTimeout: settings.requestTimeoutMs ?? 30_000,
    retry: { initialRetryTime: 100, retries: 5 },
    logLevel: kafkajsLevel(level),
    logCreator: kafkajsLogCreator(logger, level),
  };
}

function toKafkajsHeaders(headers: readonly RecordHeader[] | undefined): IHeaders | undefined {
  const normalised = normaliseHeaders(headers);
  if (normalised.length === 0) return undefined;
  const grouped: Record<string, Buffer[]> = {};
  for (const { key, value } of normalised) (grouped[key] ??= []).push(value);
  return Object.fromEntries(Object.entries(grouped).map(([key, values]) => [key, values.length === 1 ? values[0] : values]));
}

function toMessage(partition: number, record: OutgoingRecord): Message {
  return {
    partition,
    key: record.key,
    value: record.value,
    headers: toKafkajsHeaders(record.headers),
    ...(record.timestamp === undefined ? {} : { timestamp: String(record.timestamp) }),
  };
}

function toOffset(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new StreamkeeperError('SK_KAFKA_UNSUPPORTED', `${what} ${value} is beyond the offsets streamkeeper can represent`);
  return n;
}

/** Sends one batch to one partition through `sender` (a producer or a transaction). */
async function sendBatch(sender: Pick<Producer, 'send'>, topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
  checkSend(topic, partition, records);
  const what = `sending ${records.length} record(s) to ${topic}/${partition}`;
  let result;
  try {
    result = await sender.send({ topic, acks: -1, messages: records.map((r) => toMessage(partition, r)) });
  } catch (err) {
    throw fromKafkajs(err, what);
  }
  const written = result.find((r) => r.topicName === topic && r.partition === partition);
  // kafkajs silently drops messages for a partition its metadata does not know.
  if (written?.baseOffset === undefined) throw new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', `${what}: topic ${topic} has no partition ${partition}`);
  return { topic, partition, baseOffset: toOffset(written.baseOffset, 'offset') };
}

class Deadline {
  private readonly end: number;
  constructor(readonly timeoutMs: number) {
    this.end = Date.now() + timeoutMs;
  }
  get passed(): boolean {
    return Date.now() >= this.end;
  }
}

class KafkajsAdmin implements KafkaAdmin {
  private readonly connection: ReplaceableConnection<Admin>;

  constructor(
    kafka: Kafka,
    private readonly logger: Logger,
    private readonly isOpen: () => boolean,
  ) {
    this.connection = new ReplaceableConnection(
      async () => {
        const admin = kafka.admin({ retry: { initialRetryTime: 100, retries: 3 } });
        try {
          await admin.connect();
        } catch (err) {
          await admin.disconnect().catch(() => undefined);
          throw fromKafkajs(err, 'connecting the Kafka admin client');
        }
        return admin;
      },
      (admin) => admin.disconnect(),
    );
  }

  /**
   * Runs `action` with the admin client, mapping failures to StreamkeeperErrors about `what`.
   * kafkajs refreshes the metadata of every topic a client has ever asked about and fails when one
   * of them has since been deleted — even for requests about other topics — so an unknown-topic
   * answer is believed only once a fresh kafkajs admin gives it too.
   */
  private async call<T>(what: string, action: (admin: Admin) => Promise<T>, recheckUnknownTopic = true): Promise<T> {
    if (!this.isOpen()) throw closedClient();
    const first = this.connection.generation();
    try {
      return await this.connection.run(action, first);
    } catch (err) {
      if (!recheckUnknownTopic || kafkajsErrorCode(err) !== 'SK_KAFKA_UNKNOWN_TOPIC') throw fromKafkajs(err, what);
    }
    await this.connection.retire(first);
    try {
      return await this.connection.run(action);
    } catch (err) {
      throw fromKafkajs(err, what);
    }
  }

  async createTopic(topic: string, options: CreateTopicOptions): Promise<boolean> {
    checkTopicName(topic);
    checkPartitionCount(options.partitions);
    const created = await this.call(`creating topic ${topic}`, (admin) =>
      admin.createTopics({
        waitForLeaders: false,
        topics: [{ topic, numPartitions: options.partitions, replicationFactor: options.replicationFactor ?? -1, configEntries: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })) }],
      }),
    );
    await this.waitForLeaders(topic);
    if (created) this.logger.info({ topic, partitions: options.partitions }, 'created Kafka topic');
    return created;
  }

  async deleteTopic(topic: string): Promise<boolean> {
    checkTopicName(topic);
    if (!(await this.listTopics()).includes(topic)) return false;
    try {
      await this.call(`deleting topic ${topic}`, (admin) => admin.deleteTopics({ topics: [topic] }));
    } catch (err) {
      // Deleted meanwhile, or deleted by this call after which kafkajs's metadata refresh tripped
      // over another deleted topic: either way it is going.
      if (kafkajsErrorCode(err) !== 'SK_KAFKA_UNKNOWN_TOPIC') throw err;
    }
    // Deletion is acknowledged before every broker has forgotten the topic.
    const deadline = new Deadline(defaultLeaderWaitMs);
    while ((await this.listTopics()).includes(topic)) {
      if (deadline.passed) throw new StreamkeeperError('SK_TIMEOUT', `topic ${topic} was deleted but is still listed after ${deadline.timeoutMs} ms`);
      await sleep(100);
    }
    return true;
  }

  async listTopics(): Promise<string[]> {
    const topics = await this.call('listing topics', (admin) => admin.listTopics());
    return topics.filter((t) => !t.startsWith('__')).sort();
  }

  async addPartitions(topic: string, totalPartitions: number): Promise<void> {
    checkTopicName(topic);
    checkPartitionCount(totalPartitions);
    await this.call(`growing topic ${topic} to ${totalPartitions} partitions`, (admin) => admin.createPartitions({ topicPartitions: [{ topic, count: totalPartitions }] }));
    await this.waitForLeaders(topic);
  }

  async topicOffsets(topic: string): Promise<PartitionWatermarks[]> {
    checkTopicName(topic);
    const offsets = await this.call(`reading the offsets of ${topic}`, (admin) => admin.fetchTopicOffsets(topic));
    return offsets.map((p) => ({ partition: p.partition, low: toOffset(p.low, 'offset'), high: toOffset(p.high, 'offset') })).sort((a, b) => a.partition - b.partition);
  }

  async committedOffsets(groupId: string, topic: string): Promise<ReadonlyMap<number, number>> {
    checkTopicName(topic);
    if (groupId === '') throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'consumer group id must not be empty');
    // kafkajs answers -1 for every partition of a topic it cannot find; ask the broker first.
    await this.call(`looking up ${topic}`, (admin) => admin.fetchTopicMetadata({ topics: [topic] }));
    const answer = await this.call(`reading the offsets group ${groupId} committed for ${topic}`, (admin) => admin.fetchOffsets({ groupId, topics: [topic] }));
    const committed = new Map<number, number>();
    for (const { partition, offset } of answer.find((t) => t.topic === topic)?.partitions ?? []) {
      const n = toOffset(offset, 'offset');
      if (n >= 0) committed.set(partition, n);
    }
    return committed;
  }

  async waitForLeaders(topic: string, options: WaitOptions = {}): Promise<void> {
    checkTopicName(topic);
    const timeoutMs = options.timeoutMs ?? defaultLeaderWaitMs;
    checkTimeout(timeoutMs);
    let lastProblem = 'no answer yet';
    let lastError: unknown;
    const deadline = new Deadline(timeoutMs);
    for (let attempt = 0; attempt === 0 || !deadline.passed; attempt++) {
      if (attempt > 0) await sleep(100);
      try {
        const { topics } = await this.call(`looking up ${topic}`, (admin) => admin.fetchTopicMetadata({ topics: [topic] }), attempt === 0);
        const partitions = topics.find((t) => t.name === topic)?.partitions ?? [];
        const leaderless = partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0).map((p) => p.partitionId);
        if (partitions.length > 0 && leaderless.length === 0) {
          // Listed leaders must also answer: ListOffsets goes to each partition's leader. A leader
          // that says it does not host the partition makes call() ask again on a fresh connection,
          // whose metadata is read anew, instead of retrying on what this one cached.
          await this.call(`reading the offsets of ${topic}`, (admin) => admin.fetchTopicOffsets(topic));
          return;
        }
        lastProblem = partitions.length === 0 ? 'no partitions listed' : `no leader for partition(s) ${leaderless.join(', ')}`;
      } catch (err) {
        lastError = err;
        lastProblem = err instanceof Error ? err.message : String(err);
      }
    }
    if (kafkajsErrorCode(lastError) === 'SK_KAFKA_UNKNOWN_TOPIC') throw fromKafkajs(lastError, `waiting for the leaders of ${topic}`);
    throw new StreamkeeperError('SK_TIMEOUT', `the partitions of ${topic} had no available leaders after ${timeoutMs} ms (${lastProblem})`);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

class KafkajsRecordProducer implements RecordProducer {
  private closed = false;

  constructor(
    private readonly connection: ReplaceableConnection<Producer>,
    private readonly onClose: () => void,
  ) {}

  async send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
    if (this.closed) throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'the producer is closed');
    const first = this.connection.generation();
    try {
      return await this.connection.run((producer) => sendBatch(producer, topic, partition, records), first);
    } catch (err) {
      // kafkajs's metadata may be poisoned by a deleted topic this producer once wrote to, or may
      // predate partitions added since: believe an unknown topic or partition only from a new producer.
      if (kafkajsErrorCode(err) !== 'SK_KAFKA_UNKNOWN_TOPIC') throw err;
    }
    await this.connection.retire(first);
    return this.connection.run((producer) => sendBatch(producer, topic, partition, records));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    await this.connection.close();
  }
}

/** Attempts at committing offsets while the group coordinator is moving or loading (about 6 s in all). */
const coordinatorRetries = 9;

class KafkajsTransaction implements KafkaTransaction {
  constructor(
    private readonly lifecycle: TransactionLifecycle,
    private readonly sequence: number,
    private readonly transaction: Transaction,
    private readonly logger: Logger,
    private readonly sendOffsets: boolean,
  ) {}

  async send(topic: string, partition: number, records: readonly OutgoingRecord[]): Promise<SendResult> {
    checkSend(topic, partition, records);
    const sent = await this.lifecycle.run(this.sequence, 'send', () => sendBatch(this.transaction, topic, partition, records));
    return this.sendOffsets ? sent : { ...sent, baseOffset: -1 };
  }

  async commitOffsets(groupId: string, ...offsets: TopicPartitionOffset[]): Promise<void> {
    checkGroupOffsets(groupId, offsets);
    const topics = [...new Set(offsets.map((o) => o.topic))].map((topic) => ({
      topic,
      partitions: offsets.filter((o) => o.topic === topic).map(({ partition, offset }) => ({ partition, offset: String(offset) })),
    }));
    return this.lifecycle.run(this.sequence, 'commitOffsets', () =>
      this.kafkajs(`committing offsets of group ${groupId}`, async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            await this.transaction.sendOffsets({ consumerGroupId: groupId, topics });
            return;
          } catch (err) {
            // Adding the group to the transaction again is harmless; the coordinator is looked up anew.
            if (!isCoordinatorNotReady(err) || attempt >= coordinatorRetries) throw err;
            this.logger.debug({ groupId, attempt, error: (err as Error).message }, 'group coordinator not ready; committing the offsets again');
            await sleep(Math.min(1000, 50 * 2 ** attempt));
          }
        }
      }),
    );
  }

  async commit(): Promise<void> {
    return this.lifecycle.run(this.sequence, 'commit', () => this.kafkajs('committing the transaction', () => this.transaction.commit()));
  }

  async abort(): Promise<void> {
    return this.lifecycle.run(this.sequence, 'abort', () => this.kafkajs('aborting the transaction', () => this.transaction.abort()));
  }

  private async kafkajs(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      throw fromKafkajs(err, `${what} (transactional id ${this.lifecycle.transactionalId})`);
    }
  }
}

class KafkajsTransactionalProducer implements TransactionalProducer {
  readonly lifecycle: TransactionLifecycle;

  constructor(
    readonly transactionalId: string,
    private readonly producer: Producer,
    private readonly logger: Logger,
    private readonly sendOffsets: boolean,
    private readonly onClose: () => void,
  ) {
    this.lifecycle = new TransactionLifecycle(transactionalId);
  }

  /**
   * Registers the transactional id with its coordinator (InitProducerId). That is what fences
   * older producers with the id and settles their pending transaction; kafkajs would otherwise
   * defer it to the first transaction. An empty transaction ends without a request to the broker.
   */
  async fence(): Promise<void> {
    try {
      await this.producer.connect();
      const first = await this.producer.transaction();
      await first.abort();
    } catch (err) {
      throw fromKafkajs(err, `opening transactional id ${this.transactionalId}`);
    }
  }

  async begin(): Promise<KafkaTransaction> {
    const sequence = this.lifecycle.begin();
    try {
      return new KafkajsTransaction(this.lifecycle, sequence, await this.producer.transaction(), this.logger, this.sendOffsets);
    } catch (err) {
      // Nothing reached the broker: a transaction starts there with its first send.
      await this.lifecycle.run(sequence, 'abort', () => Promise.resolve());
      throw fromKafkajs(err, `beginning a transaction (transactional id ${this.transactionalId})`);
    }
  }

  async close(): Promise<void> {
    if (this.lifecycle.current === 'closed') return;
    this.lifecycle.close();
    this.onClose();
    await this.producer.disconnect();
  }
}

class KafkajsClient implements KafkaClient {
  readonly admin: KafkajsAdmin;
  private readonly kafka: Kafka;
  private readonly config: KafkaConfig;
  private readonly sockets = new KafkajsSockets();
  private readonly resources = new ClientResources();

  constructor(
    config: KafkaConfig,
    private readonly logger: Logger,
    private readonly readerLimits: RangeReaderLimits,
  ) {
    this.config = { ...config, socketFactory: this.sockets.factory };
    this.kafka = new (kafkajs().Kafka)(this.config);
    this.admin = new KafkajsAdmin(this.kafka, logger, () => this.resources.isOpen);
  }

  async producer(): Promise<RecordProducer> {
    this.resources.ensureOpen();
    const connect = async (): Promise<Producer> => {
      const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: kafkajs().Partitioners.DefaultPartitioner });
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw fromKafkajs(err, 'connecting a producer');
      }
      return producer;
    };
    const connection = new ReplaceableConnection(connect, (producer) => producer.disconnect());
    await connection.run(() => Promise.resolve()); // connect now, so that failing to is the caller's to see
    const handle: RecordProducer = new KafkajsRecordProducer(connection, () => { this.resources.forget(handle); });
    return this.resources.track(handle);
  }

  async transactionalProducer(transactionalId: string, options: TransactionalProducerOptions = {}): Promise<TransactionalProducer> {
    this.resources.ensureOpen();
    if (transactionalId === '') throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'transactional id must not be empty');
    checkTransactionTimeout(options.transactionTimeoutMs);
    const producer = this.kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs().Partitioners.DefaultPartitioner,
      transactionTimeout: options.transactionTimeoutMs ?? defaultTransactionTimeoutMs,
      // The next transaction's first request meets CONCURRENT_TRANSACTIONS until the broker has
      // written the previous one's markers, typically a few milliseconds: retry soon, and often.
      retry: { initialRetryTime: 20, retries: 10, maxRetryTime: 5000 },
    });
    const handle: KafkajsTransactionalProducer = new KafkajsTransactionalProducer(transactionalId, producer, this.logger.child({ transactionalId }), options.sendOffsets !== false, () => { this.resources.forget(handle); });
    try {
      await handle.fence();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw err;
    }
    this.logger.debug({ transactionalId }, 'opened transactional producer');
    return this.resources.track(handle);
  }

  async rangeReader(): Promise<RangeReader> {
    this.resources.ensureOpen();
    const cluster = createInternalCluster(this.kafka, this.config);
    try {
      await cluster.connect();
    } catch (err) {
      await cluster.disconnect().catch(() => undefined);
      throw fromKafkajs(err, 'connecting a range reader');
    }
    const reader = new KafkajsRangeReader(cluster, this.logger, this.readerLimits);
    const handle: RangeReader = {
      readRange: (...args) => reader.readRange(...args),
      close: async () => {
        this.resources.forget(handle);
        await reader.close();
      },
    };
    return this.resources.track(handle);
  }

  /**
   * Closes every producer and reader, then destroys whatever socket is still open — including
   * those kafkajs lost track of — so that nothing of this client keeps the process alive.
   */
  async close(): Promise<void> {
    await this.resources.closeAll(this.logger, [this.admin]);
    const forgotten = await this.sockets.close();
    if (forgotten > 0) this.logger.debug({ sockets: forgotten }, 'destroyed Kafka connections kafkajs had left open');
  }
}

/** A KafkaClient for the cluster `settings` describes. Connections open lazily, on first use. */
export function createKafkajsClient(settings: KafkaConnectionSettings, options: KafkajsClientOptions = {}): KafkaClient {
  checkConnectionSettings(settings);
  const logger = (options.logger ?? silentLogger()).child({ kafka: describeConnection(settings) });
  const limits = { ...defaultRangeReaderLimits, ...options.rangeReaderLimits };
  return new KafkajsClient(kafkajsConfig(settings, logger, options.kafkajsLogLevel ?? 'warn'), logger, limits);
}
