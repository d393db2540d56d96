// Figures for the Kafka adapter on a real broker: exact range reads (whole partition and task-sized
// ranges, over a log with transaction markers and aborted records), transactional batches
// (begin, send, commit offsets, commit) and opening a transactional producer (which fences).
//
//   node bench/run.mjs bench/kafka-range-reader.ts [records=20000] [kafka|kafka4]
//
// Uses KAFKA_BROKERS when set, else starts (and afterwards destroys) its own broker.
import { randomBytes } from 'node:crypto';
import { KafkaServer } from '../src/local/kafka-server.js';
import { createKafkajsClient, type KafkaClient, type OutgoingRecord } from '../src/runtime/kafka/index.js';

const total = Number(process.argv[2] ?? 20_000);
const build = process.argv[3] === 'kafka4' ? 'kafka4' : 'kafka';
const batchSize = 500;
const taskRange = 1_000;

function payload(i: number): OutgoingRecord {
  return { key: Buffer.from(`key-${i % 97}`), value: Buffer.from(`value-${i}-${'x'.repeat(80)}`) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function line(what: string, figure: string): void {
  process.stdout.write(`${what.padEnd(58)} ${figure}\n`);
}

async function timed<T>(action: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await action();
  return [result, Number(process.hrtime.bigint() - started) / 1e6];
}

async function bench(client: KafkaClient): Promise<void> {
  const topic = `bench-${randomBytes(4).toString('hex')}`;
  await client.admin.createTopic(topic, { partitions: 1 });
  try {
    // The source log: plain batches, committed and aborted transactions, as an upstream
    // exactly-once job leaves it.
    const plain = await client.producer();
    const transactional = await client.transactionalProducer(`${topic}-writer`);
    const [, writeMs] = await timed(async () => {
      for (let written = 0, n = 0; written < total; written += batchSize, n++) {
        const records = Array.from({ length: Math.min(batchSize, total - written) }, (_, i) => payload(written + i));
        if (n % 3 === 0) {
          await plain.send(topic, 0, records);
        } else {
          const transaction = await transactional.begin();
          await transaction.send(topic, 0, records);
          await (n % 3 === 1 ? transaction.commit() : transaction.abort());
        }
      }
    });
    const { baseOffset: end } = await plain.send(topic, 0, [payload(-1)]);
    line(`wrote ${total} records (1/3 plain, 1/3 committed, 1/3 aborted)`, `${(writeMs / 1000).toFixed(2)} s`);

    const reader = await client.rangeReader();
    const [whole, wholeMs] = await timed(() => reader.readRange(topic, 0, 0, end + 1));
    line(`read [0, ${end + 1}) in one range: ${whole.length} records`, `${wholeMs.toFixed(0)} ms, ${Math.round(whole.length / (wholeMs / 1000))} records/s`);

    const taskMs: number[] = [];
    let taskRecords = 0;
    for (let from = 0; from <= end; from += taskRange) {
      const until = Math.min(end + 1, from + taskRange);
      const [records, ms] = await timed(() => reader.readRange(topic, 0, from, until));
      taskRecords += records.length;
      taskMs.push(ms);
    }
    line(`read it again as ${taskMs.length} ranges of ${taskRange} offsets (${taskRecords} records)`, `median ${median(taskMs).toFixed(1)} ms, max ${Math.max(...taskMs).toFixed(1)} ms per range`);
    if (taskRecords !== whole.length) throw new Error(`ranges returned ${taskRecords} records, the whole read ${whole.length}`);

    const commitMs: number[] = [];
    const sink = await client.transactionalProducer(`${topic}-sink`);
    for (let i = 0; i < 20; i++) {
      const [, ms] = await timed(async () => {
        const transaction = await sink.begin();
        await transaction.send(topic, 0, [payload(i)]);
        await transaction.commitOffsets(`${topic}-group`, { topic, partition: 0, offset: i + 1 });
        await transaction.commit();
      });
      commitMs.push(ms);
    }
    line('exactly-once batch: begin, send 1, commit offsets, commit', `median ${median(commitMs).toFixed(1)} ms (20 runs)`);

    const openMs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const [producer, ms] = await timed(() => client.transactionalProducer(`${topic}-sink`));
      openMs.push(ms);
      await producer.close();
    }
    line('open a transactional producer (fences the previous one)', `median ${median(openMs).toFixed(1)} ms (10 runs)`);
  } finally {
    await client.admin.deleteTopic(topic);
  }
}

const external = process.env.KAFKA_BROKERS;
const server = external === undefined ? await KafkaServer.start({ build }) : undefined;
const brokers = external?.split(',') ?? [server?.bootstrapServers ?? ''];
line('broker', external === undefined ? `${build} started for this bench at ${brokers.join(',')}` : `${brokers.join(',')} (KAFKA_BROKERS)`);
const client = createKafkajsClient({ brokers, clientId: 'streamkeeper-bench' });
try {
  await bench(client);
} finally {
  await client.close();
  await server?.destroy();
}
