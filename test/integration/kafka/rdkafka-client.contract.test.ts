// The Kafka contract, run against the librdkafka adapter on the harness's real Kafka 3.9 broker.
import { createLogger } from '../../../src/logging/logger.js';
import { createRdkafkaClient } from '../../../src/runtime/kafka/rdkafka-client.js';
import { describeKafkaContract } from '../../contract/kafka/kafka-contract.js';
import { kafkaBrokers } from '../../harness/servers.js';
import { MemoryStream } from '../../support/memory-stream.js';

const logs = new MemoryStream();
const logger = createLogger({ level: 'warn', destination: logs });

describeKafkaContract('librdkafka adapter on Kafka 3.9', () => createRdkafkaClient({ brokers: kafkaBrokers(), clientId: 'sk-contract' }, { logger }));
