/**
 * The behaviour every KafkaClient must have, written once and run against the in-memory fake (unit
 * tests) and the kafkajs adapter on real brokers (integration tests), so the fake cannot drift from
 * Kafka. Each test uses its own topics, groups and transactional ids, so suites can share a broker.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { seededRandom } from '../../../src/machinery/random.js';
import { classify, type ErrorCode } from '../../../src/errors/index.js';
import type { ConsumedRecord, KafkaClient, KafkaTransaction, OutgoingRecord, RangeReader } from '../../../src/runtime/kafka/kafka-client.js';

export type KafkaClientFactory = () => KafkaClient | Promise<KafkaClient>;

function text(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

function outgoing(...values: string[]): OutgoingRecord[] {
  return values.map((v) => ({ key: text(`key-${v}`), value: text(v) }));
}

function valuesOf(records: readonly ConsumedRecord[]): string[] {
  return records.map((r) => r.value?.toString('utf8') ?? '<null>');
}

function offsetsOf(records: readonly ConsumedRecord[]): number[] {
  return records.map((r) => r.offset);
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}


/** Whether a promise has settled yet, without waiting for it. */
function watch(promise: Promise<unknown>): { settled: boolean } {
  const state = { settled: false };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

export function describeKafkaContract(label: string, newClient: KafkaClientFactory): void {
  describe(`Kafka contract: ${label}`, () => {
    const run = randomBytes(4).toString('hex');
    let sequence = 0;
    const unique = (what: string): string => `sk-contract-${run}-${what}-${++sequence}`;
    const topics: string[] = [];
    let client: KafkaClient;
    let other: KafkaClient; // a second client of the same cluster, as another pod would have
    let reader: RangeReader;

    async function newTopic(partitions = 1): Promise<string> {
      const topic = unique('topic');
      expect(await client.admin.createTopic(topic, { partitions })).toBe(true);
      topics.push(topic);
      return topic;
    }

    beforeAll(async () => {
      client = await newClient();
      other = await newClient();
      reader = await client.rangeReader();
    });

    afterAll(async () => {
      await Promise.allSettled(topics.map((t) => client.admin.deleteTopic(t)));
      await Promise.allSettled([client.close(), other.close()]);
    });

    describe('admin', () => {
      it('creates a topic with the requested partitions, all empty, and reports an existing one', async () => {
        const topic = await newTopic(3);
        expect(await client.admin.createTopic(topic, { partitions: 3 })).toBe(false);
        expect(await client.admin.listTopics()).toContain(topic);
        expect(await client.admin.topicOffsets(topic)).toEqual([
          { partition: 0, low: 0, high: 0 },
          { partition: 1, low: 0, high: 0 },
          { partition: 2, low: 0, high: 0 },
        ]);
        await client.admin.waitForLeaders(topic);
      });

      it('deletes a topic and reports one that does not exist', async () => {
        const topic = unique('doomed');
        await client.admin.createTopic(topic, { partitions: 1 });
        expect(await client.admin.deleteTopic(topic)).toBe(true);
        expect(await client.admin.listTopics()).not.toContain(topic);
        expect(await client.admin.deleteTopic(topic)).toBe(false);
      });

      it('lists topics sorted and without internal ones', async () => {
        await newTopic();
        const listed = await client.admin.listTopics();
        expect(listed).toEqual([...listed].sort());
        expect(listed.filter((t) => t.startsWith('__'))).toEqual([]);
      });

      it('reports topics that do not exist as SK_KAFKA_UNKNOWN_TOPIC', async () => {
        const missing = unique('missing');
        await expectCode(client.admin.topicOffsets(missing), 'SK_KAFKA_UNKNOWN_TOPIC');
        await expectCode(client.admin.committedOffsets(unique('group'), missing), 'SK_KAFKA_UNKNOWN_TOPIC');
        await expectCode(client.admin.waitForLeaders(missing, { timeoutMs: 1000 }), 'SK_KAFKA_UNKNOWN_TOPIC');
        await expectCode(reader.readRange(missing, 0, 0, 1, { timeoutMs: 5000 }), 'SK_KAFKA_UNKNOWN_TOPIC');
      });

      it('reports a partition the topic does not have as SK_KAFKA_UNKNOWN_TOPIC', async () => {
        const topic = await newTopic(1);
        const producer = await client.producer();
        await expectCode(producer.send(topic, 4, outgoing('x')), 'SK_KAFKA_UNKNOWN_TOPIC');
        await expectCode(reader.readRange(topic, 4, 0, 1, { timeoutMs: 5000 }), 'SK_KAFKA_UNKNOWN_TOPIC');
        await producer.close();
      });

      it('rejects malformed requests with SK_KAFKA_INVALID_REQUEST', async () => {
        const topic = await newTopic();
        const producer = await client.producer();
        await expectCode(client.admin.createTopic('not a topic name', { partitions: 1 }), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(client.admin.createTopic(unique('zero'), { partitions: 0 }), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(client.admin.addPartitions(topic, 1), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(producer.send(topic, 0, []), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(producer.send(topic, -1, outgoing('x')), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(reader.readRange(topic, 0, 5, 4), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(reader.readRange(topic, 0, -1, 4), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(client.admin.committedOffsets('', topic), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(client.transactionalProducer(''), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(client.transactionalProducer(unique('tx'), { transactionTimeoutMs: 0 }), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(client.transactionalProducer(unique('tx'), { transactionTimeoutMs: 3_600_000 }), 'SK_KAFKA_INVALID_REQUEST'); // above the broker's maximum
        await producer.close();
      });
    });

    describe('producing and reading', () => {
      it('round-trips keys, values, headers and timestamps at consecutive offsets', async () => {
        const topic = await newTopic(2);
        const producer = await client.producer();
        const sent: OutgoingRecord[] = [
          { key: text('a'), value: text('first'), headers: [{ key: 'trace', value: text('t-1') }], timestamp: 1_700_000_000_000 },
          { key: null, value: text('no key'), timestamp: 1_700_000_000_001 },
          { key: text('tombstone'), value: null, headers: [{ key: 'h', value: text('1') }, { key: 'h', value: text('2') }], timestamp: 1_700_000_000_002 },
        ];
        expect(await producer.send(topic, 1, sent)).toEqual({ topic, partition: 1, baseOffset: 0 });
        expect(await producer.send(topic, 1, outgoing('next'))).toEqual({ topic, partition: 1, baseOffset: 3 });

        const read = await reader.readRange(topic, 1, 0, 4);
        expect(read.map(({ topic: t, partition, offset, key, value, headers, timestamp }) => ({ t, partition, offset, key, value, headers, timestamp }))).toEqual([
          { t: topic, partition: 1, offset: 0, key: text('a'), value: text('first'), headers: [{ key: 'trace', value: text('t-1') }], timestamp: 1_700_000_000_000 },
          { t: topic, partition: 1, offset: 1, key: null, value: text('no key'), headers: [], timestamp: 1_700_000_000_001 },
          { t: topic, partition: 1, offset: 2, key: text('tombstone'), value: null, headers: [{ key: 'h', value: text('1') }, { key: 'h', value: text('2') }], timestamp: 1_700_000_000_002 },
          expect.objectContaining({ offset: 3, key: text('key-next'), value: text('next') }),
        ]);
        expect(await client.admin.topicOffsets(topic)).toEqual([
          { partition: 0, low: 0, high: 0 },
          { partition: 1, low: 0, high: 4 },
        ]);
        await producer.close();
      });

      it('groups repeated header keys together in first-appearance order', async () => {
        const topic = await newTopic();
        const producer = await client.producer();
        await producer.send(topic, 0, [{ key: null, value: text('v'), headers: [{ key: 'a', value: text('1') }, { key: 'b', value: text('2') }, { key: 'a', value: text('3') }] }]);
        const [record] = await reader.readRange(topic, 0, 0, 1);
        expect(record?.headers.map((h) => `${h.key}=${h.value.toString()}`)).toEqual(['a=1', 'a=3', 'b=2']);
        await producer.close();
      });

      it('reads exactly the records of a range in the middle, at the start and at the end of a partition', async () => {
        const topic = await newTopic();
        const producer = await client.producer();
        await producer.send(topic, 0, outgoing('0', '1', '2', '3'));
        await producer.send(topic, 0, outgoing('4', '5', '6'));
        await producer.send(topic, 0, outgoing('7', '8', '9'));
        expect(valuesOf(await reader.readRange(topic, 0, 3, 7))).toEqual(['3', '4', '5', '6']);
        expect(offsetsOf(await reader.readRange(topic, 0, 0, 2))).toEqual([0, 1]);
        expect(offsetsOf(await reader.readRange(topic, 0, 8, 10))).toEqual([8, 9]);
        expect(offsetsOf(await reader.readRange(topic, 0, 9, 10))).toEqual([9]);
        expect(offsetsOf(await reader.readRange(topic, 0, 0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        await producer.close();
      });

      it('returns nothing for an empty range, even at or past the end of the log', async () => {
        const topic = await newTopic();
        const producer = await client.producer();
        await producer.send(topic, 0, outgoing('0', '1'));
        expect(await reader.readRange(topic, 0, 1, 1)).toEqual([]);
        expect(await reader.readRange(topic, 0, 2, 2)).toEqual([]);
        expect(await reader.readRange(topic, 0, 50, 50)).toEqual([]);
        await producer.close();
      });

      it('returns identical records when ranges are read again and in any order by one reader', async () => {
        const topic = await newTopic(2);
        const producer = await client.producer();
        await producer.send(topic, 0, outgoing('a0', 'a1', 'a2', 'a3', 'a4', 'a5'));
        await producer.send(topic, 1, outgoing('b0', 'b1', 'b2'));
        const first = await reader.readRange(topic, 0, 2, 5);
        expect(valuesOf(await reader.readRange(topic, 1, 0, 3))).toEqual(['b0', 'b1', 'b2']);
        expect(valuesOf(await reader.readRange(topic, 0, 0, 6))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
        expect(await reader.readRange(topic, 0, 2, 5)).toEqual(first);
        expect(valuesOf(await reader.readRange(topic, 0, 0, 2))).toEqual(['a0', 'a1']);
        expect(await reader.readRange(topic, 0, 2, 5)).toEqual(first);
        await producer.close();
      });

      it('reads several partitions and topics concurrently with one reader', async () => {
        const [t1, t2] = [await newTopic(3), await newTopic(1)];
        const producer = await client.producer();
        await Promise.all([producer.send(t1, 0, outgoing('x0', 'x1')), producer.send(t1, 2, outgoing('z0')), producer.send(t2, 0, outgoing('y0', 'y1', 'y2'))]);
        const [x, z, y, empty] = await Promise.all([reader.readRange(t1, 0, 0, 2), reader.readRange(t1, 2, 0, 1), reader.readRange(t2, 0, 1, 3), reader.readRange(t1, 1, 0, 0)]);
        expect([valuesOf(x), valuesOf(z), valuesOf(y), empty]).toEqual([['x0', 'x1'], ['z0'], ['y1', 'y2'], []]);
        await producer.close();
      });

      it('reads partitions added after the reader first read the topic', async () => {
        const topic = await newTopic(1);
        const producer = await client.producer();
        await producer.send(topic, 0, outgoing('p0'));
        expect(valuesOf(await reader.readRange(topic, 0, 0, 1))).toEqual(['p0']);
        await client.admin.addPartitions(topic, 3);
        expect((await client.admin.topicOffsets(topic)).map((p) => p.partition)).toEqual([0, 1, 2]);
        const late = await other.producer();
        await late.send(topic, 2, outgoing('p2'));
        expect(valuesOf(await reader.readRange(topic, 2, 0, 1))).toEqual(['p2']);
        await Promise.all([producer.close(), late.close()]);
      });

      it('waits for records not written yet and returns them once they are', async () => {
        const topic = await newTopic();
        const producer = await client.producer();
        const pending = reader.readRange(topic, 0, 0, 3, { timeoutMs: 60_000 });
        const progress = watch(pending);
        await producer.send(topic, 0, outgoing('0', '1'));
        await client.admin.topicOffsets(topic); // a round trip: time for a wrongly early answer to show
        expect(progress.settled).toBe(false);
        await producer.send(topic, 0, outgoing('2'));
        expect(valuesOf(await pending)).toEqual(['0', '1', '2']);
        await producer.close();
      });

      it('fails with SK_TIMEOUT when the range does not become readable in time', async () => {
        const topic = await newTopic();
        const producer = await client.producer();
        await producer.send(topic, 0, outgoing('0'));
        const failure = await reader.readRange(topic, 0, 0, 2, { timeoutMs: 300 }).catch((err: unknown) => err);
        expect(failure).toMatchObject({ code: 'SK_TIMEOUT' });
        expect(classify(failure).kind).toBe('transient');
        await producer.close();
      });

      it('rejects a range starting beyond the end of the log with SK_KAFKA_OFFSET_OUT_OF_RANGE', async () => {
        const topic = await newTopic();
        const producer = await client.producer();
        await producer.send(topic, 0, outgoing('0', '1'));
        await expectCode(reader.readRange(topic, 0, 5, 8, { timeoutMs: 5000 }), 'SK_KAFKA_OFFSET_OUT_OF_RANGE');
        await producer.close();
      });

      it('fails a read waiting on a topic that is deleted meanwhile with SK_KAFKA_UNKNOWN_TOPIC', async () => {
        const topic = unique('vanishing');
        await client.admin.createTopic(topic, { partitions: 1 });
        const waiting = reader.readRange(topic, 0, 0, 1, { timeoutMs: 60_000 });
        const progress = watch(waiting);
        await client.admin.topicOffsets(topic);
        expect(progress.settled).toBe(false);
        await other.admin.deleteTopic(topic);
        await expectCode(waiting, 'SK_KAFKA_UNKNOWN_TOPIC');
      });

      it('refuses work once closed, also when the whole client closed', async () => {
        const topic = await newTopic();
        const ownReader = await client.rangeReader();
        const producer = await client.producer();
        await Promise.all([ownReader.close(), producer.close()]);
        await expectCode(ownReader.readRange(topic, 0, 0, 1), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(producer.send(topic, 0, outgoing('x')), 'SK_KAFKA_INVALID_REQUEST');

        const closing = await newClient();
        const [closingProducer, closingReader, closingTransactional] = [await closing.producer(), await closing.rangeReader(), await closing.transactionalProducer(unique('tx'))];
        await closing.close();
        await expectCode(closingProducer.send(topic, 0, outgoing('x')), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(closingReader.readRange(topic, 0, 0, 1), 'SK_KAFKA_INVALID_REQUEST');
        await expectCode(closingTransactional.begin(), 'SK_KAFKA_TRANSACTION_STATE');
      });
    });

    describe('transactions', () => {
      it('makes a committed transaction visible, with its marker taking an offset', async () => {
        const topic = await newTopic();
        const producer = await client.transactionalProducer(unique('tx'));
        const transaction = await producer.begin();
        expect(await transaction.send(topic, 0, outgoing('t0', 't1'))).toEqual({ topic, partition: 0, baseOffset: 0 });
        expect(await transaction.send(topic, 0, outgoing('t2'))).toEqual({ topic, partition: 0, baseOffset: 2 });
        await transaction.commit();
        expect(valuesOf(await reader.readRange(topic, 0, 0, 4))).toEqual(['t0', 't1', 't2']);
        expect(valuesOf(await reader.readRange(topic, 0, 1, 3))).toEqual(['t1', 't2']);
        expect(await reader.readRange(topic, 0, 3, 4)).toEqual([]); // only the commit marker
        expect(await client.admin.topicOffsets(topic)).toEqual([{ partition: 0, low: 0, high: 4 }]);
        await producer.close();
      });

      it('never returns records of an aborted transaction, though they and the marker take offsets', async () => {
        const topic = await newTopic();
        const plain = await client.producer();
        const producer = await client.transactionalProducer(unique('tx'));
        await plain.send(topic, 0, outgoing('p0', 'p1')); // 0, 1
        const aborted = await producer.begin();
        await aborted.send(topic, 0, outgoing('a2', 'a3', 'a4')); // 2, 3, 4
        await aborted.abort(); // marker at 5, written by the broker after abort() returns
        expect(valuesOf(await reader.readRange(topic, 0, 0, 6))).toEqual(['p0', 'p1']); // waits for it
        await plain.send(topic, 0, outgoing('p6')); // 6
        expect(valuesOf(await reader.readRange(topic, 0, 0, 7))).toEqual(['p0', 'p1', 'p6']);
        expect(offsetsOf(await reader.readRange(topic, 0, 0, 7))).toEqual([0, 1, 6]);
        expect(await reader.readRange(topic, 0, 2, 6)).toEqual([]);
        expect(await reader.readRange(topic, 0, 3, 5)).toEqual([]);
        expect(await reader.readRange(topic, 0, 5, 6)).toEqual([]);
        expect(valuesOf(await reader.readRange(topic, 0, 4, 7))).toEqual(['p6']);
        expect(await client.admin.topicOffsets(topic)).toEqual([{ partition: 0, low: 0, high: 7 }]);
        await Promise.all([plain.close(), producer.close()]);
      });

      it('filters interleaved transactions of several producers, aborted ones included, from any start', async () => {
        const topic = await newTopic();
        const [a, b, c] = await Promise.all([client.transactionalProducer(unique('tx-a')), client.transactionalProducer(unique('tx-b')), other.transactionalProducer(unique('tx-c'))]);
        const [ta, tb, tc] = await Promise.all([a.begin(), b.begin(), c.begin()]);
        await ta.send(topic, 0, outgoing('a0')); // 0
        await tb.send(topic, 0, outgoing('b1')); // 1
        await tc.send(topic, 0, outgoing('c2')); // 2
        await ta.send(topic, 0, outgoing('a3')); // 3
        await tb.send(topic, 0, outgoing('b4')); // 4
        await tc.send(topic, 0, outgoing('c5')); // 5
        await ta.abort(); // 6
        await tb.abort(); // 7
        await tc.commit(); // 8
        const committed = ['c2', 'c5'];
        expect(valuesOf(await reader.readRange(topic, 0, 0, 9))).toEqual(committed);
        for (const from of [1, 2, 3, 4, 5]) {
          expect(valuesOf(await reader.readRange(topic, 0, from, 9))).toEqual(from <= 2 ? committed : ['c5']);
        }
        expect(await reader.readRange(topic, 0, 3, 5)).toEqual([]);
        await Promise.all([a.close(), b.close(), c.close()]);
      });

      it('holds reads back at an open transaction until it is decided', async () => {
        const topic = await newTopic();
        const plain = await client.producer();
        const producer = await client.transactionalProducer(unique('tx'));
        const transaction = await producer.begin();
        await transaction.send(topic, 0, outgoing('t0', 't1')); // 0, 1: open
        await plain.send(topic, 0, outgoing('p2')); // 2: committed, but behind the open transaction
        expect(await client.admin.topicOffsets(topic)).toEqual([{ partition: 0, low: 0, high: 0 }]);
        const pending = reader.readRange(topic, 0, 0, 2, { timeoutMs: 60_000 });
        const behind = reader.readRange(topic, 0, 2, 3, { timeoutMs: 60_000 });
        const [progress, progressBehind] = [watch(pending), watch(behind)];
        await client.admin.topicOffsets(topic);
        expect([progress.settled, progressBehind.settled]).toEqual([false, false]);
        await expectCode(reader.readRange(topic, 0, 2, 3, { timeoutMs: 300 }), 'SK_TIMEOUT');
        await transaction.commit(); // marker at 3
        expect(valuesOf(await pending)).toEqual(['t0', 't1']);
        expect(valuesOf(await behind)).toEqual(['p2']);
        expect(valuesOf(await reader.readRange(topic, 0, 0, 4))).toEqual(['t0', 't1', 'p2']);
        expect(await client.admin.topicOffsets(topic)).toEqual([{ partition: 0, low: 0, high: 4 }]);
        await Promise.all([plain.close(), producer.close()]);
      });

      it('commits group offsets with the output, and drops them on abort', async () => {
        const [source, sink] = [await newTopic(2), await newTopic()];
        const group = unique('group');
        const id = unique('tx');
        let producer = await client.transactionalProducer(id);
        const committed = await producer.begin();
        await committed.send(sink, 0, outgoing('out-1'));
        await committed.commitOffsets(group, { topic: source, partition: 1, offset: 5 });
        await committed.commit();
        const dropped = await producer.begin();
        await dropped.send(sink, 0, outgoing('out-2'));
        await dropped.commitOffsets(group, { topic: source, partition: 1, offset: 9 }, { topic: source, partition: 0, offset: 3 });
        await dropped.abort();
        await producer.close();
        // Opening the id again settles anything pending, after which committed offsets are final.
        producer = await other.transactionalProducer(id);
        expect(await other.admin.committedOffsets(group, source)).toEqual(new Map([[1, 5]]));
        expect(await other.admin.committedOffsets(unique('other-group'), source)).toEqual(new Map());
        expect(valuesOf(await reader.readRange(sink, 0, 0, 4))).toEqual(['out-1']);
        await producer.close();
      });

      it('fences the older producer when a newer one opens with the same transactional id', async () => {
        const topic = await newTopic();
        const id = unique('tx');
        const older = await client.transactionalProducer(id);
        const zombie = await older.begin();
        await zombie.send(topic, 0, outgoing('zombie')); // 0
        const newer = await other.transactionalProducer(id); // aborts the zombie's transaction: marker at 1
        const failure = await zombie.commit().catch((err: unknown) => err);
        expect(failure).toMatchObject({ code: 'SK_KAFKA_FENCED' });
        expect(classify(failure).kind).toBe('permanent');
        await expectCode(older.begin(), 'SK_KAFKA_FENCED');

        const transaction = await newer.begin();
        await transaction.send(topic, 0, outgoing('winner')); // 2
        await transaction.commit(); // 3
        expect(valuesOf(await reader.readRange(topic, 0, 0, 4))).toEqual(['winner']);
        await Promise.all([older.close(), newer.close()]);
      });

      it('fails a fenced producer\'s sends and offset commits with SK_KAFKA_FENCED', async () => {
        const topic = await newTopic();
        const id = unique('tx');
        const older = await client.transactionalProducer(id);
        const newer = await client.transactionalProducer(id);
        await expectCode((await older.begin()).send(topic, 0, outgoing('late')), 'SK_KAFKA_FENCED');
        await older.close();
        const another = await client.transactionalProducer(id);
        await expectCode((await newer.begin()).commitOffsets(unique('group'), { topic, partition: 0, offset: 1 }), 'SK_KAFKA_FENCED');
        await Promise.all([newer.close(), another.close()]);
        expect(await client.admin.topicOffsets(topic)).toEqual([{ partition: 0, low: 0, high: 0 }]);
      });

      it('with sendOffsets off, resolves sends without offsets and makes them visible with their group offsets on commit', async () => {
        const topic = await newTopic(2);
        const group = unique('group');
        const id = unique('tx');
        const producer = await client.transactionalProducer(id, { sendOffsets: false });
        const transaction = await producer.begin();
        expect(await transaction.send(topic, 1, outgoing('a', 'b'))).toEqual({ topic, partition: 1, baseOffset: -1 });
        expect(await transaction.send(topic, 1, outgoing('c'))).toEqual({ topic, partition: 1, baseOffset: -1 });
        await transaction.commitOffsets(group, { topic, partition: 0, offset: 5 });
        await transaction.commit(); // marker at 3
        expect(valuesOf(await reader.readRange(topic, 1, 0, 4))).toEqual(['a', 'b', 'c']);
        expect(offsetsOf(await reader.readRange(topic, 1, 0, 4))).toEqual([0, 1, 2]);
        await producer.close();
        const settled = await other.transactionalProducer(id); // committed offsets are final after this
        expect(await other.admin.committedOffsets(group, topic)).toEqual(new Map([[0, 5]]));
        await settled.close();
      });

      it('with sendOffsets off, fails a fenced producer\'s transaction with SK_KAFKA_FENCED and shows none of its records', async () => {
        const topic = await newTopic();
        const id = unique('tx');
        const older = await client.transactionalProducer(id, { sendOffsets: false });
        const zombie = await older.begin();
        await zombie.send(topic, 0, outgoing('zombie'));
        const newer = await other.transactionalProducer(id, { sendOffsets: false });
        // The records were only queued: the zombie learns it was fenced when it sends or commits.
        const failure = await (async () => {
          await zombie.send(topic, 0, outgoing('late'));
          await zombie.commit();
        })().catch((err: unknown) => err);
        expect(failure).toMatchObject({ code: 'SK_KAFKA_FENCED' });

        const transaction = await newer.begin();
        await transaction.send(topic, 0, outgoing('winner'));
        await transaction.commit();
        // Where the zombie's records landed, if at all, varies; a last plain record bounds the read,
        // which waits until every earlier transaction is decided.
        const plain = await client.producer();
        const { baseOffset: last } = await plain.send(topic, 0, outgoing('last'));
        expect(valuesOf(await reader.readRange(topic, 0, 0, last + 1))).toEqual(['winner', 'last']);
        await Promise.all([older.close(), newer.close(), plain.close()]);
      });

      it('allows only abort after a send failed, then works again', async () => {
        const topic = await newTopic(1);
        const producer = await client.transactionalProducer(unique('tx'));
        const failed = await producer.begin();
        await failed.send(topic, 0, outgoing('kept?'));
        await expectCode(failed.send(topic, 7, outgoing('nowhere')), 'SK_KAFKA_UNKNOWN_TOPIC');
        await expectCode(failed.send(topic, 0, outgoing('more')), 'SK_KAFKA_TRANSACTION_STATE');
        await expectCode(failed.commit(), 'SK_KAFKA_TRANSACTION_STATE');
        await failed.abort();
        const retry = await producer.begin();
        await retry.send(topic, 0, outgoing('again')); // after the abort marker: 0 kept?, 1 marker, 2 again
        await retry.commit(); // 3
        expect(valuesOf(await reader.readRange(topic, 0, 0, 4))).toEqual(['again']);
        await producer.close();
      });

      it('refuses a second open transaction and any use of an ended one', async () => {
        const topic = await newTopic();
        const producer = await client.transactionalProducer(unique('tx'));
        const first = await producer.begin();
        await expectCode(producer.begin(), 'SK_KAFKA_TRANSACTION_STATE');
        await first.send(topic, 0, outgoing('x'));
        await first.commit();
        await expectCode(first.send(topic, 0, outgoing('y')), 'SK_KAFKA_TRANSACTION_STATE');
        await expectCode(first.commit(), 'SK_KAFKA_TRANSACTION_STATE');
        await expectCode(first.abort(), 'SK_KAFKA_TRANSACTION_STATE');
        const second = await producer.begin();
        await second.abort();
        await producer.close();
        await expectCode(producer.begin(), 'SK_KAFKA_TRANSACTION_STATE');
      });

      it('reads every sub-range exactly as the whole partition has it, across a mixed transactional workload', async () => {
        const topic = await newTopic();
        const random = seededRandom(20_240_611);
        const pick = (n: number): number => Math.floor(random() * n);
        const plain = await client.producer();
        const writers = await Promise.all([client.transactionalProducer(unique('tx-w1')), client.transactionalProducer(unique('tx-w2')), other.transactionalProducer(unique('tx-w3'))]);
        const open = new Map<number, { transaction: KafkaTransaction; values: string[] }>();
        const expected: string[] = [];
        let next = 0;
        const batch = (): string[] => Array.from({ length: 1 + pick(3) }, () => `v${next++}`);
        const end = async (writer: number, commit: boolean): Promise<void> => {
          const current = open.get(writer);
          if (current === undefined) return;
          open.delete(writer);
          if (commit) {
            await current.transaction.commit();
            expected.push(...current.values);
          } else {
            await current.transaction.abort();
          }
        };
        for (let step = 0; step < 40; step++) {
          const writer = pick(writers.length + 1);
          const producer = writers[writer];
          if (producer === undefined) {
            const values = batch();
            await plain.send(topic, 0, outgoing(...values));
            expected.push(...values);
            continue;
          }
          const current = open.get(writer) ?? { transaction: await producer.begin(), values: [] };
          open.set(writer, current);
          if (current.values.length > 0 && random() < 0.3) {
            await end(writer, random() < 0.5);
          } else {
            const values = batch();
            await current.transaction.send(topic, 0, outgoing(...values));
            current.values.push(...values);
          }
        }
        for (const writer of [...open.keys()]) await end(writer, writer % 2 === 0);
        // A last plain record: reading up to it waits until every earlier transaction is decided.
        const { baseOffset: last } = await plain.send(topic, 0, outgoing('last'));
        const whole = await reader.readRange(topic, 0, 0, last + 1);
        const byValue = (a: string, b: string): number => Number(a.slice(1)) - Number(b.slice(1));
        expect(valuesOf(whole).slice(0, -1).sort(byValue)).toEqual([...expected].sort(byValue));
        expect(offsetsOf(whole)).toEqual([...offsetsOf(whole)].sort((a, b) => a - b));

        const expectSlice = async (from: number, until: number): Promise<void> => {
          expect({ from, until, records: await reader.readRange(topic, 0, from, until) }).toEqual({ from, until, records: whole.filter((r) => r.offset >= from && r.offset < until) });
        };
        for (let i = 0; i < 25; i++) {
          const from = pick(last + 2);
          await expectSlice(from, from + pick(last + 2 - from));
        }
        // Consecutive ranges, as consecutive batches read them, add up to the whole.
        const pieces: ConsumedRecord[] = [];
        for (let from = 0; from <= last; ) {
          const until = Math.min(last + 1, from + 1 + pick(7));
          pieces.push(...(await reader.readRange(topic, 0, from, until)));
          from = until;
        }
        expect(pieces).toEqual(whole);
        await Promise.all([plain.close(), ...writers.map((w) => w.close())]);
      });

      it('leaves the log untouched when a transaction with nothing in it ends', async () => {
        const topic = await newTopic();
        const producer = await client.transactionalProducer(unique('tx'));
        await (await producer.begin()).commit();
        await (await producer.begin()).abort();
        expect(await client.admin.topicOffsets(topic)).toEqual([{ partition: 0, low: 0, high: 0 }]);
        await producer.close();
      });
    });
  });
}
