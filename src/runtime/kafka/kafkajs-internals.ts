/**
 * The few kafkajs internals the range reader needs to fetch a partition directly, the way the Java
 * consumer's assign() does: kafkajs has no public assign, only consumer groups. Typed here, checked
 * at load, and pinned to one kafkajs version so an upgrade cannot change them unnoticed; see
 * docs/compatibility.md ("Exact range reads").
 */
import { createRequire } from 'node:module';
import type { Kafka, KafkaConfig } from 'kafkajs';
import { StreamkeeperError } from '../../errors/index.js';

/** The kafkajs release whose internals this module was written and tested against. */
export const supportedKafkajsVersion = '2.2.4';

/** Kafka's isolation level for fetch requests. */
export const readCommitted = 1;

export interface InternalFetchedMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | readonly Buffer[] | null | undefined>>;
  readonly isControlRecord: boolean;
  readonly batchContext: {
    readonly firstOffset: string;
    readonly lastOffsetDelta: number;
    readonly producerId: string;
    readonly inTransaction: boolean;
    readonly isControlBatch: boolean;
  };
}

export interface InternalFetchedPartition {
  readonly partition: number;
  readonly highWatermark: string;
  readonly lastStableOffset: string;
  readonly abortedTransactions: readonly { readonly producerId: string; readonly firstOffset: string }[] | null;
  readonly messages: readonly InternalFetchedMessage[];
}

export interface InternalFetchRequest {
  readonly isolationLevel: number;
  readonly maxWaitTime: number;
  readonly minBytes: number;
  readonly maxBytes: number;
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly { readonly partition: number; readonly fetchOffset: string; readonly maxBytes: number }[] }[];
}

export interface InternalMetadata {
  readonly topicMetadata: readonly { readonly topic: string; readonly partitionMetadata: readonly { readonly partitionId: number; readonly leader: number }[] }[];
}

export interface InternalBroker {
  fetch(request: InternalFetchRequest): Promise<{ readonly responses: readonly { readonly topicName: string; readonly partitions: readonly InternalFetchedPartition[] }[] }>;
  metadata(topics: readonly string[]): Promise<InternalMetadata>;
}

export interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Refreshes the broker list (and the metadata of the cluster's target topics, which the reader leaves empty). */
  refreshMetadata(): Promise<void>;
  findBroker(query: { readonly nodeId: number }): Promise<InternalBroker>;
  readonly brokerPool: { findConnectedBroker(): Promise<InternalBroker> };
}

type ClusterConstructor = new (options: Record<string, unknown>) => InternalCluster;

const require = createRequire(import.meta.url);

function load(): { Cluster: ClusterConstructor; socketFactory: () => unknown } {
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== supportedKafkajsVersion) {
    throw new StreamkeeperError('SK_KAFKA_UNSUPPORTED', `the range reader relies on kafkajs ${supportedKafkajsVersion} internals but kafkajs ${version} is installed; re-verify src/runtime/kafka/kafkajs-internals.ts against it (test/integration/kafka) before changing the pin`);
  }
  const Cluster = require('kafkajs/src/cluster/index.js') as unknown;
  const socketFactory = require('kafkajs/src/network/socketFactory.js') as unknown;
  if (typeof Cluster !== 'function' || typeof socketFactory !== 'function') {
    throw new StreamkeeperError('SK_KAFKA_UNSUPPORTED', `kafkajs ${version} does not have the internal modules the range reader uses`);
  }
  return { Cluster: Cluster as ClusterConstructor, socketFactory: socketFactory as () => unknown };
}

/**
 * A kafkajs cluster (connections, metadata, brokers) configured exactly like `kafka`'s own, with
 * read_committed fetches and no automatic topic creation.
 */
export function createInternalCluster(kafka: Kafka, config: KafkaConfig): InternalCluster {
  const { Cluster, socketFactory } = load();
  const cluster = new Cluster({
    logger: kafka.logger(),
    socketFactory: config.socketFactory ?? socketFactory(),
    brokers: config.brokers,
    ssl: config.ssl,
    sasl: config.sasl,
    clientId: config.clientId,
    connectionTimeout: config.connectionTimeout,
    authenticationTimeout: config.authenticationTimeout,
    requestTimeout: config.requestTimeout,
    enforceRequestTimeout: config.enforceRequestTimeout ?? true,
    retry: config.retry,
    metadataMaxAge: 300_000,
    allowAutoTopicCreation: false,
    maxInFlightRequests: null,
    isolationLevel: readCommitted,
    instrumentationEmitter: null,
    offsets: new Map(),
  });
  for (const method of ['connect', 'disconnect', 'refreshMetadata', 'findBroker'] as const) {
    if (typeof cluster[method] !== 'function') throw new StreamkeeperError('SK_KAFKA_UNSUPPORTED', `kafkajs Cluster has no ${method}()`);
  }
  if (typeof (cluster.brokerPool as { findConnectedBroker?: unknown } | undefined)?.findConnectedBroker !== 'function') {
    throw new StreamkeeperError('SK_KAFKA_UNSUPPORTED', 'kafkajs BrokerPool has no findConnectedBroker()');
  }
  return cluster;
}
