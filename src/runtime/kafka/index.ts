/**
 * Kafka for the streaming runtime: the narrow interface and its librdkafka (default) and kafkajs adapters
 * (the in-memory fake is for tests, through src/testing). Import from here; the client libraries
 * stay inside this directory.
 */
export type {
  ConsumedRecord,
  CreateTopicOptions,
  KafkaAdmin,
  KafkaClient,
  KafkaTransaction,
  OutgoingRecord,
  PartitionWatermarks,
  RangeReader,
  RecordHeader,
  RecordProducer,
  SendResult,
  TopicPartitionOffset,
  TransactionalProducer,
  TransactionalProducerOptions,
  WaitOptions,
} from './kafka-client.js';
export { defaultLeaderWaitMs, defaultReadTimeoutMs, defaultTransactionTimeoutMs, normaliseHeaders } from './kafka-client.js';
export type { ConnectionSummary, KafkaConnectionSettings, KafkaSaslSettings, KafkaTlsSettings, SaslMechanism } from './connection-settings.js';
export { checkConnectionSettings, describeConnection, saslMechanisms } from './connection-settings.js';
export { createKafkajsClient, type KafkajsClientOptions } from './kafkajs-client.js';
export { createRdkafkaClient } from './rdkafka-client.js';
export { createKafkaClient, defaultKafkaClientLibrary, kafkaClientEnv, kafkaClientLibraries, parseKafkaClientLibrary, type KafkaClientLibrary } from './client-library.js';
export type { RangeReaderLimits } from './kafkajs-range-reader.js';
