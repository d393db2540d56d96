// Streaming runtime figures on a real ZooKeeper and Kafka, with the driver and executors as real
// processes (run from the sources):
//
//   node bench/run.mjs bench/runtime-throughput.ts [--records 400000] [--partitions 4] [--latency-seconds 15]
//                                                  [--clients kafkajs,librdkafka] [--baseline 976f0a7|none]
//                                                  [--copier on|off] [--plain on|off]
//                                                  [--jobs atLeastOnce/1,atLeastOnce/2,exactlyOnce/1,exactlyOnce/2]
//                                                  [--profile DIR] [--threads]
//
// 0. Reference: Kafka's own Java TransactionalMessageCopier (kafka-tools, the broker's version)
//    copies the source topic exactly-once with a transaction size equal to our task size, timed
//    from its first committed transaction to its last, with its CPU seconds over that span.
// 0b. Baseline: the runtime as it was at commit --baseline (default 976f0a7, the code the
//    records-per-CPU-second target was set against), materialised from this repository's history
//    into the cache (bench/support/baseline.ts) and run on a Node.js its engines accept, runs its
//    exactly-once passthrough job with one executor on the same broker and source topic; its
//    driver+executor CPU is measured exactly as for today's pods.
// 1. For each Kafka client library (the pods' STREAMKEEPER_KAFKA_CLIENT), on the same broker and
//    data: a plain consume→produce loop on that adapter, then passthrough jobs (at-least-once and
//    exactly-once, 1 and 2 executors) with records/s, records per CPU-second of driver+executors
//    and the share of that CPU spent in garbage collection. Targets: exactly-once with one executor
//    >= 1.0x the Java copier's records/s; records per CPU-second >= 2x the baseline commit's.
// 2. End-to-end latency at batchInterval 250 ms, exactly-once, 2 executors, per library: records
//    produced at a steady rate, latency = when a read_committed reader first sees the output record
//    minus the source record's timestamp (passthrough keeps it). Target: p99 < 1 s; p99.9 reported.
//
// --copier off, --plain off, --jobs and --latency-seconds 0 leave phases out (the ratios that need
// them are then not printed), for short runs while working on one figure. --profile DIR: the
// driver and executors write V8 CPU profiles (.cpuprofile) into DIR/<job>-<pod>/, one per thread
// (the main thread and the TypeScript loader's); they are
// stopped with SIGTERM so the profiles get written. --threads: each job's CPU by pod role and
// thread name (Node's main thread, V8's workers, librdkafka's rdk:* threads).
//
// The bench's own producer and reader (the instrument) are the kafkajs adapter for every library,
// so that the pods' library is the only thing that changes between rows.
//
// Uses ZK_CONNECT / KAFKA_BROKERS when set, else starts (and afterwards destroys) its own servers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { AclScheme, jobUser } from '../src/coordination/acl.js';
import { ConfigMirror, type JobConfigContent } from '../src/coordination/config-mirror.js';
import { CoordinationLayout, type JobRef } from '../src/coordination/layout.js';
import { ZooKeeperSession } from '../src/coordination/session.js';
import { ensureJobSubtree } from '../src/coordination/subtree.js';
import { TaskLedger } from '../src/coordination/task-ledger.js';
import { generateCredential } from '../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../src/coordination/zookeeper/native-client.js';
import { javaClasspath, javaCommand, serverLaunchSpec } from '../src/local/java-servers.js';
import { KafkaServer } from '../src/local/kafka-server.js';
import { ZooKeeperServer } from '../src/local/zookeeper-server.js';
import { createKafkaClient, kafkaClientLibraries, type KafkaClient, type KafkaClientLibrary, type OutgoingRecord } from '../src/runtime/kafka/index.js';
import { sinkPartition } from '../src/runtime/partitioner.js';
import { materialiseBaseline } from './support/baseline.js';

function option(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} must be a positive number`);
  return value;
}

const totalRecords = option('--records', 400_000);
const partitions = option('--partitions', 4);
const latencySeconds = ((): number => {
  const i = process.argv.indexOf('--latency-seconds');
  const value = i < 0 ? 15 : Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error('--latency-seconds must be 0 (no latency phase) or a positive number');
  return value;
})();
const latencyRate = option('--latency-rate', 2000);
const libraries = ((): KafkaClientLibrary[] => {
  const i = process.argv.indexOf('--clients');
  const names = (i < 0 ? 'kafkajs,librdkafka' : (process.argv[i + 1] ?? '')).split(',');
  for (const name of names) if (!(kafkaClientLibraries as readonly string[]).includes(name)) throw new Error(`--clients: unknown library ${name}`);
  return names as KafkaClientLibrary[];
})();

function onOff(flag: string): boolean {
  const i = process.argv.indexOf(flag);
  const value = i < 0 ? 'on' : process.argv[i + 1];
  if (value !== 'on' && value !== 'off') throw new Error(`${flag} must be on or off`);
  return value === 'on';
}

const runCopier = onOff('--copier');
const runPlain = onOff('--plain');
const jobKinds = ((): { delivery: 'atLeastOnce' | 'exactlyOnce'; executors: number }[] => {
  const i = process.argv.indexOf('--jobs');
  const names = (i < 0 ? 'atLeastOnce/1,atLeastOnce/2,exactlyOnce/1,exactlyOnce/2' : (process.argv[i + 1] ?? '')).split(',');
  return names.map((name) => {
    const [delivery, executors] = name.split('/');
    if ((delivery !== 'atLeastOnce' && delivery !== 'exactlyOnce') || !['1', '2'].includes(executors ?? '')) {
      throw new Error(`--jobs: ${name} is not atLeastOnce|exactlyOnce / 1|2`);
    }
    return { delivery, executors: Number(executors) };
  });
})();
const showThreads = process.argv.includes('--threads');
const profileDir = ((): string | undefined => {
  const i = process.argv.indexOf('--profile');
  return i < 0 ? undefined : process.argv[i + 1];
})();

const baselineRef = ((): string | undefined => {
  const i = process.argv.indexOf('--baseline');
  const ref = i < 0 ? '976f0a7' : (process.argv[i + 1] ?? '');
  if (ref === 'none') return undefined;
  if (!/^[0-9a-f]{7,40}$/.test(ref)) throw new Error('--baseline must be a commit id (7-40 hex digits) or none');
  return ref;
})();

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU milliseconds (user + system) a live process has used so far. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return 0; // exited
  }
}

/** CPU milliseconds of a live process by thread name (main thread, V8 workers, librdkafka's threads...). */
function threadCpuMs(pid: number | undefined): Map<string, number> {
  const byName = new Map<string, number>();
  if (pid === undefined) return byName;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName; // exited
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      byName.set(name, (byName.get(name) ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks);
    } catch {
      // the thread ended
    }
  }
  return byName;
}

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
  private readonly roles: string[] = [];
  private readonly gcDir = mkdtempSync(join(tmpdir(), 'bench-gc-'));

  constructor(
    private readonly operator: ZooKeeperSession,
    private readonly scheme: AclScheme,
    private readonly env: Servers,
    private readonly library: KafkaClientLibrary,
  ) {}

  /** CPU and GC milliseconds of the driver and executors so far, and CPU by role and thread name. */
  usage(): { cpuMs: number; gcMs: number; byThread: Map<string, number> } {
    let cpu = 0;
    let gc = 0;
    const byThread = new Map<string, number>();
    for (const [i, child] of this.processes.entries()) {
      cpu += cpuMs(child.pid);
      try {
        gc += Number(readFileSync(join(this.gcDir, String(i)), 'utf8')) || 0;
      } catch {
        // not written yet
      }
      for (const [name, ms] of threadCpuMs(child.pid)) {
        const key = `${this.roles[i] ?? '?'} ${name}`;
        byThread.set(key, (byThread.get(key) ?? 0) + ms);
      }
    }
    return { cpuMs: cpu, gcMs: gc, byThread };
  }

  async start(content: JobConfigContent, executors: number): Promise<void> {
    await ensureJobSubtree(this.operator, this.layout, this.ref, { ancestors: this.scheme.ancestors(), job: this.scheme.job(this.credential) });
    await new ConfigMirror(this.operator, this.layout).publish(this.ref, 1, content);
    for (let i = 0; i < executors; i++) this.spawn('executor', `executor-${i}`);
    this.spawn('driver', 'driver-0');
  }

  private spawn(role: string, pod: string): void {
    const gcFile = join(this.gcDir, String(this.processes.length));
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
        STREAMKEEPER_KAFKA_CLIENT: this.library,
        BENCH_GC_FILE: gcFile,
        ...(profileDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(profileDir, `${this.ref.name}-${pod}`)}` }),
      },
    });
    this.processes.push(child);
    this.roles.push(role);
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
            if (profileDir === undefined) {
              child.kill('SIGKILL');
              return;
            }
            // A profile is written when the process exits on its own.
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
          }),
      ),
    );
    rmSync(this.gcDir, { recursive: true, force: true });
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

interface CopyFigures {
  readonly recordsPerSecond: number;
  readonly recordsPerCpuSecond: number;
}

/**
 * Kafka's own exactly-once copier (consume → produce → sendOffsetsToTransaction → commit), one JVM
 * subscribed to the whole topic. It prints a status line after every transaction; the span from the
 * first to the last leaves out JVM start-up and the group join, as our jobs' figures leave out the
 * pods' start-up.
 */
async function javaCopier(env: Servers, source: string, sink: string, transactionSize: number): Promise<CopyFigures> {
  const spec = serverLaunchSpec('kafka');
  const logging = spec.toolJvmFlags.filter((f) => f.startsWith('-Dlog4j'));
  const id = randomBytes(3).toString('hex');
  const child = spawn(
    javaCommand(),
    [
      '-Xmx512m',
      ...logging,
      '-cp',
      javaClasspath('kafka'),
      'org.apache.kafka.tools.TransactionalMessageCopier',
      '--broker-list',
      env.brokers.join(','),
      '--input-topic',
      source,
      '--input-partition',
      '0',
      '--output-topic',
      sink,
      '--group-mode',
      '--use-group-metadata',
      '--consumer-group',
      `bench-copier-${id}`,
      '--transactional-id',
      `bench-copier-${id}`,
      '--transaction-size',
      String(transactionSize),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let first: { at: number; cpu: number; processed: number } | undefined;
  let last: { at: number; cpu: number; processed: number } | undefined;
  const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  for await (const text of createInterface({ input: child.stdout })) {
    let status: { stage?: string; totalProcessed?: number; remaining?: number };
    try {
      status = JSON.parse(text) as typeof status;
    } catch {
      continue;
    }
    if (status.stage !== 'ProcessLoop' || status.totalProcessed === undefined) continue;
    const point = { at: performance.now(), cpu: cpuMs(child.pid), processed: status.totalProcessed };
    first ??= point;
    last = point;
    if (status.totalProcessed >= totalRecords || status.remaining === 0) break;
  }
  clearTimeout(timer);
  child.kill('SIGKILL');
  if (first === undefined || last === undefined || last.processed <= first.processed) throw new Error('the Java copier reported no progress');
  const records = last.processed - first.processed;
  return { recordsPerSecond: records / ((last.at - first.at) / 1000), recordsPerCpuSecond: records / ((last.cpu - first.cpu) / 1000) };
}

interface JobFigures extends CopyFigures {
  readonly gcShare: number;
}

/**
 * The exactly-once passthrough job with one executor as the runtime ran it at an older commit, on
 * this run's servers and source topic (bench/support/baseline-job.mjs runs inside the old tree).
 */
async function baselineJob(env: Servers, ref: string, source: string, sink: string, chunk: number): Promise<JobFigures & { commit: string; nodeVersion: string }> {
  const tree = materialiseBaseline(ref);
  const spec = { tree: tree.dir, zkConnect: env.zkConnect, brokers: env.brokers, source, sink, records: totalRecords, chunk, delivery: 'exactlyOnce', executors: 1 };
  const child = spawn(tree.node, [join(tree.dir, 'bench', 'run.mjs'), join(import.meta.dirname, 'support', 'baseline-job.mjs'), 'job', JSON.stringify(spec)], {
    cwd: tree.dir,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: [dirname(tree.node), process.env.PATH ?? ''].join(delimiter) },
  });
  let result: JobFigures | undefined;
  for await (const text of createInterface({ input: child.stdout })) {
    try {
      result = JSON.parse(text) as JobFigures;
    } catch {
      // not the result line
    }
  }
  const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', resolve)));
  if (result === undefined || code !== 0) throw new Error(`the baseline job at ${ref} failed (exit ${code ?? 'by signal'}); see its messages above`);
  return { ...result, commit: tree.commit, nodeVersion: tree.nodeVersion };
}

async function main(): Promise<void> {
  const env = await servers();
  const kafka = createKafkaClient('kafkajs', { brokers: env.brokers, clientId: 'bench-runtime' });
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
    const chunk = 20_000; // the task size: maxRecordsPerPartition of the jobs below
    line(`source: ${totalRecords} records of ~100 bytes in ${partitions} partitions; task size ${chunk}`, '');

    let java: CopyFigures | undefined;
    if (runCopier) {
      await javaCopier(env, source, await topic('bench-java-warmup'), chunk); // warms the broker's page cache
      java = await javaCopier(env, source, await topic('bench-java'), chunk);
      line('Java TransactionalMessageCopier (kafka-tools), exactly-once', `${Math.round(java.recordsPerSecond)} records/s, ${Math.round(java.recordsPerCpuSecond)} records/CPU-s`);
    }
    /** " = 1.20x plain, 3.00x Java" for the references this run has. */
    const ratios = (rate: number, plain?: number): string => {
      const parts = [...(plain === undefined ? [] : [`${(rate / plain).toFixed(2)}x plain`]), ...(java === undefined ? [] : [`${(rate / java.recordsPerSecond).toFixed(2)}x Java`])];
      return parts.length === 0 ? '' : ` = ${parts.join(', ')}`;
    };

    const baseline = baselineRef === undefined ? undefined : await baselineJob(env, baselineRef, source, await topic('bench-baseline'), chunk);
    if (baseline !== undefined) {
      line(
        `[${baseline.commit.slice(0, 7)}, Node.js ${baseline.nodeVersion}] job, exactlyOnce, 1 executor(s)`,
        `${Math.round(baseline.recordsPerSecond)} records/s${ratios(baseline.recordsPerSecond)}; ${Math.round(baseline.recordsPerCpuSecond)} records/CPU-s; GC ${(baseline.gcShare * 100).toFixed(1)}% of CPU`,
      );
    }

    const figures = new Map<string, JobFigures>();
    for (const library of libraries) {
      let plain: number | undefined;
      if (runPlain) {
        const client = createKafkaClient(library, { brokers: env.brokers, clientId: `bench-plain-${library}` });
        await plainLoop(client, source, await topic('bench-warmup'), chunk); // warms the JIT
        plain = await plainLoop(client, source, await topic('bench-plain'), chunk);
        await client.close();
        line(`[${library}] plain consume→produce loop (same adapter)`, `${Math.round(plain)} records/s`);
      }

      for (const { delivery, executors } of jobKinds) {
        const job = new Job(operator, scheme, env, library);
        const sink = await topic('bench-out');
        await job.start(content(env, source, sink, delivery, '250ms', chunk), executors);
        const deadline = Date.now() + 300_000;
        while (!(await job.hasRecordedABatch())) {
          if (Date.now() > deadline) throw new Error('the job did not start');
          await sleep(20);
        }
        const started = performance.now();
        const before = job.usage();
        const startCommitted = await job.committed();
        while ((await job.committed()) < totalRecords) {
          if (Date.now() > deadline) throw new Error('the job did not finish in time');
          await sleep(20);
        }
        const after = job.usage();
        const moved = totalRecords - startCommitted;
        const rate = moved / ((performance.now() - started) / 1000);
        const cpu = after.cpuMs - before.cpuMs;
        const result = { recordsPerSecond: rate, recordsPerCpuSecond: moved / (cpu / 1000), gcShare: (after.gcMs - before.gcMs) / cpu };
        figures.set(`${library}/${delivery}/${executors}`, result);
        await job.stop();
        line(
          `[${library}] job, ${delivery}, ${executors} executor(s)`,
          `${Math.round(rate)} records/s${ratios(rate, plain)}; ${Math.round(result.recordsPerCpuSecond)} records/CPU-s; GC ${(result.gcShare * 100).toFixed(1)}% of CPU`,
        );
        if (showThreads) {
          const threads = [...after.byThread].map(([name, ms]) => [name, ms - (before.byThread.get(name) ?? 0)] as const).filter(([, ms]) => ms > 0);
          for (const [name, ms] of threads.sort((a, b) => b[1] - a[1])) line(`    ${name}`, `${(ms / 1000).toFixed(2)} CPU-s, ${((100 * ms) / cpu).toFixed(1)}%`);
        }
      }
    }

    const eos = (library: KafkaClientLibrary): JobFigures | undefined => figures.get(`${library}/exactlyOnce/1`);
    for (const library of libraries) {
      const f = eos(library);
      if (f !== undefined && java !== undefined) line(`[${library}] exactly-once, 1 executor vs the Java copier`, `${(f.recordsPerSecond / java.recordsPerSecond).toFixed(2)}x records/s (target >= 1.0x); ${(f.recordsPerCpuSecond / java.recordsPerCpuSecond).toFixed(2)}x records/CPU-s`);
    }
    const kafkajs = eos('kafkajs');
    for (const library of libraries.filter((l) => l !== 'kafkajs')) {
      const f = eos(library);
      if (f !== undefined && kafkajs !== undefined) {
        line(`[${library}] exactly-once, 1 executor vs kafkajs, records per CPU-second`, `${(f.recordsPerCpuSecond / kafkajs.recordsPerCpuSecond).toFixed(2)}x; GC ${(f.gcShare * 100).toFixed(1)}% vs ${(kafkajs.gcShare * 100).toFixed(1)}% of CPU`);
      }
    }
    for (const library of libraries) {
      const f = eos(library);
      if (f !== undefined && baseline !== undefined) {
        line(
          `[${library}] exactly-once, 1 executor`,
          `records per CPU-second vs ${baseline.commit.slice(0, 7)}: ${(f.recordsPerCpuSecond / baseline.recordsPerCpuSecond).toFixed(2)}x (target >= 2x); GC ${(f.gcShare * 100).toFixed(1)}% vs ${(baseline.gcShare * 100).toFixed(1)}% of CPU`,
        );
      }
    }

    // Latency: a steady stream through an exactly-once job with two executors, per library.
    for (const library of latencySeconds > 0 ? libraries : []) {
      const latencySource = await topic('bench-lat-in');
      const latencySink = await topic('bench-lat-out');
      const job = new Job(operator, scheme, env, library);
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
      line(
        `[${library}] end-to-end latency, batchInterval 250ms, exactly-once, 2 executors (${expected()} records at ~${latencyRate}/s)`,
        `p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms (target < 1000 ms), p99.9 ${percentile(sorted, 99.9)} ms, max ${sorted[sorted.length - 1] ?? Number.NaN} ms`,
      );
    }
  } finally {
    for (const t of topics) await kafka.admin.deleteTopic(t).catch(() => undefined);
    await kafka.close();
    await operator.close();
    await env.destroy();
  }
}

await main();
