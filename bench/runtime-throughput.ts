// Streaming runtime figures on a real ZooKeeper and Kafka, with the driver and executors as real
// processes (run from the sources):
//
//   node bench/run.mjs bench/runtime-throughput.ts [--records 200000] [--partitions 4] [--latency-seconds 15]
//
// 1. Passthrough throughput (records/s) of a job — at-least-once and exactly-once, with 1 and 2
//    executors — against a plain consume→produce loop on the same Kafka adapter, broker and data
//    (one read/produce loop per partition in one process), with the ratio. Targets: at-least-once
//    >= 0.8x the plain loop, exactly-once >= 0.5x.
// 2. End-to-end latency at batchInterval 250 ms, exactly-once, 2 executors: records produced at a
//    steady rate, latency = when a read_committed reader first sees the output record minus the
//    source record's timestamp (passthrough keeps it). Target: p99 < 1 s.
//
// Uses ZK_CONNECT / KAFKA_BROKERS when set, else starts (and afterwards destroys) its own servers.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AclScheme, jobUser } from '../src/coordination/acl.js';
import { ConfigMirror, type JobConfigContent } from '../src/coordination/config-mirror.js';
import { CoordinationLayout, type JobRef } from '../src/coordination/layout.js';
import { ZooKeeperSession } from '../src/coordination/session.js';
import { ensureJobSubtree } from '../src/coordination/subtree.js';
import { TaskLedger } from '../src/coordination/task-ledger.js';
import { generateCredential } from '../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../src/coordination/zookeeper/native-client.js';
import { KafkaServer } from '../src/local/kafka-server.js';
import { ZooKeeperServer } from '../src/local/zookeeper-server.js';
import { createKafkajsClient, type KafkaClient, type OutgoingRecord } from '../src/runtime/kafka/index.js';
import { sinkPartition } from '../src/runtime/partitioner.js';

function option(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number`);
  return value;
}

const totalRecords = option('--records', 200_000);
const partitions = option('--partitions', 4);
const latencySeconds = option('--latency-seconds', 15);
const latencyRate = option('--latency-rate', 2000);

function line(what: string, figure: string): void {
  process.stdout.write(`${what.padEnd(62)} ${figure}\n`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const payload = 'x'.repeat(80);

async function fill(kafka: KafkaClient, topic: string, count: number): Promise<void> {
  const producer = await kafka.producer();
  const perPartition = Math.ceil(count / partitions);
  await Promise.all(
    Array.from({ length: partitions }, async (_v, p) => {
      for (let i = 0; i < perPartition; i += 5000) {
        const records: OutgoingRecord[] = Array.from({ length: Math.min(5000, perPartition - i) }, (_w, j) => ({ key: null, value: Buffer.from(`${p}-${i + j}-${payload}`) }));
        await producer.send(topic, p, records);
      }
    }),
  );
  await producer.close();
}

/** The baseline: per partition, read a range, produce it, repeat — no coordination, no transactions. */
async function plainLoop(kafka: KafkaClient, source: string, sink: string, chunk: number): Promise<number> {
  const reader = await kafka.rangeReader();
  const producer = await kafka.producer();
  const sinkPartitions = (await kafka.admin.topicOffsets(sink)).length;
  const ends = await kafka.admin.topicOffsets(source);
  const started = performance.now();
  let moved = 0;
  await Promise.all(
    ends.map(async ({ partition, high }) => {
      for (let from = 0; from < high; from += chunk) {
        const records = await reader.readRange(source, partition, from, Math.min(high, from + chunk));
        const out = records.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp }));
        for (let i = 0; i < out.length; i += 5000) await producer.send(sink, sinkPartition(null, partition, sinkPartitions), out.slice(i, i + 5000));
        moved += records.length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await reader.close();
  await producer.close();
  return moved / seconds;
}

interface Servers {
  readonly zkConnect: string;
  readonly brokers: string[];
  destroy(): Promise<void>;
}

async function servers(): Promise<Servers> {
  const zk = process.env.ZK_CONNECT === undefined ? await ZooKeeperServer.start() : undefined;
  const kafka = process.env.KAFKA_BROKERS === undefined ? await KafkaServer.start() : undefined;
  return {
    zkConnect: process.env.ZK_CONNECT ?? zk?.connectString ?? '',
    brokers: (process.env.KAFKA_BROKERS ?? `127.0.0.1:${kafka?.port ?? 0}`).split(','),
    destroy: async () => {
      await kafka?.destroy();
      await zk?.destroy();
    },
  };
}

class Job {
  readonly ref: JobRef = { namespace: 'bench', name: `job-${randomBytes(3).toString('hex')}` };
  readonly layout = new CoordinationLayout(`/bench-${randomBytes(4).toString('hex')}`);
  readonly credential = generateCredential(jobUser(this.ref));
  private readonly processes: ChildProcess[] = [];

  constructor(
    private readonly operator: ZooKeeperSession,
    private readonly scheme: AclScheme,
    private readonly env: Servers,
  ) {}

  async start(content: JobConfigContent, executors: number): Promise<void> {
    await ensureJobSubtree(this.operator, this.layout, this.ref, { ancestors: this.scheme.ancestors(), job: this.scheme.job(this.credential) });
    await new ConfigMirror(this.operator, this.layout).publish(this.ref, 1, content);
    for (let i = 0; i < executors; i++) this.spawn('executor', `executor-${i}`);
    this.spawn('driver', 'driver-0');
  }

  private spawn(role: string, pod: string): void {
    const child = spawn(process.execPath, ['bench/run.mjs', 'bench/runtime-pod.ts', role, '--log-format=json', '--log-level=warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH,
        STREAMKEEPER_JOB: `${this.ref.namespace}/${this.ref.name}`,
        POD_NAME: pod,
        ZK_CONNECT: this.env.zkConnect,
        STREAMKEEPER_ZK_ROOT: this.layout.root,
        STREAMKEEPER_ZK_USER: this.credential.user,
        STREAMKEEPER_ZK_PASSWORD: this.credential.password,
        STREAMKEEPER_METRICS_ADDR: '127.0.0.1:0',
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
      },
    });
    this.processes.push(child);
  }

  /** Committed records summed over partitions, from the driver's offsets znode. */
  async committed(): Promise<number> {
    const read = await new TaskLedger(this.operator, this.layout).readOffsets(this.ref);
    return (read?.record.partitions ?? []).reduce((sum, p) => sum + Number(p.next), 0);
  }

  async hasRecordedABatch(): Promise<boolean> {
    const read = await new TaskLedger(this.operator, this.layout).readOffsets(this.ref);
    return read !== null;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) {
              resolve();
              return;
            }
            child.once('exit', () => {
              resolve();
            });
            child.kill('SIGKILL');
          }),
      ),
    );
  }
}

function content(env: Servers, source: string, sink: string, delivery: 'exactlyOnce' | 'atLeastOnce', batchInterval: string, maxRecordsPerPartition: number): JobConfigContent {
  return {
    config: {},
    processor: { name: 'passthrough', params: {} },
    batchInterval,
    maxRecordsPerPartition,
    maxTaskAttempts: 4,
    source: { bootstrapServers: env.brokers, topics: [source], startingOffsets: 'earliest' },
    sink: { bootstrapServers: env.brokers, topic: sink, delivery },
    failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'fail' },
  };
}

async function main(): Promise<void> {
  const env = await servers();
  const kafka = createKafkajsClient({ brokers: env.brokers, clientId: 'bench-runtime' });
  const operatorCredential = generateCredential('streamkeeper-operator');
  const scheme = AclScheme.digest(operatorCredential);
  const operator = await ZooKeeperSession.open({ connector: (o) => NativeZooKeeperClient.connect(o), connectString: env.zkConnect, auth: scheme.operatorAuth });
  const topics: string[] = [];
  const topic = async (name: string): Promise<string> => {
    const full = `${name}-${randomBytes(3).toString('hex')}`;
    await kafka.admin.createTopic(full, { partitions });
    topics.push(full);
    return full;
  };
  try {
    const source = await topic('bench-in');
    await fill(kafka, source, totalRecords);
    line(`source: ${totalRecords} records of ~100 bytes in ${partitions} partitions`, '');

    const chunk = 20_000;
    await plainLoop(kafka, source, await topic('bench-warmup'), chunk); // warms the broker's page cache and the JIT
    const plain = await plainLoop(kafka, source, await topic('bench-plain'), chunk);
    line('plain consume→produce loop (same adapter)', `${Math.round(plain)} records/s`);

    for (const delivery of ['atLeastOnce', 'exactlyOnce'] as const) {
      for (const executors of [1, 2]) {
        const job = new Job(operator, scheme, env);
        const sink = await topic('bench-out');
        await job.start(content(env, source, sink, delivery, '250ms', chunk), executors);
        const deadline = Date.now() + 300_000;
        while (!(await job.hasRecordedABatch())) {
          if (Date.now() > deadline) throw new Error('the job did not start');
          await sleep(20);
        }
        const started = performance.now();
        while ((await job.committed()) < totalRecords) {
          if (Date.now() > deadline) throw new Error('the job did not finish in time');
          await sleep(20);
        }
        const rate = totalRecords / ((performance.now() - started) / 1000);
        await job.stop();
        line(`job, ${delivery}, ${executors} executor(s)`, `${Math.round(rate)} records/s = ${(rate / plain).toFixed(2)}x plain (target ${delivery === 'atLeastOnce' ? '0.8' : '0.5'}x)`);
      }
    }

    // Latency: a steady stream through an exactly-once job with two executors.
    const latencySource = await topic('bench-lat-in');
    const latencySink = await topic('bench-lat-out');
    const job = new Job(operator, scheme, env);
    await job.start(content(env, latencySource, latencySink, 'exactlyOnce', '250ms', 10_000), 2);
    while (!(await job.hasRecordedABatch())) await sleep(20);
    await sleep(2000); // past start-up
    const producer = await kafka.producer();
    const reader = await kafka.rangeReader();
    const latencies: number[] = [];
    const positions = new Map<number, number>();
    let producing = true;
    const isProducing = (): boolean => producing;
    const produced = (async () => {
      const perTick = Math.max(1, Math.round(latencyRate / 50));
      let n = 0;
      const end = Date.now() + latencySeconds * 1000;
      while (Date.now() < end) {
        const tick = Date.now();
        const p = n % partitions;
        await producer.send(latencySource, p, Array.from({ length: perTick }, (_v, i) => ({ key: null, value: Buffer.from(`${n}-${i}`), timestamp: Date.now() })));
        n += 1;
        await sleep(Math.max(0, 20 - (Date.now() - tick)));
      }
      producing = false;
    })();
    const expected = () => latencies.length;
    let idleSince = Date.now();
    while (isProducing() || Date.now() - idleSince < 3000) {
      let got = 0;
      for (const { partition, high } of await kafka.admin.topicOffsets(latencySink)) {
        const from = positions.get(partition) ?? 0;
        if (high <= from) continue;
        const records = await reader.readRange(latencySink, partition, from, high);
        const now = Date.now();
        for (const r of records) latencies.push(now - r.timestamp);
        got += records.length;
        positions.set(partition, high);
      }
      if (got > 0) idleSince = Date.now();
      await sleep(5);
    }
    await produced;
    await job.stop();
    await producer.close();
    await reader.close();
    const sorted = [...latencies].sort((a, b) => a - b);
    line(`end-to-end latency, batchInterval 250ms, exactly-once, 2 executors (${expected()} records at ~${latencyRate}/s)`, `p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms (target p99 < 1000 ms)`);
  } finally {
    for (const t of topics) await kafka.admin.deleteTopic(t).catch(() => undefined);
    await kafka.close();
    await operator.close();
    await env.destroy();
  }
}

await main();
