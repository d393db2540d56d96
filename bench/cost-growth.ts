/**
 * How the cost of one job grows with its source partitions and its batch interval, on a whole
 * local cluster (`streamkeeper local up`: ZooKeeper, Kafka, control plane, node agent, operator;
 * the job's driver and executors are real pods):
 *
 *   node bench/run.mjs bench/cost-growth.ts [--partitions 4,64,256] [--intervals 5s,1s,250ms]
 *       [--groups 16,P] [--rate 1000] [--executors 2] [--warmup-seconds 8] [--seconds 20]
 *
 * `--groups` lists the jobs' spec.source.kafka.partitionGroups, each run for every (partitions,
 * interval): a number, or `P` for as many groups as partitions — one task per partition, what a
 * batch cost before partition groups, as the baseline of the same run.
 *
 * For each (partitions, batchInterval) one exactly-once passthrough job runs while records are
 * produced at a steady `--rate` (records/s, spread so that every partition has new records in
 * every batch, the worst case for coordination). Over a window it reports:
 *
 * - ZooKeeper writes/s, counted by the server (its zxid advances by one per write), and per batch;
 * - batches/s actually committed (a batch takes longer than its interval when its tasks do);
 * - driver CPU (cores), executor CPU per record (µs), the operator's CPU (cores);
 *
 * and, as the baseline of the same run, the idle cluster before any job (the operator's idle CPU
 * and ZooKeeper's background writes) and ratios to the smallest configuration. docs/scaling.md
 * turns these constants into a model of 1,000 jobs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CoordinationLayout } from '../src/coordination/layout.js';
import { ZooKeeperSession } from '../src/coordination/session.js';
import { TaskLedger, type OffsetsRecord } from '../src/coordination/task-ledger.js';
import { digestAuth } from '../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../src/coordination/zookeeper/native-client.js';
import { ClientNodeKubeClient } from '../src/kube/adapter.js';
import { ignoreNotFound, type KubeClient } from '../src/kube/client.js';
import { loadKubeConfig } from '../src/kube/config.js';
import type { Pod } from '../src/kube/objects.js';
import { localDown, localUp } from '../src/local/local-cluster.js';
import { localPaths, readState } from '../src/local/local-state.js';
import { processOfContainer } from '../src/local/pod-status.js';
import { fourLetterWord } from '../src/local/zookeeper-server.js';
import { parseCredentialFile } from '../src/operator/production-runtime.js';
import { createKafkajsClient, type KafkaClient } from '../src/runtime/kafka/index.js';
import { ensureBuilt } from './support/built.js';

const { values } = parseArgs({
  options: {
    partitions: { type: 'string', default: '4,64,256' },
    intervals: { type: 'string', default: '5s,1s,250ms' },
    groups: { type: 'string', default: '16,P' },
    rate: { type: 'string', default: '1000' },
    executors: { type: 'string', default: '2' },
    'warmup-seconds': { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
  },
});
const partitionCounts = values.partitions.split(',').map(Number);
const intervals = values.intervals.split(',');
/** partitionGroups of each configuration; `P`: one group per partition. */
const groupings = values.groups.split(',').map((g) => {
  if (g === 'P') return 'P' as const;
  const n = Number(g);
  if (!Number.isSafeInteger(n) || n < 1 || n > 1024) throw new Error(`--groups: '${g}' is neither P nor an integer from 1 to 1024`);
  return n;
});
const groupsFor = (grouping: number | 'P', partitions: number): number => (grouping === 'P' ? partitions : grouping);
const rate = Number(values.rate);
const executors = Number(values.executors);
const warmupMs = Number(values['warmup-seconds']) * 1000;
const windowMs = Number(values.seconds) * 1000;
const namespace = 'default';

function intervalMs(interval: string): number {
  const match = /^(\d+)(ms|s)$/.exec(interval);
  if (match === null) throw new Error(`--intervals: '${interval}' is not like 5s or 250ms`);
  return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
}

/** CPU seconds (user + system) a process has used (Linux /proc); 0 once it is gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function zxid(port: number): Promise<number> {
  const match = /Zxid: (0x[0-9a-f]+)/.exec(await fourLetterWord(port, 'srvr'));
  if (match?.[1] === undefined) throw new Error('no Zxid in the srvr reply');
  // The low 32 bits count transactions within an epoch; one server, one epoch here.
  return Number(BigInt(match[1]) & 0xffffffffn);
}

/** Records produced at a steady rate, every partition touched once per batch interval. */
class Feed {
  produced = 0;
  private stopped = false;
  readonly done: Promise<void>;

  constructor(kafka: KafkaClient, topic: string, partitions: number, tickMs: number) {
    this.done = this.run(kafka, topic, partitions, tickMs);
  }

  private async run(kafka: KafkaClient, topic: string, partitions: number, tickMs: number): Promise<void> {
    const producer = await kafka.producer();
    try {
      const started = Date.now();
      const perPartitionPerTick = (rate * tickMs) / 1000 / partitions;
      const carry = new Array<number>(partitions).fill(0);
      for (let tick = 0; !this.stopped; tick++) {
        await Promise.all(
          carry.map(async (_c, p) => {
            carry[p] = (carry[p] ?? 0) + perPartitionPerTick;
            // At least one record per partition per tick: every partition has a task per batch.
            const n = Math.max(1, Math.floor(carry[p] ?? 0));
            carry[p] = (carry[p] ?? 0) - n;
            await producer.send(topic, p, Array.from({ length: n }, (_v, i) => ({ key: null, value: Buffer.from(`${tick}-${p}-${i}-${'x'.repeat(80)}`) })));
            this.produced += n;
          }),
        );
        const due = started + (tick + 1) * tickMs;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    } finally {
      await producer.close();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

interface Sample {
  readonly at: number;
  readonly zxid: number;
  readonly driver: number;
  readonly executors: number;
  readonly operator: number;
  readonly committed: number;
  readonly batch: number;
}

interface Row {
  readonly partitions: number;
  readonly grouping: number | 'P';
  readonly interval: string;
  readonly zkWritesPerSecond: number;
  readonly batchesPerSecond: number;
  readonly recordsPerSecond: number;
  readonly driverCores: number;
  readonly executorMicrosPerRecord: number;
  readonly executorCores: number;
  readonly operatorCores: number;
}

function committedOf(record: OffsetsRecord | undefined): { committed: number; batch: number } {
  const committed = (record?.partitions ?? []).reduce((sum, p) => sum + Number(p.next), 0);
  return { committed, batch: record?.batch === null || record?.batch === undefined ? -1 : Number(record.batch) };
}

async function podPids(kube: KubeClient, job: string): Promise<{ driver: number | undefined; executors: number[] }> {
  const pods = await kube.list('Pod', { namespace, labelSelector: `app.kubernetes.io/instance=${job}` });
  const pidOf = (pod: Pod): number | undefined => {
    const status = pod.status?.containerStatuses?.[0];
    return status?.state?.running === undefined ? undefined : processOfContainer(status.containerID);
  };
  const driver = pods.items.find((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'driver');
  const execs = pods.items.filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'executor');
  return { driver: driver === undefined ? undefined : pidOf(driver), executors: execs.map(pidOf).filter((pid): pid is number => pid !== undefined) };
}

function line(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => c.padStart(widths[i] ?? 10)).join(' ');
}

async function main(): Promise<void> {
  ensureBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'sk-cost-'));
  const paths = localPaths(dir, '.streamkeeper/bench');
  const abort = new AbortController();
  process.once('SIGINT', () => {
    abort.abort();
  });
  console.log(`starting a local cluster in ${paths.dir}`);
  const up = await localUp({ paths, operator: true, nodeAgent: true, out: () => undefined, signal: abort.signal });
  if (up !== 0) throw new Error(`local up failed (exit ${up}); see ${paths.supervisorLog}`);
  const state = readState(paths);
  const operatorPid = state?.components.find((c) => c.name === 'operator')?.pid;
  if (state?.zkConnect === undefined || state.kafkaBrokers === undefined || operatorPid === undefined) throw new Error('the local cluster state lacks its endpoints');
  const zkPort = Number(state.zkConnect.split(':').pop());
  const kube = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: paths.kubeconfig }));
  const kafka = createKafkajsClient({ brokers: state.kafkaBrokers.split(','), clientId: 'bench-cost-growth' });
  const credential = parseCredentialFile(readFileSync(paths.zkCredentials, 'utf8'), paths.zkCredentials);
  const session = await ZooKeeperSession.open({ connector: (o) => NativeZooKeeperClient.connect(o), connectString: state.zkConnect, auth: [digestAuth(credential)] });
  const ledger = new TaskLedger(session, new CoordinationLayout());
  const rows: Row[] = [];
  try {
    // Baseline of this run: the cluster with no job.
    await sleep(5000);
    const idle0 = { at: Date.now(), zxid: await zxid(zkPort), operator: cpuSecondsOf(operatorPid) };
    await sleep(windowMs);
    const idleSeconds = (Date.now() - idle0.at) / 1000;
    const idleWrites = ((await zxid(zkPort)) - idle0.zxid) / idleSeconds;
    const idleOperator = (cpuSecondsOf(operatorPid) - idle0.operator) / idleSeconds;
    console.log(`idle cluster (no job): ZooKeeper ${idleWrites.toFixed(1)} writes/s, operator ${(idleOperator * 100).toFixed(2)}% of a core`);
    console.log(`steady input: ${rate} records/s of ~100 bytes; exactly-once passthrough; ${executors} executors; window ${windowMs / 1000}s after ${warmupMs / 1000}s warm-up`);
    const widths = [10, 7, 9, 11, 12, 10, 11, 10, 13, 12, 10];
    console.log(line(['partitions', 'groups', 'interval', 'batches/s', 'ZK writes/s', 'writes/b', 'records/s', 'driver %', 'exec µs/rec', 'exec cores', 'operator %'], widths));

    for (const partitions of partitionCounts) {
      for (const interval of intervals) {
        for (const grouping of groupings) {
          const partitionGroups = groupsFor(grouping, partitions);
          const name = `cost-p${partitions}-g${partitionGroups}-${interval}`;
          const source = `${name}-in`;
          const sink = `${name}-out`;
          await kafka.admin.createTopic(source, { partitions });
          await kafka.admin.createTopic(sink, { partitions });
          const feed = new Feed(kafka, source, partitions, Math.min(intervalMs(interval), 1000));
          await kube.create('StreamingJob', {
            apiVersion: 'streamkeeper.io/v1alpha1',
            kind: 'StreamingJob',
            metadata: { name, namespace },
            spec: {
              image: 'streamkeeper/streamkeeper:0.1.0',
              batchInterval: interval,
              source: { kafka: { bootstrapServers: state.kafkaBrokers.split(','), topics: [source], startingOffsets: 'latest', partitionGroups } },
              sink: { kafka: { topic: sink, delivery: 'exactlyOnce' } },
              processor: { builtin: 'passthrough' },
              executors: { replicas: executors },
            },
          } as never);
          const deadline = Date.now() + 180_000;
          let pids = await podPids(kube, name);
          while (pids.driver === undefined || pids.executors.length < executors || committedOf((await ledger.readOffsets({ namespace, name }))?.record).batch < 0) {
            if (Date.now() > deadline) throw new Error(`${name}: no batch committed within 180 s`);
            await sleep(500);
            pids = await podPids(kube, name);
          }
          await sleep(warmupMs);
          const sample = async (): Promise<Sample> => {
            const offsets = committedOf((await ledger.readOffsets({ namespace, name }))?.record);
            return {
              at: Date.now(),
              zxid: await zxid(zkPort),
              driver: cpuSecondsOf(pids.driver ?? 0),
              executors: pids.executors.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
              operator: cpuSecondsOf(operatorPid),
              ...offsets,
            };
          };
          const a = await sample();
          await sleep(windowMs);
          const b = await sample();
          const seconds = (b.at - a.at) / 1000;
          const records = b.committed - a.committed;
          const row: Row = {
            partitions,
            grouping,
            interval,
            zkWritesPerSecond: (b.zxid - a.zxid) / seconds,
            batchesPerSecond: (b.batch - a.batch) / seconds,
            recordsPerSecond: records / seconds,
            driverCores: (b.driver - a.driver) / seconds,
            executorMicrosPerRecord: records > 0 ? ((b.executors - a.executors) / records) * 1e6 : Number.NaN,
            executorCores: (b.executors - a.executors) / seconds,
            operatorCores: (b.operator - a.operator) / seconds,
          };
          rows.push(row);
          console.log(
            line(
              [
                String(partitions),
                grouping === 'P' ? `P=${partitions}` : String(grouping),
                interval,
                row.batchesPerSecond.toFixed(2),
                row.zkWritesPerSecond.toFixed(0),
                (row.zkWritesPerSecond / Math.max(row.batchesPerSecond, 1e-9)).toFixed(1),
                row.recordsPerSecond.toFixed(0),
                (row.driverCores * 100).toFixed(1),
                row.executorMicrosPerRecord.toFixed(0),
                row.executorCores.toFixed(2),
                (row.operatorCores * 100).toFixed(2),
              ],
              widths,
            ),
          );
          await feed.stop();
          await kube.delete('StreamingJob', { namespace, name });
          while ((await ignoreNotFound(kube.get('StreamingJob', { namespace, name }))) !== undefined) await sleep(500);
          while ((await podPids(kube, name)).executors.length > 0) await sleep(500);
          await kafka.admin.deleteTopic(source).catch(() => undefined);
          await kafka.admin.deleteTopic(sink).catch(() => undefined);
        }
      }
    }
    const base = rows[0];
    if (base !== undefined) {
      console.log(`\nratios to the first row (${base.partitions} partitions, ${base.interval}):`);
      for (const row of rows) {
        console.log(
          `  ${String(row.partitions).padStart(4)} partitions, groups ${String(row.grouping).padStart(4)}, ${row.interval.padStart(6)}: ZK writes/s ${(row.zkWritesPerSecond / base.zkWritesPerSecond).toFixed(1)}x, ` +
            `driver CPU ${(row.driverCores / base.driverCores).toFixed(1)}x, executor CPU/record ${(row.executorMicrosPerRecord / base.executorMicrosPerRecord).toFixed(1)}x, ` +
            `operator CPU ${(row.operatorCores / Math.max(base.operatorCores, 1e-9)).toFixed(1)}x`,
        );
      }
    }
    // The constants docs/scaling.md uses: writes per batch against tasks per batch (least squares),
    // per grouping; tasks per batch = min(partitions, groups) when every partition has records.
    for (const grouping of groupings) {
      const points = rows.filter((r) => r.grouping === grouping && r.batchesPerSecond > 0).map((r) => ({ x: r.partitions, y: r.zkWritesPerSecond / r.batchesPerSecond }));
      if (points.length < 2 || new Set(points.map((p) => p.x)).size < 2) continue;
      const n = points.length;
      const mx = points.reduce((s, p) => s + p.x, 0) / n;
      const my = points.reduce((s, p) => s + p.y, 0) / n;
      const slope = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
      const perPartition = points.map((p) => `${p.x}: ${p.y.toFixed(1)}`).join(', ');
      console.log(`\ngroups ${grouping}: ZooKeeper writes per batch by partitions ${perPartition}; fit ≈ ${(my - slope * mx).toFixed(1)} + ${slope.toFixed(2)} × partitions (${n} rows)`);
    }
  } finally {
    await session.close().catch(() => undefined);
    await kafka.close().catch(() => undefined);
    await localDown(paths, () => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
