/**
 * A job's runtime on the harness's real ZooKeeper and Kafka: the operator's part played
 * in-process (subtree, config, rescheduler), the driver and executors run as real
 * `node bin/streamkeeper.js driver|executor` processes with the environment a pod gets. Process
 * output goes to log files, printed when a test fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { JobConfigContent } from '../../../../src/coordination/config-mirror.js';
import { TaskLedger } from '../../../../src/coordination/task-ledger.js';
import { NativeZooKeeperClient } from '../../../../src/coordination/zookeeper/native-client.js';
import { createKafkajsClient, type ConsumedRecord, type KafkaClient, type OutgoingRecord } from '../../../../src/runtime/kafka/index.js';
import { kafkaBrokers, zkConnect } from '../../../harness/servers.js';
import { OperatorStandIn, jobConfig } from '../../../support/operator-stand-in.js';
import { eventually as pollProbe } from '../../../contract/zookeeper/waiting.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const cli = join(repo, 'bin', 'streamkeeper.js');

/** Polls `probe` until `accept` holds (processes and servers: a longer deadline, a slower poll). */
export function eventually<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  return pollProbe(probe, accept, what, timeoutMs, 100);
}

export class PodProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        resolveExit({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The process's /metrics, in Prometheus text format. */
  async metrics(): Promise<string> {
    const line = this.log().split('\n').find((l) => l.includes('serving /metrics'));
    const port = line === undefined ? undefined : (JSON.parse(line) as { port?: number }).port;
    if (port === undefined) throw new Error(`${this.name} serves no metrics yet`);
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    return response.text();
  }

  /** One sample's value, e.g. `streamkeeper_executor_poison_records_total{action="skipped"}`. */
  async metric(sample: string): Promise<number | undefined> {
    const line = (await this.metrics()).split('\n').find((l) => l.startsWith(`${sample} `));
    return line === undefined ? undefined : Number(line.slice(sample.length + 1));
  }

  /** Waits until the process has logged `text`. */
  async waitForLog(text: string, timeoutMs = 60_000): Promise<void> {
    await eventually(() => this.log().includes(text), (found) => found, `${this.name} logs "${text}"`, timeoutMs);
  }
}

export class RuntimeWorld {
  readonly job = { namespace: 'runtime', name: `job-${randomBytes(3).toString('hex')}` };
  readonly operator = new OperatorStandIn((options) => NativeZooKeeperClient.connect(options), zkConnect(), this.job);
  readonly kafka: KafkaClient = createKafkajsClient({ brokers: kafkaBrokers(), clientId: 'runtime-test' });
  readonly suffix = randomBytes(3).toString('hex');
  readonly source = `in-${this.suffix}`;
  readonly sink = `out-${this.suffix}`;
  readonly deadLetters = `dlq-${this.suffix}`;
  readonly processes: PodProcess[] = [];
  private readonly logs = mkdtempSync(join(tmpdir(), 'sk-runtime-'));
  private failed = false;

  config(overrides: Parameters<typeof jobConfig>[0] = {}): JobConfigContent {
    return jobConfig({ topics: [this.source], sinkTopic: this.sink, brokers: kafkaBrokers(), batchInterval: '250ms', ...overrides });
  }

  async start(config: JobConfigContent, partitions: { source: number; sink: number } = { source: 2, sink: 2 }): Promise<void> {
    await this.kafka.admin.createTopic(this.source, { partitions: partitions.source });
    await this.kafka.admin.createTopic(this.sink, { partitions: partitions.sink });
    await this.kafka.admin.createTopic(this.deadLetters, { partitions: 1 });
    await this.operator.start(config);
  }

  private spawn(role: 'driver' | 'executor', pod: string, extraEnv: NodeJS.ProcessEnv = {}, args: readonly string[] = []): PodProcess {
    const logFile = join(this.logs, `${pod}.log`);
    const fd = openSync(logFile, 'a');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      STREAMKEEPER_JOB: `${this.job.namespace}/${this.job.name}`,
      POD_NAME: pod,
      POD_NAMESPACE: this.job.namespace,
      ZK_CONNECT: zkConnect(),
      STREAMKEEPER_ZK_ROOT: this.operator.root,
      STREAMKEEPER_ZK_USER: this.operator.credential.user,
      STREAMKEEPER_ZK_PASSWORD: this.operator.credential.password,
      STREAMKEEPER_METRICS_ADDR: '127.0.0.1:0',
      STREAMKEEPER_LOG_LEVEL: 'info',
      // The pods' Kafka client library: the product's default unless the run names another.
      ...(process.env.STREAMKEEPER_KAFKA_CLIENT === undefined ? {} : { STREAMKEEPER_KAFKA_CLIENT: process.env.STREAMKEEPER_KAFKA_CLIENT }),
      ...extraEnv,
    };
    const child = spawn(process.execPath, [cli, role, '--log-format=json', ...args], { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const pod_ = new PodProcess(pod, child, logFile);
    this.processes.push(pod_);
    return pod_;
  }

  driver(pod = 'driver-0'): PodProcess {
    return this.spawn('driver', pod);
  }

  executor(pod: string, args: readonly string[] = []): PodProcess {
    return this.spawn('executor', pod, {}, args);
  }

  /** A directory for files the test hands to the processes (processor modules). */
  get scratch(): string {
    return this.logs;
  }

  /** SIGKILL, and the operator learns the process ended (as from the Pod informer). */
  async kill(pod: PodProcess): Promise<void> {
    pod.kill('SIGKILL');
    await pod.exited;
    await this.operator.podTerminated(pod.name);
  }

  async produce(partition: number, values: readonly string[], key?: (i: number) => string): Promise<void> {
    const producer = await this.kafka.producer();
    try {
      for (let i = 0; i < values.length; i += 2000) {
        const records: OutgoingRecord[] = values.slice(i, i + 2000).map((v, j) => ({ key: key === undefined ? null : Buffer.from(key(i + j)), value: Buffer.from(v) }));
        await producer.send(this.source, partition, records);
      }
    } finally {
      await producer.close();
    }
  }

  ledger(): TaskLedger {
    return new TaskLedger(this.operator.operator, this.operator.layout);
  }

  /** Committed positions per source partition, as the driver recorded them. */
  async positions(): Promise<Record<string, number>> {
    const read = await this.ledger().readOffsets(this.job);
    return Object.fromEntries((read?.record.partitions ?? []).map((p) => [String(p.partition), Number(p.next)]));
  }

  async waitForPositions(expected: Record<string, number>, timeoutMs = 90_000): Promise<void> {
    await eventually(() => this.positions(), (p) => Object.entries(expected).every(([partition, next]) => p[partition] === next), 'positions reached', timeoutMs);
  }

  /** Every record of `topic` a read_committed reader sees: key=value strings. */
  async readCommitted(topic: string): Promise<string[]> {
    return (await this.readRecords(topic)).map((r) => `${r.key?.toString() ?? ''}=${r.value?.toString() ?? ''}`);
  }

  async readRecords(topic: string): Promise<ConsumedRecord[]> {
    const reader = await this.kafka.rangeReader();
    try {
      const out: ConsumedRecord[] = [];
      for (const { partition, high } of await this.kafka.admin.topicOffsets(topic)) out.push(...(await reader.readRange(topic, partition, 0, high)));
      return out;
    } finally {
      await reader.close();
    }
  }

  markFailed(): void {
    this.failed = true;
  }

  async close(): Promise<void> {
    for (const p of this.processes) p.kill('SIGKILL');
    await Promise.all(this.processes.map((p) => p.exited));
    if (this.failed) {
      for (const p of this.processes) process.stderr.write(`\n----- ${p.name} -----\n${p.log().split('\n').slice(-60).join('\n')}\n`);
    }
    await this.operator.stop();
    for (const topic of [this.source, this.sink, this.deadLetters]) await this.kafka.admin.deleteTopic(topic).catch(() => undefined);
    await this.kafka.close();
    if (process.env.SK_KEEP_LOGS === undefined) rmSync(this.logs, { recursive: true, force: true });
    else process.stderr.write(`runtime logs kept in ${this.logs}\n`);
  }
}

/**
 * Executors SIGKILLed at random moments and each replaced by a new one: the failure the
 * exactly-once tests run under. The test decides when to kill; this keeps the live set and picks
 * victims, mostly an executor that holds an assigned task (killed mid-task).
 */
export class ExecutorChurn {
  readonly live: PodProcess[] = [];
  kills = 0;
  private next = 0;

  constructor(
    private readonly world: RuntimeWorld,
    private readonly random: () => number,
    executors: number,
  ) {
    for (; this.next < executors; this.next++) this.live.push(world.executor(`executor-${this.next}`));
  }

  /**
   * An executor holding an assigned task, with probability `busyShare` (1: only those), else
   * any live one; undefined when none qualifies.
   */
  async pickVictim(busyShare: number): Promise<PodProcess | undefined> {
    const holders = new Set((await this.world.ledger().readTasks(this.world.job)).filter((t) => t.record.state === 'assigned').map((t) => t.record.owner));
    const busy = this.live.filter((p) => holders.has(p.name));
    const pool = busyShare >= 1 || (busy.length > 0 && this.random() < busyShare) ? busy : this.live;
    return pool[Math.floor(this.random() * pool.length)];
  }

  /** SIGKILLs `victim` (the operator learns it ended) and, `pauseMs` later, starts its replacement. */
  async killAndReplace(victim: PodProcess, pauseMs = 0): Promise<void> {
    this.live.splice(this.live.indexOf(victim), 1);
    await this.world.kill(victim);
    this.kills += 1;
    if (pauseMs > 0) await sleep(pauseMs);
    this.live.push(this.world.executor(`executor-${this.next++}`));
  }

  /**
   * Until `done` settles, every 300–1500 ms (`pauseMs`) kills a victim chosen as `pickVictim`
   * chooses and replaces it `replaceAfterMs()` later; `afterKill` runs after each kill.
   */
  async killUntil(done: Promise<unknown>, options: { busyShare: number; pauseMs?: () => number; replaceAfterMs?: () => number; afterKill?: () => void }): Promise<void> {
    await untilSettled(done, options.pauseMs ?? (() => 300 + this.random() * 1200), async () => {
      const victim = await this.pickVictim(options.busyShare);
      if (victim === undefined) return;
      await this.killAndReplace(victim, options.replaceAfterMs?.() ?? 0);
      options.afterKill?.();
    });
  }
}

/**
 * Runs `round` after each pause until `done` settles (fulfilled or rejected: awaiting `done`, and
 * its error, stays the caller's).
 */
export async function untilSettled(done: Promise<unknown>, pauseMs: () => number, round: () => Promise<void>): Promise<void> {
  let finished = false;
  const isFinished = (): boolean => finished;
  void done.then(() => (finished = true), () => (finished = true));
  while (!isFinished()) {
    await sleep(pauseMs());
    if (isFinished()) break;
    await round();
  }
}
