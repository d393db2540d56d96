// The Kafka contract again on the harness broker, with fetches so small that every range read
// crosses many fetch and record-batch boundaries (transaction markers and aborted records too).
import { createLogger } from '../../../src/logging/logger.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/kafkajs-client.js';
import { describeKafkaContract } from '../../contract/kafka/kafka-contract.js';
import { kafkaBrokers } from '../../harness/servers.js';
import { MemoryStream } from '../../support/memory-stream.js';

const logger = createLogger({ level: 'warn', destination: new MemoryStream() });

describeKafkaContract('kafkajs adapter on Kafka 3.9, 200-byte fetches', () =>
  createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'sk-contract-small' }, { logger, rangeReaderLimits: { maxBytesPerFetch: 200, maxWaitMs: 100 } }),
);
