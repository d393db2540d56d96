/**
 * How long a job's committed offsets stand still after its driver is SIGKILLed, beside the same
 * figure for an executor (the baseline) measured the same way in the same run. One local cluster
 * (ZooKeeper, Kafka, API server, node agent, operator) runs one exactly-once wordcount job fed at a
 * steady rate; rounds alternate between killing the driver and killing the executor holding the
 * most tasks, each time while a batch is in flight, and time from the kill to the `offsets` znode's
 * next version (the driver settles a batch there only once all its tasks committed). Between kills
 * the job is left to settle: every pod Running and registered, two more batches committed.
 *
 *   node bench/run.mjs bench/driver-failover.ts [--rounds 8] [--batch-interval 500ms] [--rate 400] [--signal SIGKILL|SIGSTOP] [--standby off,on]
 *
 * --standby lists the phases, each with `rounds` kills of each kind, in one run on one cluster:
 * `off` is the job without a standby driver (the driver's replacement is a new pod), `on` with
 * `spec.driver.standby` (the standby takes over; the kill's target is whichever driver pod holds
 * the `driver` znode). The default measures both, so that the standby's figure has its baseline
 * from the same run.
 *
 * With --signal SIGSTOP the process hangs instead (its pod still looks alive): the figures are
 * then how long until its ZooKeeper registration goes (detection), its pod is deleted for a
 * replacement, and the offsets advance again.
 *
 * Before its kills, each phase also samples what every pod's process costs while the job runs
 * (--cost-window, default 20 s; 0 skips it): resident memory (VmRSS) at the end of the window and
 * CPU (user + system time) over it, so the standby's cost stands beside the active driver's and
 * an executor's.
 *
 * Pods run dist/ (rebuilt first if a source is newer); the cluster lives in a scratch directory and
 * is stopped at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { apiVersion, kind, labelKeys, type StreamingJobSpec } from '../src/api/v1alpha1/index.js';
import { CoordinationLayout, type JobRef } from '../src/coordination/layout.js';
import { ZooKeeperSession } from '../src/coordination/session.js';
import { TaskLedger } from '../src/coordination/task-ledger.js';
import { digestAuth } from '../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../src/coordination/zookeeper/native-client.js';
import { sampleLines } from '../src/demo/sample-text.js';
import { ClientNodeKubeClient } from '../src/kube/adapter.js';
import { loadKubeConfig } from '../src/kube/config.js';
import type { Pod, Stored } from '../src/kube/objects.js';
import { localDown, localUp } from '../src/local/local-cluster.js';
import { localPaths, readState } from '../src/local/local-state.js';
import { processOfContainer } from '../src/local/pod-status.js';
import { decodeDriverRegistration } from '../src/coordination/progress-report.js';
import { silentLogger } from '../src/logging/logger.js';
import { parseCredentialFile } from '../src/operator/production-runtime.js';
import { createKafkajsClient } from '../src/runtime/kafka/index.js';
import { ensureBuilt } from './support/built.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, 'batch-interval': { type: 'string', default: '500ms' }, rate: { type: 'string', default: '400' }, signal: { type: 'string', default: 'SIGKILL' }, standby: { type: 'string', default: 'off,on' }, 'cost-window': { type: 'string', default: '20' } } });
const costWindowMs = Number(values['cost-window']) * 1000;
if (!(costWindowMs >= 0)) throw new Error(`--cost-window is seconds, 0 or more (got ${values['cost-window']})`);
const phases = values.standby.split(',').map((phase) => phase.trim());
if (phases.length === 0 || phases.some((phase) => phase !== 'off' && phase !== 'on')) throw new Error(`--standby lists off and/or on, comma-separated (got ${values.standby})`);
const rounds = Number(values.rounds);
/** SIGKILL: a process that died. SIGSTOP: one that hangs while its pod looks alive (resumed after the round). */
const signal = values.signal;
if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') throw new Error(`--signal must be SIGKILL or SIGSTOP (got ${signal})`);
const linesPerSecond = Number(values.rate);
const partitions = 4;
const executors = 2;
const ref: JobRef = { namespace: 'default', name: 'failover' };
const logger = silentLogger();

/** Polls `check` every `everyMs` until it returns a value; throws naming `what` after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, everyMs = 10, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}

function podPid(pod: Stored<Pod> | undefined): number | undefined {
  const status = pod?.status?.containerStatuses?.[0];
  return status?.state?.running === undefined ? undefined : processOfContainer(status.containerID);
}

function kubectl(binary: string, kubeconfig: string, args: readonly string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim()}`));
    });
    child.stdin.end(input);
  });
}

/** A process's CPU time so far (user + system, ms) and resident memory (bytes), from /proc. */
function processUse(pid: number): { cpuMs: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    // Linux reports ticks at USER_HZ, 100 per second on every common architecture.
    return { cpuMs: ticks * 10, rssBytes: Number(rss?.[1] ?? NaN) * 1024 };
  } catch {
    return undefined;
  }
}

/** Nearest-rank percentile. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function describe(samples: readonly number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `p50 ${(percentile(sorted, 50) / 1000).toFixed(2)} s, p99 ${(percentile(sorted, 99) / 1000).toFixed(2)} s, min ${((sorted[0] ?? NaN) / 1000).toFixed(2)} s (${sorted.length} kills)`;
}

ensureBuilt();
const cwd = mkdtempSync(join(tmpdir(), 'sk-bench-driver-failover-'));
const paths = localPaths(cwd);
const abort = new AbortController();
process.once('SIGINT', () => { abort.abort(); });
let stopFeed = false;
// A function, so the compiler does not keep the loop condition's narrowing across awaits.
const feeding = (): boolean => !stopFeed;
try {
  console.log('starting a local cluster with the operator and the node agent');
  const up = await localUp({ paths, operator: true, nodeAgent: true, out: () => undefined, signal: abort.signal });
  if (up !== 0) throw new Error(`the local cluster did not start (exit ${up}); see ${paths.supervisorLog}`);
  const state = readState(paths);
  if (state?.kafkaBrokers === undefined || state.zkConnect === undefined || state.kubectl === undefined) throw new Error('the local cluster state lacks its endpoints');
  const kube = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: paths.kubeconfig }));
  const kafka = createKafkajsClient({ brokers: state.kafkaBrokers.split(','), clientId: 'bench-driver-failover' }, { logger });
  const credential = parseCredentialFile(readFileSync(paths.zkCredentials, 'utf8'), paths.zkCredentials);
  const session = await ZooKeeperSession.open({ connector: (options) => NativeZooKeeperClient.connect(options, logger), connectString: state.zkConnect, auth: [digestAuth(credential)], logger });
  const layout = new CoordinationLayout();
  const ledger = new TaskLedger(session, layout);
  try {
    const source = 'failover-lines';
    await kafka.admin.createTopic(source, { partitions });
    await kafka.admin.createTopic('failover-counts', { partitions: 2 });
    const spec: StreamingJobSpec = {
      image: 'streamkeeper/streamkeeper:0.1.0',
      batchInterval: values['batch-interval'],
      source: { kafka: { bootstrapServers: state.kafkaBrokers.split(','), topics: [source], startingOffsets: 'earliest' } },
      sink: { kafka: { topic: 'failover-counts', delivery: 'exactlyOnce' } },
      processor: { builtin: 'wordcount' },
      executors: { replicas: executors },
    };
    const kubectlBinary = state.kubectl;
    const applyJob = (standby: boolean): Promise<void> =>
      kubectl(kubectlBinary, paths.kubeconfig, ['apply', '-f', '-'], JSON.stringify({ apiVersion, kind, metadata: { namespace: ref.namespace, name: ref.name }, spec: { ...spec, driver: { standby } } }));
    await applyJob(phases[0] === 'on');

    // Text at a steady rate, a quarter second's worth per send, round-robin over the partitions.
    const lines = sampleLines(10_000);
    const feed = (async () => {
      const producer = await kafka.producer();
      try {
        for (let send = 0; feeding(); send++) {
          const size = Math.max(1, Math.round(linesPerSecond / 4));
          const records = Array.from({ length: size }, (_, i) => ({ key: null, value: Buffer.from(lines[(send * size + i) % lines.length] ?? '') }));
          await producer.send(source, send % partitions, records);
          await sleep(250);
        }
      } finally {
        await producer.close();
      }
    })();

    const pods = async (): Promise<Stored<Pod>[]> => (await kube.list('Pod', { namespace: ref.namespace, labelSelector: `${labelKeys.instance}=${ref.name}` })).items;
    const offsetsVersion = async (): Promise<number> => (await session.getIfExists(layout.offsets(ref)))?.stat.version ?? -1;
    const ready = (pod: Stored<Pod>): boolean => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    /**
     * Every pod Running with a process (the standby, when there is one, also Ready: warm), the
     * driver and every executor registered, and `batches` more batches committed.
     */
    const settled = async (batches: number, standby: boolean): Promise<void> => {
      await until('every pod running and registered', async () => {
        const all = await pods();
        const running = all.filter((pod) => podPid(pod) !== undefined && pod.metadata.deletionTimestamp === undefined);
        const registered = (await session.children(layout.executors(ref))).length;
        const driver = await session.getIfExists(layout.driver(ref));
        const drivers = running.filter((pod) => pod.metadata.labels?.[labelKeys.component] === 'driver');
        const warm = !standby || drivers.every(ready);
        return running.length === executors + (standby ? 2 : 1) && registered === executors && driver !== null && warm ? true : undefined;
      }, 50, 180_000);
      const from = await offsetsVersion();
      await until(`${batches} batches committed`, async () => ((await offsetsVersion()) >= from + batches ? true : undefined), 20, 120_000);
    };

    /** The pod named by the `driver` znode: the active driver. */
    const activeDriver = async (): Promise<string | undefined> => {
      const node = await session.getIfExists(layout.driver(ref));
      return node === null ? undefined : decodeDriverRegistration(node.data).pod;
    };

    console.log(`job running: ${executors} executors, batchInterval ${values['batch-interval']}, ~${linesPerSecond} lines/s into ${partitions} partitions; ${rounds} × ${signal} of each kind per phase, phases: standby ${phases.join(', then ')}`);
    type Figures = { readonly figures: Record<'driver' | 'executor', number[]>; readonly stepFigures: Record<'driver' | 'executor', Map<string, number[]>> };
    const results: [string, Figures][] = [];
    for (const [index, phase] of phases.entries()) {
      const standby = phase === 'on';
      if (index > 0) {
        await applyJob(standby);
        console.log(`\nphase ${index + 1}: spec.driver.standby ${String(standby)}`);
      }
      if (costWindowMs > 0) {
        await settled(2, standby);
        const active = await activeDriver();
        const processes = (await pods()).flatMap((pod) => {
          const pid = podPid(pod);
          if (pid === undefined) return [];
          const role = pod.metadata.labels?.[labelKeys.component] === 'driver' ? (pod.metadata.name === active ? 'active driver' : 'standby driver') : 'executor';
          return [{ role, name: pod.metadata.name, pid, before: processUse(pid) }];
        });
        await sleep(costWindowMs);
        console.log(`standby ${phase}: what each pod's process costs over ${costWindowMs / 1000} s of the running job:`);
        for (const measured of processes.sort((a, b) => a.role.localeCompare(b.role))) {
          const after = processUse(measured.pid);
          if (measured.before === undefined || after === undefined) continue;
          const cpu = (after.cpuMs - measured.before.cpuMs) / costWindowMs;
          console.log(`  ${measured.role.padEnd(15)} ${measured.name.padEnd(20)} RSS ${(after.rssBytes / 2 ** 20).toFixed(0).padStart(4)} MiB, CPU ${(cpu * 100).toFixed(1).padStart(5)}% of a core`);
        }
      }
      const figures: Record<'driver' | 'executor', number[]> = { driver: [], executor: [] };
      const stepFigures: Record<'driver' | 'executor', Map<string, number[]>> = { driver: new Map(), executor: new Map() };
      results.push([`standby ${phase}`, { figures, stepFigures }]);
      for (let round = 0; round < rounds * 2; round++) {
        const target = round % 2 === 0 ? 'driver' : 'executor';
        await settled(2, standby);
        // A batch in flight: tasks assigned and not yet done.
        const victim = await until(`a batch in flight with a ${target} to kill`, async () => {
          const assigned = (await ledger.readTasks(ref)).filter((task) => task.record.state === 'assigned');
          if (assigned.length === 0) return undefined;
          const counts = new Map<string, number>();
          for (const task of assigned) counts.set(task.record.owner, (counts.get(task.record.owner) ?? 0) + 1);
          const name = target === 'driver' ? await activeDriver() : [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
          const pod = (await pods()).find((p) => p.metadata.name === name);
          const pid = podPid(pod);
          return pod === undefined || pid === undefined ? undefined : { name: pod.metadata.name, uid: pod.metadata.uid, pid };
        }, 5);
        const registration = target === 'driver' ? layout.driver(ref) : layout.executor(ref, victim.name);
        const session0 = (await session.getIfExists(registration))?.stat.ephemeralOwner;
        process.kill(victim.pid, signal);
        const killedAt = Date.now();
        const from = await offsetsVersion();
        // Each step of the repair, first seen at (ms from the kill).
        const steps = new Map<string, number>();
        const seen = (step: string): void => {
          if (!steps.has(step)) steps.set(step, Date.now() - killedAt);
        };
        await until('the committed offsets advancing and the replacement registered after the kill', async () => {
          const [offsets, node, pod] = await Promise.all([offsetsVersion(), session.getIfExists(registration), pods().then((all) => all.find((p) => p.metadata.name === victim.name))]);
          if (node?.stat.ephemeralOwner !== session0) seen('registration gone');
          if (pod?.metadata.uid !== victim.uid || pod.metadata.deletionTimestamp !== undefined) seen('pod retired');
          if (pod?.metadata.uid !== victim.uid) seen('old pod deleted');
          if (pod !== undefined && pod.metadata.uid !== victim.uid) seen('new pod created');
          if (pod !== undefined && pod.metadata.uid !== victim.uid && podPid(pod) !== undefined) seen('new pod running');
          if (node !== null && node.stat.ephemeralOwner !== session0) seen('new process registered');
          if (offsets > from) seen('offsets advance');
          return steps.has('offsets advance') && steps.has('new process registered') ? true : undefined;
        }, 10, 240_000);
        if (signal === 'SIGSTOP') await until('the hung process replaced', async () => (steps.has('old pod deleted') || (await pods()).every((p) => p.metadata.uid !== victim.uid) ? true : undefined), 50, 180_000);
        if (signal === 'SIGSTOP') {
          seen('old pod deleted');
          try {
            process.kill(victim.pid, 'SIGCONT');
          } catch {
            // already ended
          }
        }
        const ms = steps.get('offsets advance') ?? NaN;
        figures[target].push(ms);
        for (const step of ['registration gone', 'pod retired', 'old pod deleted']) {
          const at = steps.get(step);
          if (at !== undefined) stepFigures[target].set(step, [...(stepFigures[target].get(step) ?? []), at]);
        }
        const timeline = [...steps].sort((a, b) => a[1] - b[1]).map(([step, at]) => `${step} +${(at / 1000).toFixed(2)}`).join(', ');
        console.log(`  kill ${String(round + 1).padStart(2)}: ${target.padEnd(8)} ${victim.name.padEnd(20)} offsets advance again after ${(ms / 1000).toFixed(2)} s  (${timeline})`);
      }
    }
    stopFeed = true;
    await feed;

    const sorted = (samples: readonly number[]): number[] => [...samples].sort((a, b) => a - b);
    for (const [label, { figures, stepFigures }] of results) {
      console.log(`\n${label} — from the ${signal}:`);
      for (const target of ['executor', 'driver'] as const) {
        for (const [step, samples] of stepFigures[target]) console.log(`  ${target.padEnd(8)} ${step.padEnd(18)} ${describe(samples)}`);
      }
      console.log(`${label} — from the ${signal} to the committed offsets advancing again:`);
      console.log(`  executor (baseline) ${describe(figures.executor)}`);
      console.log(`  driver              ${describe(figures.driver)}`);
      const ratio = (p: number): string => (percentile(sorted(figures.driver), p) / percentile(sorted(figures.executor), p)).toFixed(2);
      console.log(`  driver / executor   p50 ${ratio(50)}x, p99 ${ratio(99)}x (target: driver p99 <= 2 s)`);
    }
    const off = results.find(([label]) => label === 'standby off')?.[1].figures.driver;
    const on = results.find(([label]) => label === 'standby on')?.[1].figures.driver;
    if (off !== undefined && on !== undefined) {
      const ratio = (p: number): string => (percentile(sorted(on), p) / percentile(sorted(off), p)).toFixed(2);
      console.log(`\ndriver failover, standby on / standby off: p50 ${ratio(50)}x, p99 ${ratio(99)}x`);
    }
  } finally {
    stopFeed = true;
    await Promise.allSettled([session.close(), kafka.close()]);
  }
} finally {
  await localDown(paths, () => undefined);
  rmSync(cwd, { recursive: true, force: true });
}
