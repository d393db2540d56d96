// The Kafka contract, run against the in-memory fake the runtime's unit tests use.
import { InMemoryKafka } from '../../../../src/runtime/kafka/in-memory-kafka.js';
import { describeKafkaContract } from '../../../contract/kafka/kafka-contract.js';

const kafka = new InMemoryKafka();
describeKafkaContract('in-memory fake', () => kafka.client());
