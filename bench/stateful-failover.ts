/**
 * Stateful failover: how long after an executor holding aggregation state is SIGKILLed its
 * aggregate tasks run elsewhere with their state restored. Real ZooKeeper and Kafka, the driver
 * and executors as real processes (dist/, rebuilt first if a source is newer), the operator's
 * part (membership watch, Rescheduler, the Pod informer's "process ended") played in-process.
 *
 *   node bench/run.mjs bench/stateful-failover.ts [--keys 1000000] [--rounds 5] [--executors 3]
 *        [--state-partitions 6] [--rate 2000] [--standby 0,1]
 *
 * For each `--standby` value (spec.aggregation.standbyReplicas) in the same invocation: a job
 * counting records per key is loaded with `--keys` distinct keys (so its state holds that many),
 * then fed updates to random existing keys at `--rate` records/s. Each round waits for a steady
 * state (every executor registered, every state partition's standbys holding a copy restored in
 * full, three batches committed), waits for a batch in flight, SIGKILLs the executor holding the
 * most of its aggregate tasks, and times, from the kill:
 *
 * - **takeover**: until every aggregate task the victim held succeeded under its new owner —
 *   the state partitions run elsewhere with their state restored and their transaction committed;
 * - the restores those tasks did (full or incremental, changelog records read), from the
 *   executors' logs;
 * - **offsets**: until the `offsets` znode's next version (the whole batch committed);
 * - where the takeover went: when the tasks were reassigned, and the steps the new owner logged.
 *
 * The victim is then replaced by a new executor. The Kafka traffic of keeping state: changelog
 * records the executors read (restores, and standby copies when on), beside the changelog
 * records written, over the update phase.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { JobConfigContent } from '../src/coordination/config-mirror.js';
import { TaskLedger } from '../src/coordination/task-ledger.js';
import { NativeZooKeeperClient } from '../src/coordination/zookeeper/native-client.js';
import { KafkaServer } from '../src/local/kafka-server.js';
import { ZooKeeperServer } from '../src/local/zookeeper-server.js';
import { seededRandom } from '../src/machinery/random.js';
import { createKafkajsClient, type OutgoingRecord } from '../src/runtime/kafka/index.js';
import { changelogTopic, repartitionTopic } from '../src/runtime/kafka-names.js';
import { OperatorStandIn, jobConfig } from '../test/support/operator-stand-in.js';
import { ensureBuilt, root } from './support/built.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '5' },
    executors: { type: 'string', default: '3' },
    'state-partitions': { type: 'string', default: '6' },
    rate: { type: 'string', default: '2000' },
    standby: { type: 'string', default: '0,1' },
  },
});
const keys = Number(values.keys);
const rounds = Number(values.rounds);
const executorCount = Number(values.executors);
const statePartitions = Number(values['state-partitions']);
const rate = Number(values.rate);
const standbyValues = values.standby.split(',').map(Number);
const sourcePartitions = 4;
const cli = join(root, 'bin', 'streamkeeper.js');

/** Polls `check` until it returns a value; throws naming `what` after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, everyMs = 10, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

/** Nearest-rank percentile. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function describe(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  return `p50 ${s(percentile(sorted, 50))}, p99 ${s(percentile(sorted, 99))}, max ${s(sorted[sorted.length - 1] ?? NaN)} (${sorted.length} kills)`;
}

interface Pod {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<void>;
}

/** One restore an executor logged: `state partition restored from the changelog` (by a task, or a standby copy's). */
interface Restore {
  readonly pod: string;
  readonly partition: number;
  readonly records: number;
  readonly full: boolean;
  readonly millis: number;
  readonly at: number;
}

/** The log lines of `pod` whose message is `message` (a line cut short by the kill is skipped). */
function logLines<T>(pod: Pod, message: string): (T & { msg: string; at: number })[] {
  let text = '';
  try {
    text = readFileSync(pod.logFile, 'utf8');
  } catch {
    return [];
  }
  const found: (T & { msg: string; at: number })[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(message)) continue;
    try {
      const entry = JSON.parse(line) as T & { msg: string; time?: string | number };
      if (entry.msg === message) found.push({ ...entry, at: typeof entry.time === 'number' ? entry.time : Date.parse(entry.time ?? '') });
    } catch {
      // a line cut short by the kill
    }
  }
  return found;
}

type RestoreLine = Omit<Restore, 'pod' | 'at'>;

/** Restores aggregate tasks did before processing. */
function restoresIn(pod: Pod): Restore[] {
  return logLines<RestoreLine>(pod, 'state partition restored from the changelog').map((r) => ({ pod: pod.name, partition: r.partition, records: r.records, full: r.full, millis: r.millis, at: r.at }));
}

/** Full restores of standby copies (a new standby's first read of its partition). */
function standbyRestoresIn(pod: Pod): Restore[] {
  return logLines<RestoreLine>(pod, 'standby copy of a state partition restored from the changelog').map((r) => ({ pod: pod.name, partition: r.partition, records: r.records, full: r.full, millis: r.millis, at: r.at }));
}

/** The steps of a moved state partition's first commit under its new owner, as its executor logged them. */
interface TakeoverSteps {
  readonly task: string;
  readonly waitMs: number;
  readonly checkMs: number;
  readonly producerMs: number;
  readonly offsetsMs: number;
  readonly processMs: number;
  readonly restoreMs: number;
  readonly commitMs: number;
  readonly at: number;
}

function takeoversIn(pod: Pod): TakeoverSteps[] {
  return logLines<TakeoverSteps>(pod, 'aggregate task of a moved state partition committed');
}

/** A sample's value from the pod's /metrics (its port is in its log), or undefined. */
async function metricOf(pod: Pod, sample: string): Promise<number | undefined> {
  try {
    const line = readFileSync(pod.logFile, 'utf8').split('\n').find((l) => l.includes('serving /metrics'));
    const port = line === undefined ? undefined : (JSON.parse(line) as { port?: number }).port;
    if (port === undefined) return undefined;
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const found = text.split('\n').find((l) => l.startsWith(`${sample} `));
    return found === undefined ? undefined : Number(found.slice(sample.length + 1));
  } catch {
    return undefined;
  }
}

/** One kill's timeline, ms from the SIGKILL (the slowest moved task's steps). */
interface Timeline {
  /** Every moved task had a new owner in ZooKeeper (seen by polling every 5 ms). */
  readonly reassigned: number;
  /** The new owner's executor saw the task (its log line's time less the steps it logged). */
  readonly seen: number;
  readonly steps: Omit<TakeoverSteps, 'task' | 'at'>;
}

interface Figures {
  readonly standby: number;
  readonly takeover: number[];
  readonly timelines: Timeline[];
  /** Changelog records read by full restores of new standby copies (after each kill, the replacement's). */
  readonly standbyFullRead: number;
  readonly offsets: number[];
  readonly restoredRecords: number[];
  readonly fullRestores: number;
  readonly incrementalRestores: number;
  readonly changelogRead: number;
  readonly standbyRead: number;
  readonly changelogWritten: number;
  readonly loadSeconds: number;
}

async function runJob(zkConnect: string, brokers: string[], standby: number): Promise<Figures> {
  const job = { namespace: 'bench', name: `stateful-failover-${standby}-${Date.now().toString(36)}` };
  const operator = new OperatorStandIn((options) => NativeZooKeeperClient.connect(options), zkConnect, job);
  const kafka = createKafkajsClient({ brokers, clientId: 'bench-stateful-failover' });
  const logs = mkdtempSync(join(tmpdir(), 'sk-bench-stateful-failover-'));
  const source = `${job.name}-in`;
  const sink = `${job.name}-out`;
  const pods: Pod[] = [];
  let next = 0;
  let feeding = true;
  const isFeeding = (): boolean => feeding;
  const spawnPod = (role: 'driver' | 'executor', name: string): Pod => {
    const logFile = join(logs, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, [cli, role, '--log-format=json'], {
      stdio: ['ignore', fd, fd],
      env: {
        PATH: process.env.PATH,
        STREAMKEEPER_JOB: `${job.namespace}/${job.name}`,
        POD_NAME: name,
        POD_NAMESPACE: job.namespace,
        ZK_CONNECT: zkConnect,
        STREAMKEEPER_ZK_ROOT: operator.root,
        STREAMKEEPER_ZK_USER: operator.credential.user,
        STREAMKEEPER_ZK_PASSWORD: operator.credential.password,
        STREAMKEEPER_METRICS_ADDR: '127.0.0.1:0',
        STREAMKEEPER_LOG_LEVEL: 'info',
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
        ...(process.env.STREAMKEEPER_KAFKA_CLIENT === undefined ? {} : { STREAMKEEPER_KAFKA_CLIENT: process.env.STREAMKEEPER_KAFKA_CLIENT }),
      },
    });
    closeSync(fd);
    const pod = { name, child, logFile, exited: new Promise<void>((resolve) => child.once('exit', () => { resolve(); })) };
    pods.push(pod);
    return pod;
  };
  const live: Pod[] = [];
  try {
    await kafka.admin.createTopic(source, { partitions: sourcePartitions });
    await kafka.admin.createTopic(sink, { partitions: sourcePartitions });
    const aggregation = { aggregates: [{ name: 'n', function: 'count' }], statePartitions, stateMemoryBytes: 1024 * 1024 * 1024, standbyReplicas: standby };
    const config: JobConfigContent = jobConfig({ topics: [source], sinkTopic: sink, brokers, batchInterval: '250ms', maxRecordsPerPartition: 50_000, maxTaskAttempts: 20, aggregation });
    await operator.start(config);
    const ledger = new TaskLedger(operator.operator, operator.layout);
    const repartition = repartitionTopic(job);
    const changelog = changelogTopic(job);

    // Every key once: the state then holds `keys` keys.
    const loadStarted = performance.now();
    const producer = await kafka.producer();
    const perPartition = Math.ceil(keys / sourcePartitions);
    await Promise.all(
      Array.from({ length: sourcePartitions }, async (_v, p) => {
        for (let i = 0; i < perPartition; i += 10_000) {
          const records: OutgoingRecord[] = Array.from({ length: Math.min(10_000, perPartition - i) }, (_w, j) => ({ key: Buffer.from(`key-${p}-${i + j}`), value: Buffer.from('1') }));
          await producer.send(source, p, records);
        }
      }),
    );
    for (; next < executorCount; next++) live.push(spawnPod('executor', `executor-${next}`));
    spawnPod('driver', 'driver-0');

    const positions = async (): Promise<Map<string, number>> => new Map(((await ledger.readOffsets(job))?.record.partitions ?? []).map((p) => [`${p.topic}/${p.partition}`, Number(p.next)]));
    const offsetsVersion = async (): Promise<number> => (await operator.operator.getIfExists(operator.layout.offsets(job)))?.stat.version ?? -1;
    const aggregated = async (): Promise<boolean> => {
      const at = await positions();
      const sources = await kafka.admin.topicOffsets(source);
      const partials = await kafka.admin.topicOffsets(repartition).catch(() => []);
      return partials.length === statePartitions && [...sources.map((w) => [source, w] as const), ...partials.map((w) => [repartition, w] as const)].every(([topic, w]) => (at.get(`${topic}/${w.partition}`) ?? 0) >= w.high);
    };
    await until(`${keys} keys loaded into the state`, async () => ((await aggregated()) ? true : undefined), 250, 900_000);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    console.log(`  standbyReplicas ${standby}: ${keys.toLocaleString('en')} keys in ${statePartitions} state partitions, loaded and aggregated in ${loadSeconds.toFixed(1)} s`);

    // Updates to random existing keys, a quarter second's worth per send.
    const random = seededRandom(standby + 1);
    const feed = (async () => {
      for (let send = 0; isFeeding(); send++) {
        const size = Math.max(1, Math.round(rate / 4));
        const p = send % sourcePartitions;
        const records = Array.from({ length: size }, () => ({ key: Buffer.from(`key-${p}-${Math.floor(random() * perPartition)}`), value: Buffer.from('1') }));
        await producer.send(source, p, records);
        await sleep(250);
      }
    })();

    const changelogHigh = async (): Promise<number> => (await kafka.admin.topicOffsets(changelog)).reduce((sum, w) => sum + w.high, 0);
    const restoredSoFar = (): Restore[] => pods.flatMap(restoresIn);
    const readBefore = restoredSoFar().reduce((sum, r) => sum + r.records, 0);
    // Each executor's standby reads so far, scraped before each kill and at the end.
    const standbyReads = new Map<string, number>();
    const scrapeStandby = async (): Promise<void> => {
      for (const pod of live) {
        const value = await metricOf(pod, 'streamkeeper_executor_standby_records_total');
        if (value !== undefined) standbyReads.set(pod.name, value);
      }
    };
    await scrapeStandby();
    const standbyBefore = [...standbyReads.values()].reduce((sum, n) => sum + n, 0);
    const writtenBefore = await changelogHigh();
    const standbyFullBefore = pods.flatMap(standbyRestoresIn).reduce((sum, r) => sum + r.records, 0);
    const figures: Figures = { standby, takeover: [], timelines: [], standbyFullRead: 0, offsets: [], restoredRecords: [], fullRestores: 0, incrementalRestores: 0, changelogRead: 0, standbyRead: 0, changelogWritten: 0, loadSeconds };

    /**
     * Steady state: every executor registered; every state partition's standbys (as its newest
     * aggregate task names them) hold a copy restored in full — a replacement's copies included,
     * so no kill lands while a standby is still warming; then three more batches committed (a
     * replacement has run tasks, and each copy has since caught up with what was committed
     * during its restore: standbys refresh every 500 ms).
     */
    const settle = async (): Promise<number> => {
      const started = Date.now();
      await until('every executor registered', async () => ((await operator.operator.children(operator.layout.executors(job))).length === executorCount ? true : undefined), 50);
      if (standby > 0) {
        await until('every standby copy restored', async () => {
          const tasks = (await ledger.readTasks(job)).map((t) => t.record).filter((t) => t.ranges.length === 1 && t.group === undefined && t.ranges[0]?.topic === repartition);
          const newest = new Map<number, (typeof tasks)[number]>();
          for (const t of tasks) {
            const p = t.ranges[0]?.partition ?? -1;
            const seen = newest.get(p);
            if (seen === undefined || seen.batch < t.batch) newest.set(p, t);
          }
          if (newest.size < statePartitions) return undefined;
          const warm = [...newest].every(([p, t]) => {
            const standbys = (t.standbys ?? []).filter((pod) => pod !== t.owner);
            return standbys.length >= Math.min(standby, executorCount - 1) && standbys.every((name) => {
              const pod = live.find((candidate) => candidate.name === name);
              return pod !== undefined && standbyRestoresIn(pod).some((r) => r.partition === p && r.full);
            });
          });
          return warm ? true : undefined;
        }, 250, 600_000);
      }
      const from = await offsetsVersion();
      await until('three batches committed', async () => ((await offsetsVersion()) >= from + 3 ? true : undefined), 20, 300_000);
      return Date.now() - started;
    };

    for (let round = 0; round < rounds; round++) {
      const settledIn = await settle();
      const inFlight = await until('a batch in flight with aggregate tasks assigned', async () => {
        const assigned = (await ledger.readTasks(job)).filter((t) => t.record.state === 'assigned' && t.record.ranges[0]?.topic === repartition && Number(t.record.ranges[0].to) > Number(t.record.ranges[0].from));
        if (assigned.length === 0) return undefined;
        const byOwner = new Map<string, string[]>();
        for (const t of assigned) byOwner.set(t.record.owner, [...(byOwner.get(t.record.owner) ?? []), t.record.id]);
        const [owner, tasks] = [...byOwner].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
        const pod = live.find((p) => p.name === owner);
        return pod === undefined || tasks === undefined ? undefined : { pod, tasks, batch: assigned[0]?.record.batch };
      }, 2);
      const victim = inFlight.pod;
      await scrapeStandby();
      const from = await offsetsVersion();
      victim.child.kill('SIGKILL');
      const killedAt = Date.now();
      live.splice(live.indexOf(victim), 1);
      // What the Pod informer tells the operator when the container ends.
      void victim.exited.then(() => operator.podTerminated(victim.name));
      let offsetsAt: number | undefined;
      let reassignedAt: number | undefined;
      // Who ran each moved task, seen while waiting: the driver deletes a batch's tasks once it committed.
      const movedTo = new Map<string, { owner: string; partition: number }>();
      const takeoverAt = await until('the victim\'s aggregate tasks succeeded elsewhere', async () => {
        if (offsetsAt === undefined && (await offsetsVersion()) > from) offsetsAt = Date.now() - killedAt;
        const tasks = (await ledger.readTasks(job)).filter((t) => inFlight.tasks.includes(t.record.id));
        // Gone: the batch committed, so they had succeeded.
        if (tasks.length === 0 && offsetsAt !== undefined) return offsetsAt;
        for (const t of tasks) if (t.record.owner !== victim.name) movedTo.set(t.record.id, { owner: t.record.owner, partition: t.record.ranges[0]?.partition ?? -1 });
        if (reassignedAt === undefined && movedTo.size === inFlight.tasks.length) reassignedAt = Date.now() - killedAt;
        return tasks.length === inFlight.tasks.length && tasks.every((t) => t.record.state === 'succeeded' && t.record.owner !== victim.name) ? Date.now() - killedAt : undefined;
      }, 5, 300_000);
      if (offsetsAt === undefined) offsetsAt = await until('the batch committed', async () => ((await offsetsVersion()) > from ? Date.now() - killedAt : undefined), 5, 300_000);
      // The restores of the moved tasks: by the survivors, after the kill.
      const moved = [...movedTo.values()];
      const restores = live.flatMap(restoresIn).filter((r) => r.at >= killedAt - 50 && moved.some((m) => m.owner === r.pod && m.partition === r.partition));
      const records = restores.reduce((sum, r) => sum + r.records, 0);
      const full = restores.filter((r) => r.full).length;
      // The slowest moved task's steps, as its new owner logged them.
      const steps = [...movedTo].flatMap(([task, m]) => takeoversIn(live.find((p) => p.name === m.owner) ?? victim).filter((t) => t.task === task && t.at >= killedAt));
      const slowest = steps.sort((a, b) => b.at - a.at)[0];
      if (slowest !== undefined) {
        const { task: _task, at, ...laps } = slowest;
        const spent = laps.waitMs + laps.checkMs + laps.producerMs + laps.offsetsMs + laps.processMs + laps.commitMs;
        figures.timelines.push({ reassigned: reassignedAt ?? NaN, seen: at - spent - killedAt, steps: laps });
      }
      figures.takeover.push(takeoverAt);
      figures.offsets.push(offsetsAt);
      figures.restoredRecords.push(records);
      (figures as { fullRestores: number }).fullRestores += full;
      (figures as { incrementalRestores: number }).incrementalRestores += moved.length - full;
      console.log(`    kill ${round + 1}: ${victim.name} held ${inFlight.tasks.length} of batch ${inFlight.batch}'s aggregate tasks; they succeeded elsewhere after ${(takeoverAt / 1000).toFixed(2)} s (batch committed +${(offsetsAt / 1000).toFixed(2)} s); restores: ${full} full, ${moved.length - full} incremental, ${records} changelog records read (settled ${(settledIn / 1000).toFixed(1)} s before the kill)`);
      live.push(spawnPod('executor', `executor-${next++}`));
    }
    feeding = false;
    await feed;
    await scrapeStandby();
    (figures as { standbyRead: number }).standbyRead = [...standbyReads.values()].reduce((sum, n) => sum + n, 0) - standbyBefore;
    (figures as { changelogRead: number }).changelogRead = restoredSoFar().reduce((sum, r) => sum + r.records, 0) - readBefore;
    (figures as { standbyFullRead: number }).standbyFullRead = pods.flatMap(standbyRestoresIn).reduce((sum, r) => sum + r.records, 0) - standbyFullBefore;
    (figures as { changelogWritten: number }).changelogWritten = (await changelogHigh()) - writtenBefore;
    await producer.close();
    return figures;
  } catch (err) {
    for (const pod of pods) process.stderr.write(`\n----- ${pod.name} -----\n${readFileSync(pod.logFile, 'utf8').split('\n').slice(-30).join('\n')}\n`);
    throw err;
  } finally {
    feeding = false;
    for (const pod of pods) pod.child.kill('SIGKILL');
    await Promise.all(pods.map((p) => p.exited));
    await operator.stop();
    for (const topic of [source, sink, repartitionTopic(job), changelogTopic(job)]) await kafka.admin.deleteTopic(topic).catch(() => undefined);
    await kafka.close();
    if (process.env.SK_KEEP_LOGS === undefined) rmSync(logs, { recursive: true, force: true });
    else console.log(`  logs kept in ${logs}`);
  }
}

ensureBuilt();
const zk = process.env.ZK_CONNECT === undefined ? await ZooKeeperServer.start() : undefined;
const broker = process.env.KAFKA_BROKERS === undefined ? await KafkaServer.start() : undefined;
try {
  const zkConnect = process.env.ZK_CONNECT ?? zk?.connectString ?? '';
  const brokers = (process.env.KAFKA_BROKERS ?? `127.0.0.1:${broker?.port ?? 0}`).split(',');
  console.log(`stateful failover: ${executorCount} executors, ${statePartitions} state partitions, ${keys.toLocaleString('en')} keys, updates at ${rate} records/s, ${rounds} SIGKILLs per setting`);
  const all: Figures[] = [];
  for (const standby of standbyValues) all.push(await runJob(zkConnect, brokers, standby));
  console.log('\nfrom the SIGKILL until the dead executor\'s aggregate tasks succeeded elsewhere (state restored, transaction committed):');
  for (const f of all) console.log(`  standbyReplicas ${f.standby}: ${describe(f.takeover)}; restores ${f.fullRestores} full / ${f.incrementalRestores} incremental, changelog records read per takeover p50 ${percentile([...f.restoredRecords].sort((a, b) => a - b), 50)}`);
  console.log('from the SIGKILL until the batch committed (offsets znode):');
  for (const f of all) console.log(`  standbyReplicas ${f.standby}: ${describe(f.offsets)}`);
  console.log('where a takeover spends its time, median over kills of the slowest moved task (ms from the SIGKILL; steps in ms):');
  for (const f of all) {
    const median = (values: number[]): string => percentile([...values].sort((a, b) => a - b), 50).toFixed(0);
    const step = (name: keyof Timeline['steps']): string => median(f.timelines.map((t) => t.steps[name]));
    if (f.timelines.length === 0) continue;
    console.log(`  standbyReplicas ${f.standby}: reassigned at ${median(f.timelines.map((t) => t.reassigned))}, seen by the new owner at ${median(f.timelines.map((t) => t.seen))}; then queue/lock ${step('waitMs')}, claim + committed check ${step('checkMs')}, producer open (fence) ${step('producerMs')}, offsets ${step('offsetsMs')}, read + restore + aggregate ${step('processMs')} (restore ${step('restoreMs')}), transaction ${step('commitMs')}`);
  }
  console.log('Kafka traffic of the state (update phase): changelog records read by executors — task restores + standby copies (of which full restores of new copies) — against those written:');
  for (const f of all) console.log(`  standbyReplicas ${f.standby}: ${f.changelogRead} + ${f.standbyRead} (${f.standbyFullRead}) read / ${f.changelogWritten} written = ${(f.changelogRead / Math.max(1, f.changelogWritten)).toFixed(2)}x + ${(f.standbyRead / Math.max(1, f.changelogWritten)).toFixed(2)}x (${((f.standbyRead - f.standbyFullRead) / Math.max(1, f.changelogWritten)).toFixed(2)}x keeping copies current)`);
  const base = all[0];
  if (base !== undefined) {
    for (const f of all.slice(1)) {
      const ratio = (p: number): string => (percentile([...f.takeover].sort((a, b) => a - b), p) / percentile([...base.takeover].sort((a, b) => a - b), p)).toFixed(2);
      console.log(`standbyReplicas ${f.standby} / ${base.standby}: takeover p50 ${ratio(50)}x, p99 ${ratio(99)}x (target: p99 <= 2 s)`);
    }
  }
} finally {
  await broker?.destroy();
  await zk?.destroy();
}
