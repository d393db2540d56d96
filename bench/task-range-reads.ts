// Range reads on the default (librdkafka) adapter as the executor's tasks do them, on one broker:
//
//   node bench/run.mjs bench/task-range-reads.ts [--lines 400000] [--partitions 4] [--task-size 20000] [--process-ms 0]
//
// The source holds `--lines` lines of ~40 bytes (8 to 12 words) in `--partitions` partitions,
// written in batches of 5,000 as bench/stateful-throughput.ts writes them. It is read in
// task-sized ranges, batch by batch, twice on one reader:
//   - as ungrouped tasks read it (the baseline): a batch's ranges at once, one consumer each;
//   - as a partition group's map task reads it: one range after another, the next one started
//     while the current one is processed (`--process-ms` of busy main thread per range).
// Prints each pattern's time, how long the grouped task waited for each range, and the ratio.
//
// Uses KAFKA_BROKERS when set, else starts (and afterwards destroys) its own broker.
import { randomBytes } from 'node:crypto';
import { KafkaServer } from '../src/local/kafka-server.js';
import { createKafkaClient, type KafkaClient, type OutgoingRecord } from '../src/runtime/kafka/index.js';

function option(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${flag} must be a non-negative integer`);
  return value;
}

const totalLines = option('--lines', 400_000);
const partitions = option('--partitions', 4);
const taskSize = option('--task-size', 20_000);
const processMs = option('--process-ms', 0);
const perPartition = Math.ceil(totalLines / partitions);
const batches = Math.ceil(perPartition / taskSize);

function line(what: string, figure: string): void {
  process.stdout.write(`${what.padEnd(60)} ${figure}\n`);
}

/** A fixed-seed text of 8 to 12 words a line, from 16 syllables. */
function text(count: number): Buffer[] {
  let seed = 12;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zu', 'pe', 'da', 'gi', 'ho', 'ja', 'fu', 'be'];
  const word = (): string => Array.from({ length: 1 + Math.floor(random() * random() * 4) }, () => syllables[Math.floor(random() * 16)] ?? '').join('');
  return Array.from({ length: count }, () => Buffer.from(Array.from({ length: 8 + Math.floor(random() * 5) }, word).join(' ')));
}

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // the processor's work on the range
  }
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const range = (batch: number): [number, number] => [batch * taskSize, Math.min(perPartition, (batch + 1) * taskSize)];

async function readAsTasks(client: KafkaClient, topic: string): Promise<number> {
  const reader = await client.rangeReader();
  const started = performance.now();
  try {
    for (let b = 0; b < batches; b++) {
      const [from, until] = range(b);
      await Promise.all(
        Array.from({ length: partitions }, async (_v, p) => {
          const records = await reader.readRange(topic, p, from, until);
          busy(processMs);
          if (records.length !== until - from) throw new Error(`read ${records.length} records of [${from}, ${until})`);
        }),
      );
    }
    return performance.now() - started;
  } finally {
    await reader.close();
  }
}

async function readAsGroupTask(client: KafkaClient, topic: string): Promise<{ ms: number; waits: number[] }> {
  const reader = await client.rangeReader();
  const waits: number[] = [];
  const started = performance.now();
  try {
    for (let b = 0; b < batches; b++) {
      const [from, until] = range(b);
      let next = reader.readRange(topic, 0, from, until);
      for (let p = 0; p < partitions; p++) {
        const waitFrom = performance.now();
        const records = await next;
        waits.push(performance.now() - waitFrom);
        if (records.length !== until - from) throw new Error(`read ${records.length} records of [${from}, ${until})`);
        if (p + 1 < partitions) next = reader.readRange(topic, p + 1, from, until);
        busy(processMs);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return { ms: performance.now() - started, waits };
  } finally {
    await reader.close();
  }
}

const external = process.env.KAFKA_BROKERS;
const server = external === undefined ? await KafkaServer.start() : undefined;
const brokers = external?.split(',') ?? [server?.bootstrapServers ?? ''];
const writer = createKafkaClient('kafkajs', { brokers, clientId: 'bench-task-reads-writer' });
const client = createKafkaClient('librdkafka', { brokers, clientId: 'bench-task-reads' });
const topic = `bench-reads-${randomBytes(3).toString('hex')}`;
try {
  await writer.admin.createTopic(topic, { partitions });
  const producer = await writer.producer();
  const lines = text(perPartition);
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i += 5000) await producer.send(topic, p, lines.slice(i, i + 5000).map((value): OutgoingRecord => ({ key: null, value })));
  }
  await producer.close();
  const bytes = lines.reduce((n, l) => n + l.length, 0) / lines.length;
  line(`source: ${perPartition * partitions} lines of ~${bytes.toFixed(0)} bytes in ${partitions} partitions`, `${batches} batches of ${taskSize}-record ranges, ${processMs} ms processing per range`);
  const tasks = await readAsTasks(client, topic);
  line('a batch\'s ranges at once, as ungrouped tasks (baseline)', `${(tasks / 1000).toFixed(2)} s`);
  const group = await readAsGroupTask(client, topic);
  line('one range after another, as a group\'s map task', `${(group.ms / 1000).toFixed(2)} s = ${(group.ms / tasks).toFixed(2)}x the baseline's time`);
  line('  its wait for each range', `p50 ${quantile(group.waits, 0.5).toFixed(0)} ms, p90 ${quantile(group.waits, 0.9).toFixed(0)} ms, max ${Math.max(...group.waits).toFixed(0)} ms`);
} finally {
  await writer.admin.deleteTopic(topic).catch(() => undefined);
  await writer.close();
  await client.close();
  await server?.destroy();
}
