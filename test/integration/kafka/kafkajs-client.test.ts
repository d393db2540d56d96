// What the kafkajs adapter must do beyond the shared contract: its logging, its handling of
// credentials, multi-fetch range reads, and kafkajs's habit of letting a deleted topic break
// requests about other topics.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../../../src/logging/logger.js';
import type { KafkaClient, OutgoingRecord } from '../../../src/runtime/kafka/kafka-client.js';
import { createKafkajsClient, type KafkajsClientOptions } from '../../../src/runtime/kafka/kafkajs-client.js';
import { kafkaBrokers } from '../../harness/servers.js';
import { MemoryStream } from '../../support/memory-stream.js';

const run = randomBytes(4).toString('hex');
let sequence = 0;
const unique = (what: string): string => `sk-adapter-${run}-${what}-${++sequence}`;

function records(count: number, prefix: string): OutgoingRecord[] {
  return Array.from({ length: count }, (_, i) => ({ key: null, value: Buffer.from(`${prefix}${i}`) }));
}

function clientLoggingTo(logs: MemoryStream, options: Omit<KafkajsClientOptions, 'logger'> = {}, clientId = 'sk-adapter'): KafkaClient {
  return createKafkajsClient({ brokers: kafkaBrokers(), clientId }, { ...options, logger: createLogger({ level: 'debug', destination: logs }) });
}

describe('kafkajs adapter', () => {
  const clients: KafkaClient[] = [];
  let admin: KafkaClient;
  const topics: string[] = [];

  async function newTopic(partitions = 1): Promise<string> {
    const topic = unique('topic');
    await admin.admin.createTopic(topic, { partitions });
    topics.push(topic);
    return topic;
  }

  function track(client: KafkaClient): KafkaClient {
    clients.push(client);
    return client;
  }

  beforeAll(() => {
    admin = track(createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'sk-adapter-admin' }));
  });

  afterAll(async () => {
    await Promise.allSettled(topics.map((t) => admin.admin.deleteTopic(t)));
    await Promise.allSettled(clients.map((c) => c.close()));
  });

  it('logs kafkajs output through the project logger, nothing below warn unless asked', async () => {
    const quietLogs = new MemoryStream();
    const quiet = track(clientLoggingTo(quietLogs));
    const topic = await newTopic();
    await (await quiet.producer()).send(topic, 0, records(1, 'q'));
    await quiet.admin.topicOffsets(topic);
    const kafkajsLines = (logs: MemoryStream): Record<string, unknown>[] => logs.jsonLines().filter((l) => l.kafkajs !== undefined);
    expect(kafkajsLines(quietLogs).filter((l) => l.level !== 'warn' && l.level !== 'error')).toEqual([]);

    const chattyLogs = new MemoryStream();
    const chatty = track(clientLoggingTo(chattyLogs, { kafkajsLogLevel: 'debug' }));
    await chatty.admin.topicOffsets(topic);
    const lines = kafkajsLines(chattyLogs);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ level: 'debug', kafka: { brokers: kafkaBrokers(), clientId: 'sk-adapter' }, kafkajs: { namespace: expect.any(String) as unknown } });
  });

  it('reports refused credentials as SK_KAFKA_AUTHENTICATION_FAILED and never logs them', async () => {
    const logs = new MemoryStream();
    const client = track(
      createKafkajsClient(
        { brokers: kafkaBrokers(), clientId: 'sk-adapter-sasl', sasl: { mechanism: 'scram-sha-512', username: 'user-that-must-not-be-logged', password: 'password-that-must-not-be-logged' } },
        { logger: createLogger({ level: 'trace', destination: logs }), kafkajsLogLevel: 'debug' },
      ),
    );
    // The harness broker's listener speaks PLAINTEXT, so it refuses any SASL handshake.
    await expect(client.admin.listTopics()).rejects.toMatchObject({ code: 'SK_KAFKA_AUTHENTICATION_FAILED' });
    await expect(client.producer()).rejects.toMatchObject({ code: 'SK_KAFKA_AUTHENTICATION_FAILED' });
    expect(logs.text()).toContain('scram-sha-512');
    expect(logs.text()).not.toContain('must-not-be-logged');
  });

  it('reads a range larger than one fetch with several fetches, record for record', async () => {
    const logs = new MemoryStream();
    const client = track(clientLoggingTo(logs, { kafkajsLogLevel: 'debug', rangeReaderLimits: { maxBytesPerFetch: 200 } }));
    const topic = await newTopic();
    const producer = await client.producer();
    for (let batch = 0; batch < 10; batch++) await producer.send(topic, 0, records(5, `b${batch}-`));
    const reader = await client.rangeReader();
    const before = logs.jsonLines().length;
    const read = await reader.readRange(topic, 0, 0, 50);
    const fetches = logs.jsonLines().slice(before).filter((l) => String(l.msg).startsWith('Request Fetch'));
    expect(read.map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(read.map((r) => r.value?.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `b${Math.floor(i / 5)}-${i % 5}`));
    expect(fetches.length).toBeGreaterThan(1);
  });

  it('keeps answering about other topics after a topic it used was deleted elsewhere', async () => {
    const client = track(createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'sk-adapter-poison' }));
    const [doomed, survivor] = [unique('doomed'), await newTopic()];
    await admin.admin.createTopic(doomed, { partitions: 1 });
    const producer = await client.producer();
    const reader = await client.rangeReader();
    await producer.send(doomed, 0, records(1, 'd'));
    expect(await reader.readRange(doomed, 0, 0, 1)).toHaveLength(1);
    await client.admin.topicOffsets(doomed);
    await client.admin.committedOffsets(unique('group'), doomed);

    expect(await admin.admin.deleteTopic(doomed)).toBe(true);

    expect(await producer.send(survivor, 0, records(2, 's'))).toMatchObject({ baseOffset: 0 });
    expect(await client.admin.topicOffsets(survivor)).toEqual([{ partition: 0, low: 0, high: 2 }]);
    expect(await client.admin.committedOffsets(unique('group'), survivor)).toEqual(new Map());
    expect((await reader.readRange(survivor, 0, 0, 2)).map((r) => r.value?.toString())).toEqual(['s0', 's1']);
    await expect(client.admin.topicOffsets(doomed)).rejects.toMatchObject({ code: 'SK_KAFKA_UNKNOWN_TOPIC' });
    await expect(reader.readRange(doomed, 0, 0, 1)).rejects.toMatchObject({ code: 'SK_KAFKA_UNKNOWN_TOPIC' });
  });

  it('sends to partitions added after the producer first wrote to the topic', async () => {
    const client = track(createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'sk-adapter-grow' }));
    const topic = await newTopic(1);
    const producer = await client.producer();
    await producer.send(topic, 0, records(1, 'p0-'));
    await admin.admin.addPartitions(topic, 2);
    expect(await producer.send(topic, 1, records(1, 'p1-'))).toEqual({ topic, partition: 1, baseOffset: 0 });
  });
});
