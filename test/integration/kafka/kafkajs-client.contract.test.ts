// The Kafka contract, run against the kafkajs adapter on the harness's real Kafka 3.9 broker.
import { createLogger } from '../../../src/logging/logger.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/kafkajs-client.js';
import { describeKafkaContract } from '../../contract/kafka/kafka-contract.js';
import { kafkaBrokers } from '../../harness/servers.js';
import { MemoryStream } from '../../support/memory-stream.js';

const logs = new MemoryStream();
const logger = createLogger({ level: 'warn', destination: logs });

describeKafkaContract('kafkajs adapter on Kafka 3.9', () => createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'sk-contract' }, { logger }));
