// The Kafka contract, run against the librdkafka adapter on the harness broker's SASL_SSL listener
// (SCRAM-SHA-512, TLS verified against the CA the harness made): what users' clusters speak.
import { createLogger } from '../../../src/logging/logger.js';
import { createRdkafkaClient } from '../../../src/runtime/kafka/rdkafka-client.js';
import { describeKafkaContract } from '../../contract/kafka/kafka-contract.js';
import { MemoryStream } from '../../support/memory-stream.js';
import { secureSettings } from './secure-kafka.js';

const logs = new MemoryStream();
const logger = createLogger({ level: 'warn', destination: logs });

describeKafkaContract('librdkafka adapter on Kafka 3.9 over SASL_SSL (SCRAM-SHA-512)', () => createRdkafkaClient(secureSettings('sk-contract-sasl-ssl'), { logger }));
