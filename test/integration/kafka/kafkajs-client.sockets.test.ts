// Closing a kafkajs-backed client must leave no connection open: kafkajs 2.2.4 opens a second
// socket for a connection when requests race its connect and forgets the first, and such a socket
// kept executors alive after they had drained (SIGKILLed at the end of the grace period).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../../../src/logging/logger.js';
import type { KafkaClient } from '../../../src/runtime/kafka/kafka-client.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/kafkajs-client.js';
import { kafkaBrokers } from '../../harness/servers.js';
import { MemoryStream } from '../../support/memory-stream.js';

const partitions = 12;

/** TCP sockets that keep this process alive (what an exiting pod waits for). */
function openTcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

describe('closing a kafkajs client', () => {
  const topic = `sk-sockets-${randomBytes(4).toString('hex')}`;
  let setup: KafkaClient;

  beforeAll(async () => {
    setup = createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'sk-sockets-setup' });
    await setup.admin.createTopic(topic, { partitions });
    const producer = await setup.producer();
    for (let p = 0; p < partitions; p++) await producer.send(topic, p, [{ key: null, value: Buffer.from(`r${p}`) }]);
    await producer.close();
  });

  afterAll(async () => {
    await setup.admin.deleteTopic(topic).catch(() => undefined);
    await setup.close();
  });

  it('leaves no socket open, also those kafkajs lost track of when requests raced a connect', async () => {
    const logs = new MemoryStream();
    for (let round = 0; round < 3; round++) {
      const before = openTcpSockets();
      const client = createKafkajsClient({ brokers: kafkaBrokers(), clientId: `sk-sockets-${round}` }, { logger: createLogger({ level: 'debug', destination: logs }) });
      const reader = await client.rangeReader();
      const producer = await client.producer();
      // Concurrent fetches on a fresh reader each find its fetch connection not connected yet.
      const reads = await Promise.all(Array.from({ length: partitions }, (_, p) => reader.readRange(topic, p, 0, 1)));
      const answers = await Promise.all([...Array.from({ length: 8 }, () => client.admin.topicOffsets(topic)), ...Array.from({ length: 4 }, (_, p) => producer.send(topic, p, [{ key: null, value: Buffer.from('x') }]))]);
      expect(reads.map((records) => records.length)).toEqual(Array.from({ length: partitions }, () => 1));
      expect(answers).toHaveLength(12);
      expect(openTcpSockets()).toBeGreaterThan(before);

      await client.close();
      expect(openTcpSockets()).toBeLessThanOrEqual(before);
    }
    // The race did happen: kafkajs had left sockets open that close() destroyed.
    expect(logs.jsonLines().filter((l) => l.msg === 'destroyed Kafka connections kafkajs had left open').length).toBeGreaterThan(0);
  });

  it('refuses work once closed, so that no request opens a connection again', async () => {
    const client = createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'sk-sockets-closed' });
    await client.admin.listTopics();
    const before = openTcpSockets();
    await client.close();
    expect(openTcpSockets()).toBeLessThan(before);
    await expect(client.admin.listTopics()).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
    await expect(client.producer()).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
    await expect(client.rangeReader()).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
    expect(openTcpSockets()).toBeLessThan(before);
  });
});
