// Running-total wordcount against the stateless passthrough, exactly once, on the same data in the
// same run, with the driver and executors as real processes on a real ZooKeeper and Kafka:
//
//   node bench/run.mjs bench/stateful-throughput.ts [--lines 400000] [--partitions 4] [--executors 1]
//                                                   [--task-size 20000] [--rounds 1] [--partition-groups 1]
//                                                   [--profile DIR] [--logs DIR]
//
// The source holds `--lines` lines of ~10 words (a fixed-seed, Zipf-like vocabulary of 20,000
// words) in `--partitions` partitions. Both jobs read it from the start with exactly-once delivery:
//   - passthrough: each line copied to the sink (the baseline);
//   - wordcount as the operator configures it without spec.aggregation: the map stage counts the
//     words of each task and pre-aggregates them per word, the aggregate stage keeps one running
//     total per word in the changelog and writes each changed total to the sink.
//   - the same wordcount with the source partitions in `--partition-groups` groups (the spec's
//     spec.source.kafka.partitionGroups, set here in the mirrored config): one map task per group and batch reads all
//     of the group's partitions in one transaction, so its partials combine across partitions
//     before the shuffle.
// Records/s counts input lines, from the first recorded batch until the last line is committed —
// for wordcount, until every partial is aggregated too, so its totals are final. Target: wordcount
// >= 1.0x passthrough. The wordcount sink's final totals are checked against the input.
//
// --profile DIR: the driver and executors write V8 CPU profiles (.cpuprofile, for Chrome DevTools or
// speedscope) into DIR/<job>-<pod>/, one per thread (the largest is the main thread's: the module
// loader runs on a thread of its own); they are stopped with SIGTERM so the profiles get written.
//
// --logs DIR: the driver and executors log at debug level into DIR, one JSON-lines file per process
// (batches recorded and committed, tasks done with their duration), to trace where a batch waits.
//
// Uses ZK_CONNECT / KAFKA_BROKERS when set, else starts (and afterwards destroys) its own servers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyDefaults, type StreamingJobSpec } from '../src/api/v1alpha1/index.js';
import { AclScheme, jobUser } from '../src/coordination/acl.js';
import { ConfigMirror, type JobConfigContent } from '../src/coordination/config-mirror.js';
import { CoordinationLayout, type JobRef } from '../src/coordination/layout.js';
import { ZooKeeperSession } from '../src/coordination/session.js';
import { ensureJobSubtree } from '../src/coordination/subtree.js';
import { TaskLedger } from '../src/coordination/task-ledger.js';
import { generateCredential } from '../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../src/coordination/zookeeper/native-client.js';
import { compareCounts, countWords, latestSinkTotals } from '../src/demo/word-counts.js';
import { KafkaServer } from '../src/local/kafka-server.js';
import { ZooKeeperServer } from '../src/local/zookeeper-server.js';
import { jobConfigContent } from '../src/operator/reconciler/job-config.js';
import { createKafkaClient, type ConsumedRecord, type KafkaClient, type OutgoingRecord } from '../src/runtime/kafka/index.js';
import { changelogTopic, repartitionTopic } from '../src/runtime/kafka-names.js';

function option(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${flag} must be a positive integer`);
  return value;
}

const totalLines = option('--lines', 400_000);
const partitions = option('--partitions', 4);
const executors = option('--executors', 1);
const taskSize = option('--task-size', 20_000);
const rounds = option('--rounds', 1);
const partitionGroups = option('--partition-groups', 1);
const vocabularySize = 20_000;
const profileDir = ((): string | undefined => {
  const i = process.argv.indexOf('--profile');
  return i < 0 ? undefined : process.argv[i + 1];
})();

const logDir = ((): string | undefined => {
  const i = process.argv.indexOf('--logs');
  return i < 0 ? undefined : process.argv[i + 1];
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

function line(what: string, figure: string): void {
  process.stdout.write(`${what.padEnd(64)} ${figure}\n`);
}

/** A fixed-seed source of numbers in [0, 1) (mulberry32), so every run feeds the same text. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const syllables = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'zu', 'pe', 'da', 'gi', 'ho', 'ja', 'fu', 'be'];

/** Lines of 8 to 12 words; word i of the vocabulary is drawn about 1/(i+1) as often as the first. */
function textLines(count: number, seed: number): string[] {
  const random = seeded(seed);
  const vocabulary = Array.from({ length: vocabularySize }, (_v, i) => {
    let word = '';
    for (let n = i + 1; n > 0; n = Math.floor(n / syllables.length)) word += syllables[n % syllables.length] ?? '';
    return word;
  });
  // Zipf(1) by inverse transform over the harmonic partial sums.
  const cumulative: number[] = [];
  let sum = 0;
  for (let i = 0; i < vocabularySize; i++) cumulative.push((sum += 1 / (i + 1)));
  const pick = (): string => {
    const target = random() * sum;
    let lo = 0;
    let hi = vocabularySize - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] ?? 0) < target) lo = mid + 1;
      else hi = mid;
    }
    return vocabulary[lo] ?? '';
  };
  return Array.from({ length: count }, () => Array.from({ length: 8 + Math.floor(random() * 5) }, pick).join(' '));
}

async function fill(kafka: KafkaClient, topic: string, lines: readonly string[]): Promise<void> {
  const producer = await kafka.producer();
  const perPartition = Math.ceil(lines.length / partitions);
  await Promise.all(
    Array.from({ length: partitions }, async (_v, p) => {
      const mine = lines.slice(p * perPartition, (p + 1) * perPartition);
      for (let i = 0; i < mine.length; i += 5000) {
        const records: OutgoingRecord[] = mine.slice(i, i + 5000).map((text) => ({ key: null, value: Buffer.from(text) }));
        await producer.send(topic, p, records);
      }
    }),
  );
  await producer.close();
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

/** Every pod process still running: killed when the bench ends, also when it fails half-way. */
const spawned = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of spawned) child.kill('SIGKILL');
});

/** A job set up as the operator would (subtree, digest ACLs, config znode), its pods as processes. */
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

  /** CPU milliseconds of the driver and executors so far. */
  cpuMs(): number {
    return this.processes.reduce((sum, child) => sum + cpuMs(child.pid), 0);
  }

  async start(content: JobConfigContent): Promise<void> {
    await ensureJobSubtree(this.operator, this.layout, this.ref, { ancestors: this.scheme.ancestors(), job: this.scheme.job(this.credential) });
    await new ConfigMirror(this.operator, this.layout).publish(this.ref, 1, content);
    for (let i = 0; i < executors; i++) this.spawn('executor', `executor-${i}`);
    this.spawn('driver', 'driver-0');
  }

  private spawn(role: string, pod: string): void {
    const log = logDir === undefined ? 'ignore' : openSync(join(logDir, `${this.ref.name}-${pod}.log`), 'w');
    const child = spawn(process.execPath, ['bench/run.mjs', 'bench/runtime-pod.ts', role, '--log-format=json', `--log-level=${logDir === undefined ? 'warn' : 'debug'}`], {
      stdio: ['ignore', log, log === 'ignore' ? 'inherit' : log],
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
        ...(process.env.STREAMKEEPER_KAFKA_CLIENT === undefined ? {} : { STREAMKEEPER_KAFKA_CLIENT: process.env.STREAMKEEPER_KAFKA_CLIENT }),
        ...(profileDir === undefined ? {} : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(profileDir, `${this.ref.name}-${pod}`)}` }),
      },
    });
    this.processes.push(child);
    spawned.add(child);
    child.once('exit', () => spawned.delete(child));
  }

  /** Committed positions by topic/partition, from the driver's offsets znode; null before the first batch. */
  async positions(): Promise<Map<string, number> | null> {
    const read = await new TaskLedger(this.operator, this.layout).readOffsets(this.ref);
    if (read === null) return null;
    return new Map(read.record.partitions.map((p) => [`${p.topic}/${p.partition}`, Number(p.next)]));
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
  }
}

interface Figures {
  readonly linesPerSecond: number;
  readonly linesPerCpuSecond: number;
  readonly seconds: number;
}

async function main(): Promise<void> {
  if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
  const env = await servers();
  const kafka = createKafkaClient('kafkajs', { brokers: env.brokers, clientId: 'bench-stateful' });
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
  const source = await topic('bench-lines');
  const lines = textLines(totalLines, 12);
  const words = lines.reduce((n, text) => n + text.split(' ').length, 0);

  /** The job the operator would mirror for `processor`, reading `source` from the start into `sink`. */
  const content = (processor: 'passthrough' | 'wordcount', sink: string, groups?: number): JobConfigContent => {
    const spec: StreamingJobSpec = {
      image: 'streamkeeper/streamkeeper:0.1.0',
      batchInterval: '250ms',
      source: { kafka: { bootstrapServers: env.brokers, topics: [source], startingOffsets: 'earliest', maxRecordsPerPartition: taskSize } },
      sink: { kafka: { topic: sink, delivery: 'exactlyOnce' } },
      processor: { builtin: processor },
      executors: { replicas: executors },
    };
    return { ...jobConfigContent(applyDefaults(spec)), ...(groups === undefined ? {} : { partitionGroups: groups }) };
  };

  /** Runs one job over the whole source; done when `finished` holds for the recorded positions. */
  const run = async (processor: 'passthrough' | 'wordcount', sink: string, groups?: number): Promise<{ figures: Figures; job: Job }> => {
    const job = new Job(operator, scheme, env);
    await job.start(content(processor, sink, groups));
    const deadline = Date.now() + 600_000;
    let positions: Map<string, number> | null;
    while ((positions = await job.positions()) === null) {
      if (Date.now() > deadline) throw new Error(`${processor}: the job did not start`);
      await sleep(20);
    }
    const started = performance.now();
    const cpuBefore = job.cpuMs();
    const linesBefore = [...positions].filter(([key]) => key.startsWith(`${source}/`)).reduce((n, [, next]) => n + next, 0);
    const repartition = repartitionTopic(job.ref);
    for (;;) {
      positions = (await job.positions()) ?? new Map<string, number>();
      const committed = [...positions].filter(([key]) => key.startsWith(`${source}/`)).reduce((n, [, next]) => n + next, 0);
      if (committed >= totalLines) {
        if (processor === 'passthrough') break;
        const current = positions;
        const highs = await kafka.admin.topicOffsets(repartition);
        if (highs.every(({ partition, high }) => (current.get(`${repartition}/${partition}`) ?? 0) >= high)) break;
      }
      if (Date.now() > deadline) throw new Error(`${processor}: the job did not finish in time`);
      await sleep(20);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = (job.cpuMs() - cpuBefore) / 1000;
    const moved = totalLines - linesBefore;
    await job.stop();
    return { figures: { linesPerSecond: moved / seconds, linesPerCpuSecond: moved / cpuSeconds, seconds }, job };
  };

  const readAll = async (name: string): Promise<ConsumedRecord[]> => {
    const reader = await kafka.rangeReader();
    try {
      const out: ConsumedRecord[] = [];
      for (const { partition, high } of await kafka.admin.topicOffsets(name)) if (high > 0) out.push(...(await reader.readRange(name, partition, 0, high)));
      return out;
    } finally {
      await reader.close();
    }
  };

  try {
    await fill(kafka, source, lines);
    line(`source: ${totalLines} lines, ${words} words (~${(words / totalLines).toFixed(1)} per line, vocabulary ${vocabularySize}) in ${partitions} partitions`, '');
    line(`exactly once, ${executors} executor(s), task size ${taskSize}, batchInterval 250ms`, '');
    const expected = countWords(lines, { lowercase: true });
    for (let round = 1; round <= rounds; round++) {
      const passthrough = await run('passthrough', await topic('bench-copy'));
      line(`[round ${round}] passthrough (baseline)`, `${Math.round(passthrough.figures.linesPerSecond)} lines/s in ${passthrough.figures.seconds.toFixed(1)} s; ${Math.round(passthrough.figures.linesPerCpuSecond)} lines/CPU-s`);
      for (const groups of [undefined, partitionGroups]) {
        const sink = await topic('bench-totals');
        const wordcount = await run('wordcount', sink, groups);
        const what = groups === undefined ? 'wordcount, running totals' : `wordcount, running totals, ${groups} partition group(s)`;
        const ratio = wordcount.figures.linesPerSecond / passthrough.figures.linesPerSecond;
        line(
          `[round ${round}] ${what}`,
          `${Math.round(wordcount.figures.linesPerSecond)} lines/s in ${wordcount.figures.seconds.toFixed(1)} s = ${ratio.toFixed(2)}x passthrough (target >= 1.0x); ${Math.round(wordcount.figures.linesPerCpuSecond)} lines/CPU-s`,
        );
        const repartition = repartitionTopic(wordcount.job.ref);
        const partials = (await kafka.admin.topicOffsets(repartition)).reduce((n, { high }) => n + high, 0);
        const sinkRecords = await readAll(sink);
        const totals = latestSinkTotals(sinkRecords);
        const comparison = compareCounts(expected, totals.counts);
        line(
          `[round ${round}]   ${partials} partials shuffled; sink: ${sinkRecords.length} records, ${totals.counts.size} words`,
          comparison.matches && totals.unreadable === 0 ? 'every final total equals the input\'s count' : `WRONG: ${comparison.differences.length} words differ, ${totals.unreadable} unreadable records`,
        );
        for (const internal of [repartition, changelogTopic(wordcount.job.ref)]) topics.push(internal);
      }
    }
  } finally {
    for (const t of topics) await kafka.admin.deleteTopic(t).catch(() => undefined);
    await kafka.close();
    await operator.close();
    await env.destroy();
  }
}

await main();
