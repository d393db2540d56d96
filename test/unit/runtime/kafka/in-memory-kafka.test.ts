// What the in-memory fake offers unit tests beyond the shared contract: failure injection, a clock,
// and a look at what a partition holds.
import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError } from '../../../../src/errors/index.js';
import { InMemoryKafka } from '../../../../src/runtime/kafka/in-memory-kafka.js';

const value = (v: string) => ({ key: null, value: Buffer.from(v) });

async function setUp() {
  const kafka = new InMemoryKafka({ now: () => 1_000 });
  const client = kafka.client();
  await client.admin.createTopic('in', { partitions: 2 });
  await client.admin.createTopic('out', { partitions: 1 });
  return { kafka, client };
}

describe('in-memory Kafka', () => {
  it('stamps records produced without a timestamp with its clock', async () => {
    const { kafka, client } = await setUp();
    await (await client.producer()).send('in', 0, [value('a')]);
    expect(kafka.visibleRecords('in', 0)).toMatchObject([{ offset: 0, timestamp: 1_000 }]);
  });

  it('fails the next operation of a kind once, with a transient error unless given one', async () => {
    const { kafka, client } = await setUp();
    const producer = await client.producer();
    kafka.failNext('producer.send');
    await expect(producer.send('in', 0, [value('a')])).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR', kind: 'transient' });
    expect(kafka.visibleRecords('in', 0)).toEqual([]);
    await producer.send('in', 0, [value('a')]);
    kafka.failNext('readRange', { error: new StreamkeeperError('SK_KAFKA_NOT_AUTHORIZED', 'denied') });
    const reader = await client.rangeReader();
    await expect(reader.readRange('in', 0, 0, 1)).rejects.toMatchObject({ code: 'SK_KAFKA_NOT_AUTHORIZED' });
    expect(await reader.readRange('in', 0, 0, 1)).toHaveLength(1);
  });

  it('can lose the reply of a commit that did commit, as a retry must then discover', async () => {
    const { kafka, client } = await setUp();
    const producer = await client.transactionalProducer('job-in-0');
    const transaction = await producer.begin();
    await transaction.send('out', 0, [value('result')]);
    await transaction.commitOffsets('job', { topic: 'in', partition: 0, offset: 10 });
    kafka.failNext('transaction.commit', { afterApplying: true });
    await expect(transaction.commit()).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR' });
    await expect(producer.begin()).rejects.toMatchObject({ code: 'SK_KAFKA_TRANSACTION_STATE' });

    await client.transactionalProducer('job-in-0');
    expect(await client.admin.committedOffsets('job', 'in')).toEqual(new Map([[0, 10]]));
    expect(kafka.visibleRecords('out', 0).map((r) => r.value?.toString())).toEqual(['result']);
  });

  it('shows which transactional ids have a transaction open', async () => {
    const { kafka, client } = await setUp();
    const [a, b] = [await client.transactionalProducer('job-in-0'), await client.transactionalProducer('job-in-1')];
    await (await a.begin()).send('out', 0, [value('x')]);
    await b.begin(); // nothing sent yet: the coordinator does not know of it
    expect(kafka.openTransactions()).toEqual(['job-in-0']);
    await client.transactionalProducer('job-in-0'); // fences a, aborting its transaction
    expect(kafka.openTransactions()).toEqual([]);
    expect(kafka.visibleRecords('out', 0)).toEqual([]);
  });

  it('fails a read waiting on a topic that is deleted meanwhile', async () => {
    const { client } = await setUp();
    const reader = await client.rangeReader();
    const waiting = reader.readRange('in', 1, 0, 1, { timeoutMs: 60_000 });
    await client.admin.deleteTopic('in');
    await expect(waiting).rejects.toMatchObject({ code: 'SK_KAFKA_UNKNOWN_TOPIC' });
  });

  it('refuses transaction timeouts the broker would refuse', async () => {
    const { client } = await setUp();
    await expect(client.transactionalProducer('t', { transactionTimeoutMs: 0 })).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
    await expect(client.transactionalProducer('t', { transactionTimeoutMs: 3_600_000 })).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
  });

  it('closes what a client opened when the client closes', async () => {
    const { client } = await setUp();
    const [producer, reader, transactional] = [await client.producer(), await client.rangeReader(), await client.transactionalProducer('t')];
    await client.close();
    await expect(producer.send('in', 0, [value('x')])).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
    await expect(reader.readRange('in', 0, 0, 1)).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
    await expect(transactional.begin()).rejects.toMatchObject({ code: 'SK_KAFKA_TRANSACTION_STATE' });
    await expect(client.admin.listTopics()).rejects.toMatchObject({ code: 'SK_KAFKA_INVALID_REQUEST' });
  });
});
