/**
 * How long jobs go unattended when the leading operator crashes: two replicas run as processes
 * with a short Lease; each round SIGKILLs the leader, creates a job at once, and measures until
 * the standby holds the Lease, reports itself leader, and has created the job's pods. The bound
 * is leaseDuration + retryPeriod from the kill to the Lease taken (docs/operator.md); acting adds
 * opening ZooKeeper and the first pass.
 *
 *   node bench/run.mjs bench/operator-failover.ts [--rounds 5] [--lease-duration 4s] [--renew-deadline 3s] [--retry-period 1s]
 *
 * The control plane: one started here with the local launcher (src/local/control-plane.ts), the
 * operators running under the install manifest's RBAC; or, with KUBECONFIG set, a running one
 * (admin kubeconfig, CRD installed; OPERATOR_KUBECONFIG for the operator's identity, else the
 * admin's). ZooKeeper: ZK_CONNECT, else one is started here. The operators run from dist/ (built
 * here with tsc if needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { StreamingJobSpec } from '../src/api/v1alpha1/index.js';
import { ClientNodeKubeClient } from '../src/kube/adapter.js';
import type { KubeClient } from '../src/kube/client.js';
import { ControlPlane } from '../src/local/control-plane.js';
import { freePort } from '../src/local/free-port.js';
import { parseDuration } from '../src/operator/options.js';
import { ensureBuilt, root } from './support/built.js';
import { benchZooKeeper } from './support/zookeeper.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'lease-duration': { type: 'string', default: '4s' },
    'renew-deadline': { type: 'string', default: '3s' },
    'retry-period': { type: 'string', default: '1s' },
  },
});
const rounds = Number(values.rounds);
const leaseMs = parseDuration(values['lease-duration'], '--lease-duration');
const retryMs = parseDuration(values['retry-period'], '--retry-period');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns true; resolves with Date.now() at that moment. */
async function whenTrue(probe: () => Promise<boolean>, what: string, everyMs = 20, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return Date.now();
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

interface Replica {
  readonly identity: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function spec(): StreamingJobSpec {
  return {
    image: 'streamkeeper/streamkeeper:0.1.0',
    source: { kafka: { bootstrapServers: ['kafka-0.kafka:9092'], topics: ['lines'] } },
    sink: { kafka: { topic: 'counts' } },
    processor: { builtin: 'wordcount' },
    executors: { replicas: 1 },
  };
}

async function leaderMetric(replica: Replica): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${replica.port}/metrics`, { signal: AbortSignal.timeout(1000) }).then((r) => r.text());
  const line = text.split('\n').find((l) => l.startsWith('streamkeeper_leader '));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

function stats(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return `min ${(sorted[0] ?? NaN).toFixed(2)} s, median ${at(0.5).toFixed(2)} s, max ${(sorted[sorted.length - 1] ?? NaN).toFixed(2)} s`;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'streamkeeper-failover-'));
  const cleanups: (() => Promise<void>)[] = [];
  const replicas = new Map<string, Replica>();
  try {
    let kubeconfig = process.env.KUBECONFIG ?? '';
    let operatorKubeconfig = process.env.OPERATOR_KUBECONFIG;
    if (kubeconfig === '') {
      console.log('starting a control plane (etcd, kube-apiserver, kube-controller-manager)');
      const plane = await ControlPlane.start({ crds: [join(root, 'crds/streamkeeper.io_streamingjobs.yaml')] });
      cleanups.push(() => plane.destroy());
      kubeconfig = plane.adminKubeconfig;
      operatorKubeconfig = await plane.operatorKubeconfig();
    }
    const zkConnect = await benchZooKeeper(cleanups);
    ensureBuilt();

    const config = new KubeConfig();
    config.loadFromFile(kubeconfig);
    const kube: KubeClient = new ClientNodeKubeClient(config);
    const core = config.makeApiClient(CoreV1Api);
    const namespace = `failover-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    // The install manifest grants Leases only in the operator's own namespace.
    const leaseNamespace = operatorKubeconfig === undefined ? namespace : 'streamkeeper-system';
    const leaseName = namespace;
    const credentials = join(work, 'operator-credentials');
    writeFileSync(credentials, `streamkeeper-operator:${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });

    const start = async (identity: string): Promise<Replica> => {
      const port = await freePort();
      const log = createWriteStream(join(work, `${identity}.log`), { flags: 'a' });
      const child = spawn(
        process.execPath,
        [
          join(root, 'bin/streamkeeper.js'),
          'operator',
          `--kubeconfig=${operatorKubeconfig ?? kubeconfig}`,
          `--zk-connect=${zkConnect}`,
          `--zk-root=/bench-${namespace}`,
          `--zk-credentials-file=${credentials}`,
          `--metrics-addr=127.0.0.1:${port}`,
          `--leader-election-namespace=${leaseNamespace}`,
          `--leader-election-id=${leaseName}`,
          `--leader-election-lease-duration=${values['lease-duration']}`,
          `--leader-election-renew-deadline=${values['renew-deadline']}`,
          `--leader-election-retry-period=${values['retry-period']}`,
          `--identity=${identity}`,
          `--namespaces=${namespace}`,
          '--log-format=json',
          '--log-level=info',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout.pipe(log);
      child.stderr.pipe(log);
      const exited = new Promise<void>((r) => child.once('exit', () => { r(); }));
      const replica: Replica = { identity, port, child, exited };
      replicas.set(identity, replica);
      await whenTrue(async () => (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) })).ok, `${identity} ready`, 100);
      return replica;
    };
    const leaseSpec = async (): Promise<{ holder: string; renewMs: number; acquireMs: number; durationS: number }> => {
      const lease = await kube.get('Lease', { namespace: leaseNamespace, name: leaseName });
      return {
        holder: lease.spec?.holderIdentity ?? '',
        renewMs: Date.parse(lease.spec?.renewTime ?? ''),
        acquireMs: Date.parse(lease.spec?.acquireTime ?? ''),
        durationS: lease.spec?.leaseDurationSeconds ?? 0,
      };
    };

    let leader = await start('replica-0');
    await whenTrue(async () => (await leaderMetric(leader)) === 1, 'the first leader', 50);
    let standby = await start('replica-1');
    let next = 2;
    const figures: { acquired: number; reported: number; acting: number; afterExpiry: number }[] = [];
    console.log(`${rounds} rounds: lease ${leaseMs / 1000} s, renew deadline ${values['renew-deadline']}, retry ${retryMs / 1000} s; bound for the Lease taken: lease + retry = ${((leaseMs + retryMs) / 1000).toFixed(1)} s after the kill`);

    for (let round = 1; round <= rounds; round++) {
      // Kill at a random point of the leader's renewal cycle.
      await sleep(2000 + Math.random() * retryMs);
      const killedAt = Date.now();
      leader.child.kill('SIGKILL');
      await leader.exited;
      replicas.delete(leader.identity);
      const job = `job-${round}`;
      await kube.create('StreamingJob', { metadata: { namespace, name: job }, spec: spec() as unknown as Record<string, unknown> });
      let lastOfDead = await leaseSpec();
      const taken = await (async () => {
        for (;;) {
          const current = await leaseSpec();
          if (current.holder === leader.identity) lastOfDead = current;
          else if (current.holder === standby.identity) return current;
          await sleep(20);
        }
      })();
      const reportedAt = await whenTrue(async () => (await leaderMetric(standby)) === 1, 'the standby reporting itself leader');
      const actingAt = await whenTrue(async () => (await kube.list('Pod', { namespace, labelSelector: `app.kubernetes.io/instance=${job}` })).items.length === 2, `the pods of ${job}`, 20);
      const row = {
        acquired: (taken.acquireMs - killedAt) / 1000,
        reported: (reportedAt - killedAt) / 1000,
        acting: (actingAt - killedAt) / 1000,
        afterExpiry: (taken.acquireMs - (lastOfDead.renewMs + lastOfDead.durationS * 1000)) / 1000,
      };
      figures.push(row);
      console.log(
        `  round ${round}: Lease taken ${row.acquired.toFixed(2)} s after the kill (${row.afterExpiry >= 0 ? '+' : ''}${row.afterExpiry.toFixed(2)} s after the dead leader's lease expired), leader metric ${row.reported.toFixed(2)} s, job reconciled ${row.acting.toFixed(2)} s`,
      );
      leader = standby;
      standby = await start(`replica-${next++}`);
    }

    const bound = (leaseMs + retryMs) / 1000;
    console.log('\noperator-failover results');
    console.log(`  timings:                         lease ${leaseMs / 1000} s, renew deadline ${values['renew-deadline']}, retry period ${retryMs / 1000} s, ${rounds} rounds`);
    console.log(`  SIGKILL → Lease taken:           ${stats(figures.map((f) => f.acquired))}   (bound lease + retry = ${bound.toFixed(1)} s; ${figures.filter((f) => f.acquired > bound).length} over)`);
    console.log(`  SIGKILL → streamkeeper_leader=1: ${stats(figures.map((f) => f.reported))}`);
    console.log(`  SIGKILL → new job's pods:        ${stats(figures.map((f) => f.acting))}`);
    console.log(`  taken after the lease expired:   ${stats(figures.map((f) => f.afterExpiry))}   (never negative: no overlap)`);
    console.log(`  logs:                            ${work}`);

    console.log('\ncleaning up (the leader finalizes the jobs)…');
    await core.deleteNamespace({ name: namespace });
    const cleanupDeadline = Date.now() + 120_000;
    while (Date.now() < cleanupDeadline && (await kube.list('StreamingJob', { namespace })).items.length > 0) await sleep(500);
    await kube.delete('Lease', { namespace: leaseNamespace, name: leaseName }).catch(() => undefined);
  } finally {
    for (const replica of replicas.values()) {
      if (replica.child.exitCode === null && replica.child.signalCode === null) {
        replica.child.kill('SIGTERM');
        await replica.exited;
      }
    }
    for (const cleanup of cleanups) await cleanup().catch((err: unknown) => { console.error(`cleanup failed: ${String(err)}`); });
    if (process.env.BENCH_KEEP === undefined) rmSync(work, { recursive: true, force: true });
  }
}

await main();
