/**
 * How fast the operator moves a dead executor's tasks, and what a task costs in ZooKeeper
 * writes, on a real ZooKeeper started for the run:
 *
 *   node bench/run.mjs bench/zookeeper-reschedule.ts [--runs 120] [--tasks 64]
 *
 * Each run registers an executor, gives it `--tasks` tasks, closes its session (its ephemeral
 * node goes at once) and times, on the operator side, from the deletion being observed through
 * the membership watch to every task reassigned (targets: p99 < 200 ms). Writes are counted by
 * the server itself: every write is one transaction, so the zxid advances by one per write.
 */
import { randomBytes } from 'node:crypto';
import { AclScheme, jobUser, readJobAcl } from '../src/coordination/acl.js';
import { CoordinationLayout, batchId, taskId, type JobRef } from '../src/coordination/layout.js';
import { ExecutorMembership, type ExecutorSet } from '../src/coordination/membership.js';
import { Rescheduler } from '../src/coordination/rescheduler.js';
import { ZooKeeperSession } from '../src/coordination/session.js';
import { ensureJobSubtree } from '../src/coordination/subtree.js';
import type { CoordinationObserver } from '../src/coordination/observer.js';
import { TaskLedger, type BatchRecord, type VersionedTask } from '../src/coordination/task-ledger.js';
import type { OffsetRange } from '../src/coordination/task-state.js';
import type { Acl } from '../src/coordination/zookeeper/client.js';
import { digestAuth, generateCredential, type DigestCredential } from '../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../src/coordination/zookeeper/native-client.js';
import { ZooKeeperServer, fourLetterWord } from '../src/local/zookeeper-server.js';

interface Options {
  readonly runs: number;
  readonly tasks: number;
  readonly warmup: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    const raw = i < 0 ? undefined : argv[i + 1];
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer (got ${raw})`);
    return n;
  };
  return { runs: value('--runs', 120), tasks: value('--tasks', 64), warmup: value('--warmup', 5) };
}

function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

function summary(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const ms = (v: number): string => `${v.toFixed(1)} ms`;
  return `p50 ${ms(percentile(sorted, 50))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted.at(-1) ?? Number.NaN)} (n=${sorted.length})`;
}

async function zxid(server: ZooKeeperServer): Promise<bigint> {
  const match = /Zxid: (0x[0-9a-f]+)/.exec(await fourLetterWord(server.port, 'srvr'));
  if (match?.[1] === undefined) throw new Error('no Zxid in the srvr reply');
  return BigInt(match[1]);
}

function ranges(count: number): OffsetRange[] {
  return Array.from({ length: count }, (_v, i) => ({ topic: 'bench', partition: i, from: '0', to: '1000' }));
}

class Bench {
  private readonly sessions: ZooKeeperSession[] = [];
  private sequence = 0;
  /** Resolves the run waiting for `pod` to leave the live set. */
  private readonly departures = new Map<string, (observedAt: number, session: string) => void>();

  private constructor(
    private readonly server: ZooKeeperServer,
    private readonly layout: CoordinationLayout,
    private readonly job: JobRef,
    private readonly jobCredential: DigestCredential,
    private readonly operator: ZooKeeperSession,
    private readonly driver: TaskLedger,
    private readonly acl: Acl[],
  ) {}

  private static async open(server: ZooKeeperServer, credential: DigestCredential): Promise<ZooKeeperSession> {
    return ZooKeeperSession.open({
      connector: (options) => NativeZooKeeperClient.connect(options),
      connectString: server.connectString,
      sessionTimeoutMs: 10_000,
      auth: [digestAuth(credential)],
    });
  }

  /** A job with its subtree locked, a driver and `liveExecutors` registered executors. */
  static async start(server: ZooKeeperServer, liveExecutors: number): Promise<Bench> {
    const layout = new CoordinationLayout(`/bench-${randomBytes(3).toString('hex')}`);
    const job: JobRef = { namespace: 'bench', name: 'reschedule' };
    const operatorCredential = generateCredential('streamkeeper-operator');
    const jobCredential = generateCredential(jobUser(job));
    const operator = await Bench.open(server, operatorCredential);
    const scheme = AclScheme.digest(operatorCredential);
    await ensureJobSubtree(operator, layout, job, { ancestors: scheme.ancestors(), job: scheme.job(jobCredential) });
    const driver = await Bench.open(server, jobCredential);
    const acl = await readJobAcl(driver, layout, job);
    const bench = new Bench(server, layout, job, jobCredential, operator, new TaskLedger(driver, layout), acl);
    bench.sessions.push(operator, driver);
    for (let i = 0; i < liveExecutors; i += 1) await bench.register(`executor-${i}`);
    let previous: ExecutorSet = new Map();
    new ExecutorMembership(operator, layout).watch(job, (set) => {
      const now = performance.now();
      for (const [pod, executor] of previous) {
        if (!set.has(pod)) bench.departures.get(pod)?.(now, executor.session);
      }
      previous = set;
    });
    return bench;
  }

  /** An executor with its own session. */
  private async register(pod: string): Promise<ZooKeeperSession> {
    const session = await Bench.open(this.server, this.jobCredential);
    this.sessions.push(session);
    await new ExecutorMembership(session, this.layout).register(this.job, pod, this.acl);
    return session;
  }

  rescheduler(observer: CoordinationObserver = {}): Rescheduler {
    return new Rescheduler(this.operator, this.layout, { observer });
  }

  private async recordBatch(count: number): Promise<BatchRecord> {
    const id = batchId(this.sequence);
    this.sequence += 1;
    return (await this.driver.recordBatch(this.job, id, ranges(count), this.acl)).record;
  }

  private createTasks(batch: BatchRecord, owner: (i: number) => string): Promise<VersionedTask[]> {
    return this.driver.createTasks(this.job, batch, new Map(batch.ranges.map((_r, i) => [taskId(batch.id, i), owner(i)])), this.acl);
  }

  private async cleanup(batch: BatchRecord): Promise<void> {
    await this.driver.deleteBatchTasks(this.job, batch.id);
    await this.driver.deleteBatch(this.job, batch.id);
  }

  /** One executor death: returns [session closed → deletion observed, observed → all reassigned] in ms. */
  async death(rescheduler: Rescheduler, tasks: number): Promise<[number, number]> {
    const pod = `victim-${this.sequence}`;
    const victim = await this.register(pod);
    const batch = await this.recordBatch(tasks);
    await this.createTasks(batch, () => pod);
    const observed = new Promise<[number, string]>((resolve) => {
      this.departures.set(pod, (at, session) => {
        resolve([at, session]);
      });
    });
    const killedAt = performance.now();
    await victim.close(); // its ephemeral node goes with the session, at once
    const [observedAt, deadSession] = await observed;
    this.departures.delete(pod);
    const result = await rescheduler.executorGone(this.job, pod, 'znode-gone', { maxTaskAttempts: 3 }, deadSession);
    const doneAt = performance.now();
    if (result.report?.moved.length !== tasks) throw new Error(`${pod}: ${result.report?.moved.length} of ${tasks} tasks moved`);
    await this.cleanup(batch);
    return [observedAt - killedAt, doneAt - observedAt];
  }

  /** ZooKeeper writes for `count` tasks from creation to cleanup, counted by the server. */
  async writesPerTask(count: number): Promise<number> {
    const executors = ['executor-0', 'executor-1', 'executor-2'];
    const batch = await this.recordBatch(count);
    const before = await zxid(this.server);
    const tasks = await this.createTasks(batch, (i) => executors[i % executors.length] ?? 'executor-0');
    // Which session writes a completion does not change the count: one session does them all.
    await Promise.all(tasks.map((t) => this.driver.complete(this.job, t.record.id, { owner: t.record.owner, attempt: 1 }, { outcome: 'succeeded' })));
    await this.driver.deleteBatchTasks(this.job, batch.id);
    const after = await zxid(this.server);
    await this.driver.deleteBatch(this.job, batch.id);
    return Number(after - before) / count;
  }

  /** ZooKeeper writes per task moved off a dead executor. */
  async writesPerMove(count: number): Promise<number> {
    const pod = `victim-${this.sequence}`;
    const victim = await this.register(pod);
    const batch = await this.recordBatch(count);
    await this.createTasks(batch, () => pod);
    await victim.close();
    const before = await zxid(this.server);
    await this.rescheduler().executorGone(this.job, pod, 'pod-terminated', { maxTaskAttempts: 3 });
    const after = await zxid(this.server);
    await this.cleanup(batch);
    return Number(after - before) / count;
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  process.stderr.write('starting a ZooKeeper server for the bench...\n');
  const server = await ZooKeeperServer.start();
  let bench: Bench | undefined;
  try {
    bench = await Bench.start(server, 3);
    const durations: number[] = [];
    const rescheduler = bench.rescheduler({ rescheduleDuration: (seconds) => durations.push(seconds * 1000) });
    const detection: number[] = [];
    const reassign: number[] = [];
    for (let run = 0; run < options.warmup + options.runs; run += 1) {
      const [observed, done] = await bench.death(rescheduler, options.tasks);
      if (run < options.warmup) continue;
      detection.push(observed);
      reassign.push(done);
    }
    const [, thousand] = await bench.death(rescheduler, 1000);
    const perTask = await bench.writesPerTask(500);
    const perMove = await bench.writesPerMove(500);

    console.log(`ZooKeeper reschedule bench — real ZooKeeper on ${server.connectString}, 3 live executors, digest ACLs`);
    console.log(`runs: ${options.runs} (after ${options.warmup} warm-up), tasks held by the dead executor: ${options.tasks}`);
    console.log(`  death observed → all its tasks reassigned: ${summary(reassign)}   [target p99 < 200 ms]`);
    console.log(`  (same, as the rescheduler's own duration metric: ${summary(durations.slice(options.warmup, options.warmup + options.runs))})`);
    console.log(`  session closed → deletion observed by the operator's watch: ${summary(detection)}`);
    console.log(`  1,000 tasks of one dead executor reassigned in ${thousand.toFixed(1)} ms`);
    console.log(`  ZooKeeper writes per task lifecycle (create + ACL lock + completion + cleanup): ${perTask.toFixed(2)}   [target ≤ 4]`);
    console.log(`  ZooKeeper writes per task moved off a dead executor: ${perMove.toFixed(2)}`);
  } finally {
    await bench?.close();
    await server.destroy();
  }
}

await main();
