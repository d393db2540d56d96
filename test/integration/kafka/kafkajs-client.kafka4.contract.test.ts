// The Kafka contract, run against the kafkajs adapter on a Kafka 4.x broker this file starts and
// destroys itself. The outcome is recorded in docs/compatibility.md.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { serverVersions } from '../../../src/local/java-servers.js';
import { KafkaServer } from '../../../src/local/kafka-server.js';
import { createLogger } from '../../../src/logging/logger.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/kafkajs-client.js';
import { describeKafkaContract } from '../../contract/kafka/kafka-contract.js';
import { MemoryStream } from '../../support/memory-stream.js';

let server: KafkaServer | undefined;
const logs = new MemoryStream();
const logger = createLogger({ level: 'warn', destination: logs });

beforeAll(async () => {
  server = await KafkaServer.start({ build: 'kafka4' });
}, 180_000);

afterAll(async () => {
  await server?.destroy();
}, 60_000);

function brokers(): string[] {
  if (server === undefined) throw new Error('the Kafka 4 broker did not start');
  return [server.bootstrapServers];
}

describe('Kafka 4.x broker', () => {
  it(`is the 4.x line (${serverVersions().kafka4})`, () => {
    expect(serverVersions().kafka4).toMatch(/^4\./);
    expect(server?.build).toBe('kafka4');
  });
});

describeKafkaContract(`kafkajs adapter on Kafka ${serverVersions().kafka4}`, () => createKafkajsClient({ brokers: brokers(), clientId: 'sk-contract-kafka4' }, { logger }));
