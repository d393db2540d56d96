// One Kafka client library's half of bench/kafka-clients.ts, in a process of its own so that its
// CPU and GC are its own:
//   node bench/run.mjs bench/kafka-clients-worker.ts <kafkajs|librdkafka|platformatic> BROKERS TOPIC RECORDS PARTITIONS
// 1. produce RECORDS records of ~100 bytes, exactly-once: one transaction per 20,000 records (the
//    runtime's task size, sent 5,000 at a time as the runtime does), partitions in turn;
// 2. read them back with read_committed: kafkajs and librdkafka through streamkeeper's adapters
//    (exact range reads, the partitions concurrently), @platformatic/kafka through its consumer.
// Prints one JSON line: seconds, CPU seconds and GC milliseconds of each phase.
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { createKafkaClient, type KafkaClientLibrary } from '../src/runtime/kafka/index.js';

const [library, brokerList, topic, recordsText, partitionsText] = process.argv.slice(2);
if (library === undefined || brokerList === undefined || topic === undefined) throw new Error('usage: kafka-clients-worker.ts LIBRARY BROKERS TOPIC RECORDS PARTITIONS');
const target: string = topic;
const brokers = brokerList.split(',');
const records = Number(recordsText);
const partitions = Number(partitionsText);
const transactionSize = 20_000;
const payload = 'x'.repeat(80);

let gcMs = 0;
const gcPauseKinds = new Set([constants.NODE_PERFORMANCE_GC_MINOR, constants.NODE_PERFORMANCE_GC_MAJOR]);
new PerformanceObserver((list) => {
  // Pauses only: scavenges and the final mark-compact. Incremental marking's entries span the
  // time the program ran between its steps, and concurrent marking runs on other threads.
  for (const entry of list.getEntries()) if (gcPauseKinds.has((entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0)) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

interface Phase {
  seconds: number;
  cpuSeconds: number;
  gcMs: number;
}

async function measure(action: () => Promise<void>): Promise<Phase> {
  const cpu = process.cpuUsage();
  const gc = gcMs;
  const started = performance.now();
  await action();
  const used = process.cpuUsage(cpu);
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6, gcMs: gcMs - gc };
}

function chunkValues(chunk: number): Buffer[] {
  const count = Math.min(transactionSize, records - chunk * transactionSize);
  return Array.from({ length: count }, (_v, i) => Buffer.from(`${chunk}-${i}-${payload}`));
}

const chunks = Math.ceil(records / transactionSize);
/** Records per send, as the runtime's task runner sends them: one send stays under the broker's 1 MB message limit. */
const sendSize = 5000;

function slices<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += sendSize) out.push(items.slice(i, i + sendSize));
  return out;
}

async function adapter(name: KafkaClientLibrary): Promise<{ produce: Phase; read: Phase }> {
  const client = createKafkaClient(name, { brokers, clientId: `bench-clients-${name}` });
  const producer = await client.transactionalProducer(`bench-clients-${name}-${topic}`);
  const produce = await measure(async () => {
    for (let c = 0; c < chunks; c++) {
      const transaction = await producer.begin();
      for (const slice of slices(chunkValues(c))) await transaction.send(target, c % partitions, slice.map((value) => ({ key: null, value })));
      await transaction.commit();
    }
  });
  await producer.close();
  const ends = await client.admin.topicOffsets(target);
  const reader = await client.rangeReader();
  let read = 0;
  const readPhase = await measure(async () => {
    await Promise.all(
      ends.map(async ({ partition, high }) => {
        for (let from = 0; from < high; from += transactionSize + 1) {
          // Awaited first: `read += await …` would read `read` before the await and lose the other partitions' counts.
          const got = await reader.readRange(target, partition, from, Math.min(high, from + transactionSize + 1));
          read += got.length;
        }
      }),
    );
  });
  if (read !== records) throw new Error(`read ${read} records, expected ${records}`);
  await client.close();
  return { produce, read: readPhase };
}

/** @platformatic/kafka, installed by bench/kafka-clients.ts into the cache (it needs Node >= 22.22). */
async function platformatic(): Promise<{ produce: Phase; read: Phase }> {
  const require = createRequire(join(process.env.PLATFORMATIC_KAFKA_DIR ?? join(homedir(), '.cache/streamkeeper/bench/platformatic-kafka'), 'package.json'));
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- an optional bench-only library without types here
  const { Producer, Consumer } = require('@platformatic/kafka');
  /* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
  const producer = new Producer({ clientId: 'bench-clients-platformatic', bootstrapBrokers: brokers, transactionalId: `bench-clients-platformatic-${topic}`, idempotent: true });
  const produce = await measure(async () => {
    for (let c = 0; c < chunks; c++) {
      const transaction = await producer.beginTransaction();
      for (const slice of slices(chunkValues(c))) await transaction.send({ messages: slice.map((value) => ({ topic, partition: c % partitions, key: null, value })) });
      await transaction.commit();
    }
  });
  await producer.close();
  const consumer = new Consumer({ clientId: 'bench-clients-platformatic', groupId: `bench-clients-platformatic-${topic}`, bootstrapBrokers: brokers });
  let read = 0;
  // A consumer group is this library's only way to read; its join (seconds, a fixed cost the
  // adapters' assign-style reads do not pay) is left out: the phase starts at the first record.
  let first: { cpu: NodeJS.CpuUsage; gc: number; at: number } | undefined;
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxBytes: 52_428_800 });
  await new Promise<void>((resolve, reject) => {
    stream.on('data', () => {
      first ??= { cpu: process.cpuUsage(), gc: gcMs, at: performance.now() };
      if (++read === records) resolve();
    });
    stream.on('error', reject);
  });
  const used = process.cpuUsage(first?.cpu);
  const readPhase: Phase = { seconds: (performance.now() - (first?.at ?? 0)) / 1000, cpuSeconds: (used.user + used.system) / 1e6, gcMs: gcMs - (first?.gc ?? 0) };
  await stream.close();
  await consumer.close(true);
  /* eslint-enable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
  return { produce, read: readPhase };
}

const result = library === 'platformatic' ? await platformatic() : await adapter(library as KafkaClientLibrary);
process.stdout.write(`${JSON.stringify({ library, node: process.version, ...result })}\n`);
process.exit(0);
