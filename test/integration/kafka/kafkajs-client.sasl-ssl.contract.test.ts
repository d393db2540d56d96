// The Kafka contract, run against the kafkajs adapter on the harness broker's SASL_SSL listener
// (SCRAM-SHA-512, TLS verified against the CA the harness made).
import { createLogger } from '../../../src/logging/logger.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/kafkajs-client.js';
import { describeKafkaContract } from '../../contract/kafka/kafka-contract.js';
import { MemoryStream } from '../../support/memory-stream.js';
import { secureSettings } from './secure-kafka.js';

const logs = new MemoryStream();
const logger = createLogger({ level: 'warn', destination: logs });

describeKafkaContract('kafkajs adapter on Kafka 3.9 over SASL_SSL (SCRAM-SHA-512)', () => createKafkajsClient(secureSettings('sk-contract-sasl-ssl'), { logger }));
