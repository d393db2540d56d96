/**
 * How the operator copes with many jobs at once: N StreamingJobs (default 1000) are created
 * together on a real control plane with no node agent (pods stay Pending), and the bench measures
 * the time until every job has its driver and executor pods and a status that reflects them, and
 * the operator process's peak RSS. Targets: under 60 s and under 150 MB for 1000 jobs.
 *
 *   node bench/run.mjs bench/operator-scale.ts [--jobs 1000] [--executors 2] [--workers 4] [--node-args=FLAGS]
 *
 * The control plane: one started here with the local launcher (src/local/control-plane.ts), the
 * operator running under the install manifest's RBAC; or, with KUBECONFIG set, a running one
 * (admin kubeconfig, CRD installed; OPERATOR_KUBECONFIG for the operator's identity, else the
 * admin's). ZooKeeper: ZK_CONNECT, else one is started here. The operator runs as its own
 * process from dist/ (built here with tsc if needed), so the RSS measured is its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { StreamingJobSpec, StreamingJobStatus } from '../src/api/v1alpha1/index.js';
import { ClientNodeKubeClient } from '../src/kube/adapter.js';
import type { KubeClient } from '../src/kube/client.js';
import { ControlPlane } from '../src/local/control-plane.js';
import { freePort } from '../src/local/free-port.js';
import { ensureBuilt, root } from './support/built.js';
import { benchZooKeeper } from './support/zookeeper.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    executors: { type: 'string', default: '2' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '50' },
    'timeout-seconds': { type: 'string', default: '600' },
    /** Flags for the operator's node process, e.g. `--max-semi-space-size=2` or `--cpu-prof`. */
    'node-args': { type: 'string', default: '' },
  },
});
const jobCount = Number(values.jobs);
const executors = Number(values.executors);
const podsPerJob = executors + 1;

interface ControlPlaneHandle {
  readonly kubeconfig: string;
  /** The operator's own identity (the chart's RBAC), when known. */
  readonly operatorKubeconfig: string | undefined;
  stop(): Promise<void>;
}

/** An admin kubeconfig: $KUBECONFIG, or a control plane started here with the local launcher. */
async function controlPlane(): Promise<ControlPlaneHandle> {
  const given = process.env.KUBECONFIG;
  if (given !== undefined && given !== '') return { kubeconfig: given, operatorKubeconfig: process.env.OPERATOR_KUBECONFIG, stop: () => Promise.resolve() };
  console.log('starting a control plane (etcd, kube-apiserver, kube-controller-manager)');
  const plane = await ControlPlane.start({ crds: [join(root, 'crds/streamkeeper.io_streamingjobs.yaml')] });
  return { kubeconfig: plane.adminKubeconfig, operatorKubeconfig: await plane.operatorKubeconfig(), stop: () => plane.destroy() };
}

/** CPU seconds (user + system) a process has used (Linux /proc). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak and current resident set size of a process, in MiB (Linux /proc). */
function memoryOf(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { peak: kib('VmHWM') / 1024, current: kib('VmRSS') / 1024 };
}

function spec(): StreamingJobSpec {
  return {
    image: 'streamkeeper/streamkeeper:0.1.0',
    source: { kafka: { bootstrapServers: ['kafka-0.kafka:9092'], topics: ['lines'] } },
    sink: { kafka: { topic: 'counts' } },
    processor: { builtin: 'wordcount' },
    executors: { replicas: executors },
  };
}

async function inBatches<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await run(item);
      }
    }),
  );
}

/** Jobs whose pods all exist and whose status, for the current generation, says so. */
async function settledJobs(kube: KubeClient, namespace: string): Promise<{ withPods: number; upToDate: number }> {
  const [jobs, pods] = await Promise.all([kube.list('StreamingJob', { namespace }), kube.list('Pod', { namespace })]);
  const podsByJob = new Map<string, number>();
  for (const pod of pods.items) {
    const job = pod.metadata.labels?.['app.kubernetes.io/instance'];
    if (job !== undefined) podsByJob.set(job, (podsByJob.get(job) ?? 0) + 1);
  }
  let withPods = 0;
  let upToDate = 0;
  for (const job of jobs.items) {
    if ((podsByJob.get(job.metadata.name) ?? 0) < podsPerJob) continue;
    withPods += 1;
    const status = job.status as StreamingJobStatus | undefined;
    const progressing = status?.conditions?.find((c) => c.type === 'Progressing');
    if (status !== undefined && status.observedGeneration === job.metadata.generation && status.executors?.desired === executors && progressing?.reason === 'WaitingForPods') upToDate += 1;
  }
  return { withPods, upToDate };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'streamkeeper-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  let operator: ChildProcess | undefined;
  try {
    const plane = await controlPlane();
    cleanups.push(() => plane.stop());
    const zkConnect = await benchZooKeeper(cleanups);
    ensureBuilt();

    const config = new KubeConfig();
    config.loadFromFile(plane.kubeconfig);
    const kube = new ClientNodeKubeClient(config);
    const core = config.makeApiClient(CoreV1Api);
    const namespace = `bench-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    cleanups.unshift(async () => {
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    });

    const credentials = join(work, 'operator-credentials');
    writeFileSync(credentials, `streamkeeper-operator:${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    const metricsPort = await freePort();
    const log = createWriteStream(join(work, 'operator.log'));
    const nodeArgs = values['node-args'].split(' ').filter((arg) => arg !== '');
    operator = spawn(
      process.execPath,
      [
        ...nodeArgs,
        join(root, 'bin/streamkeeper.js'),
        'operator',
        `--kubeconfig=${plane.operatorKubeconfig ?? plane.kubeconfig}`,
        `--zk-connect=${zkConnect}`,
        `--zk-root=/bench-${namespace}`,
        `--zk-credentials-file=${credentials}`,
        `--metrics-addr=127.0.0.1:${metricsPort}`,
        // The install manifest grants Leases only in the operator's own namespace.
        `--leader-election-namespace=${plane.operatorKubeconfig === undefined ? namespace : 'streamkeeper-system'}`,
        `--leader-election-id=${namespace}`,
        `--identity=bench-operator`,
        `--workers=${values.workers}`,
        `--namespaces=${namespace}`,
        '--log-format=json',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    operator.stdout?.pipe(log);
    operator.stderr?.pipe(log);
    const pid = operator.pid;
    if (pid === undefined) throw new Error('the operator did not start');
    const logFile = join(work, 'operator.log');
    operator.once('exit', (code) => {
      if (code !== 0) console.error(`the operator exited with ${String(code)}; its log:\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}`);
    });
    for (let i = 0; i < 100 && (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then((r) => r.status, () => 0)) !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    const idle = memoryOf(pid);
    const idleCpu = cpuSecondsOf(pid);
    console.log(`operator up (pid ${pid}), idle RSS ${idle.current.toFixed(0)} MiB; creating ${jobCount} jobs × ${podsPerJob} pods in ${namespace}`);

    const names = Array.from({ length: jobCount }, (_, i) => `job-${String(i).padStart(4, '0')}`);
    const started = performance.now();
    let peakSeen = idle.current;
    const sampler = setInterval(() => {
      try {
        peakSeen = Math.max(peakSeen, memoryOf(pid).current);
      } catch {
        // the process is gone
      }
    }, 250);
    await inBatches(names, Number(values.concurrency), async (name) => {
      await kube.create('StreamingJob', { metadata: { namespace, name }, spec: spec() as unknown as Record<string, unknown> });
    });
    const created = (performance.now() - started) / 1000;
    console.log(`created ${jobCount} jobs in ${created.toFixed(1)} s`);

    let allPodsAt: number | undefined;
    let allStatusAt: number | undefined;
    const deadline = started + Number(values['timeout-seconds']) * 1000;
    while (allStatusAt === undefined && performance.now() < deadline) {
      const { withPods, upToDate } = await settledJobs(kube, namespace);
      const elapsed = (performance.now() - started) / 1000;
      if (withPods === jobCount) allPodsAt ??= elapsed;
      if (upToDate === jobCount) allStatusAt = elapsed;
      process.stdout.write(`  ${elapsed.toFixed(1).padStart(6)} s: ${String(withPods).padStart(5)} jobs with all pods, ${String(upToDate).padStart(5)} with an up-to-date status, RSS ${memoryOf(pid).current.toFixed(0)} MiB\n`);
      if (allStatusAt === undefined) await new Promise((r) => setTimeout(r, 1000));
    }
    clearInterval(sampler);
    const memory = memoryOf(pid);
    const cpu = cpuSecondsOf(pid) - idleCpu;
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const counter = (name: string): number => metrics.split('\n').filter((line) => line.startsWith(name)).reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);

    console.log('\noperator-scale results');
    console.log(`  jobs × pods:                 ${jobCount} × ${podsPerJob} (workers ${values.workers}${values['node-args'] === '' ? '' : `, node ${values['node-args']}`})`);
    console.log(`  all jobs created:            ${created.toFixed(1)} s`);
    console.log(`  every job has its pods:      ${allPodsAt === undefined ? 'not reached' : `${allPodsAt.toFixed(1)} s`}`);
    console.log(`  every status up to date:     ${allStatusAt === undefined ? 'not reached' : `${allStatusAt.toFixed(1)} s`}   (target < 60 s)`);
    console.log(`  operator peak RSS (VmHWM):   ${memory.peak.toFixed(0)} MiB   (target < 150 MB; idle ${idle.current.toFixed(0)} MiB, sampled peak ${peakSeen.toFixed(0)} MiB)`);
    console.log(`  operator CPU time:           ${cpu.toFixed(1)} s`);
    console.log(`  reconcile passes:            ${counter('streamkeeper_reconcile_total{controller="streamingjob"')}`);
    console.log(`  status writes:               ${counter('streamkeeper_status_writes_total{result="written"}')} written, ${counter('streamkeeper_status_writes_total{result="unchanged"}')} unchanged, ${counter('streamkeeper_status_writes_total{result="conflict"}')} conflicts`);
    console.log(`  pods created:                ${counter('streamkeeper_pods_created_total')}`);
    console.log(`  operator log:                ${join(work, 'operator.log')}`);

    // Deleting the namespace deletes the jobs; the operator removes their ZooKeeper data first.
    console.log('\ncleaning up (the operator finalizes the jobs)…');
    await core.deleteNamespace({ name: namespace });
    const cleanupDeadline = performance.now() + 300_000;
    while (performance.now() < cleanupDeadline && (await kube.list('StreamingJob', { namespace })).items.length > 0) await new Promise((r) => setTimeout(r, 1000));
  } finally {
    if (operator !== undefined && operator.exitCode === null) {
      const exited = new Promise((r) => operator?.once('exit', r));
      operator.kill('SIGTERM');
      await exited;
    }
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => { console.error(`cleanup failed: ${String(err)}`); });
    if (process.env.BENCH_KEEP === undefined) rmSync(work, { recursive: true, force: true });
  }
}

await main();
