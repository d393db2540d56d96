import { afterEach, describe, expect, it } from '@jest/globals';
import { FakeKubeClient } from '../../../src/kube/fake.js';
import { InMemoryJobCoordination } from '../../../src/operator/in-memory-job-coordination.js';
import { ManualClock, settle } from '../../../src/machinery/clock.js';
import { Operator } from '../../../src/operator/operator.js';
import type { OperatorOptions } from '../../../src/operator/options.js';
import { parseCredentialFile } from '../../../src/operator/production-runtime.js';
import { namespace, sampleSpec } from './support/reconciler-world.js';

function options(identity: string, overrides: Partial<OperatorOptions> = {}): OperatorOptions {
  return {
    namespaces: [],
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    kubeconfig: undefined,
    zkConnect: 'zk:2181',
    zkRoot: '/streamkeeper',
    zkCredentialsFile: undefined,
    insecureZkOpenAcl: false,
    leaderElect: true,
    leaderElectionNamespace: 'streamkeeper-system',
    leaderElectionId: 'streamkeeper-operator',
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    identity,
    workers: 2,
    resyncPeriodMs: 300_000,
    ...overrides,
  };
}

interface Replica {
  readonly operator: Operator;
  readonly stop: AbortController;
  readonly exit: Promise<number>;
  readonly ports: InMemoryJobCoordination[];
}

function replica(kube: FakeKubeClient, clock: ManualClock, identity: string, overrides: Partial<OperatorOptions> = {}): Replica {
  const ports: InMemoryJobCoordination[] = [];
  const operator = new Operator(options(identity, overrides), {
    kube,
    clock,
    openCoordination: () => {
      const port = new InMemoryJobCoordination('per-job', () => clock.now());
      ports.push(port);
      return Promise.resolve({ coordination: port, close: () => port.close() });
    },
  });
  const stop = new AbortController();
  const started: Replica = { operator, stop, exit: operator.run(stop.signal), ports };
  running.push(started);
  return started;
}

const running: Replica[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) r.stop.abort();
  await settle();
});

async function get(operator: Operator, path: string): Promise<{ status: number; body: string }> {
  const endpoint = operator.metricsEndpoint;
  if (endpoint === undefined) return { status: 0, body: '' };
  const response = await fetch(`http://127.0.0.1:${endpoint.port}${path}`);
  return { status: response.status, body: await response.text() };
}

/** Lets the replicas' loops run; real I/O (the metrics server) needs real time too. */
async function until(clock: ManualClock, condition: () => boolean | Promise<boolean>, maxMs = 60_000): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 100) {
    if (waited > maxMs) throw new Error('condition not reached');
    await clock.advance(100);
    await settle();
  }
}

async function podCount(kube: FakeKubeClient): Promise<number> {
  return (await kube.list('Pod', { namespace })).items.length;
}

describe('streamkeeper operator', () => {
  it('leads alone, reconciles jobs, serves metrics and probes, and releases the Lease on SIGTERM', async () => {
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const kube = new FakeKubeClient({ now: () => clock.now() });
    await kube.create('StreamingJob', { metadata: { namespace, name: 'wordcount' }, spec: sampleSpec() as unknown as Record<string, unknown> });
    const one = replica(kube, clock, 'operator-0');

    await until(clock, async () => (await podCount(kube)) === 3);
    expect(one.operator.isLeading).toBe(true);
    expect((await get(one.operator, '/readyz')).status).toBe(200);
    const metrics = (await get(one.operator, '/metrics')).body;
    expect(metrics).toContain('streamkeeper_leader 1');
    expect(metrics).toMatch(/streamkeeper_jobs\{phase="Pending"\} 1/);
    expect(metrics).toMatch(/streamkeeper_pods_created_total\{component="executor"\} [1-9]/);

    one.stop.abort();
    expect(await one.exit).toBe(0);
    const lease = await kube.get('Lease', { namespace: 'streamkeeper-system', name: 'streamkeeper-operator' });
    expect(lease.spec?.holderIdentity).toBe('');
    expect(one.ports[0]?.calls.length).toBeGreaterThan(0);
  });

  it('runs one leader among two replicas; the standby takes over when the leader stops', async () => {
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const kube = new FakeKubeClient({ now: () => clock.now() });
    const a = replica(kube, clock, 'operator-a');
    await until(clock, () => a.operator.isLeading);
    const b = replica(kube, clock, 'operator-b');
    await until(clock, async () => (await get(b.operator, '/readyz')).status === 200);
    await clock.advance(30_000);
    expect(a.operator.isLeading).toBe(true);
    expect(b.operator.isLeading).toBe(false);
    expect(b.ports).toHaveLength(0);

    a.stop.abort();
    expect(await a.exit).toBe(0);
    await until(clock, () => b.operator.isLeading, 10_000);
    await kube.create('StreamingJob', { metadata: { namespace, name: 'wordcount' }, spec: sampleSpec() as unknown as Record<string, unknown> });
    await until(clock, async () => (await podCount(kube)) === 3);
    b.stop.abort();
    expect(await b.exit).toBe(0);
  });

  it('exits with an error when another replica takes the Lease', async () => {
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const kube = new FakeKubeClient({ now: () => clock.now() });
    const a = replica(kube, clock, 'operator-a');
    await until(clock, () => a.operator.isLeading);
    const lease = await kube.get('Lease', { namespace: 'streamkeeper-system', name: 'streamkeeper-operator' });
    await kube.update('Lease', { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder' } });
    await until(clock, () => !a.operator.isLeading, 30_000);
    expect(await a.exit).toBe(1);
  });

  it('looks at every job as soon as its ZooKeeper connection is lost, and again once it is back', async () => {
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const kube = new FakeKubeClient({ now: () => clock.now() });
    for (const name of ['wordcount', 'clicks']) await kube.create('StreamingJob', { metadata: { namespace, name }, spec: sampleSpec() as unknown as Record<string, unknown> });
    const one = replica(kube, clock, 'operator-0', { leaderElect: false, namespaces: [namespace] });
    await until(clock, async () => (await podCount(kube)) === 6);
    const readyReasons = async (): Promise<string[]> =>
      (await kube.list('StreamingJob', { namespace })).items.map((job) => ((job.status?.conditions ?? []) as { type: string; reason: string }[]).find((c) => c.type === 'Ready')?.reason ?? '');
    await until(clock, async () => (await readyReasons()).every((reason) => reason !== '' && reason !== 'CoordinationUnavailable'));

    // Well within every requeue interval: only the connection change can bring these passes.
    one.ports[0]?.setConnectionLost(true);
    await until(clock, async () => (await readyReasons()).every((reason) => reason === 'CoordinationUnavailable'), 1000);
    one.ports[0]?.setConnectionLost(false);
    await until(clock, async () => (await readyReasons()).every((reason) => reason !== 'CoordinationUnavailable'), 1000);
    one.stop.abort();
    expect(await one.exit).toBe(0);
  });

  it('reconciles at once without leader election', async () => {
    const clock = new ManualClock(Date.UTC(2025, 5, 1));
    const kube = new FakeKubeClient({ now: () => clock.now() });
    await kube.create('StreamingJob', { metadata: { namespace, name: 'wordcount' }, spec: sampleSpec() as unknown as Record<string, unknown> });
    const one = replica(kube, clock, 'operator-0', { leaderElect: false, namespaces: [namespace] });
    await until(clock, async () => (await podCount(kube)) === 3);
    expect(kube.actions.some((a) => a.kind === 'Lease')).toBe(false);
    one.stop.abort();
    expect(await one.exit).toBe(0);
  });
});

describe('the operator\'s credential file', () => {
  it('holds user:password, the password possibly with colons', () => {
    expect(parseCredentialFile('streamkeeper-operator:s3:cr3t\n', '/f')).toEqual({ user: 'streamkeeper-operator', password: 's3:cr3t' });
  });

  it.each(['', 'nocolon', ':password', 'user:'])('refuses %j', (text) => {
    let failure: unknown;
    try {
      parseCredentialFile(text, '/f');
    } catch (err) {
      failure = err;
    }
    expect(failure).toMatchObject({ code: 'SK_ZK_CREDENTIALS_MISSING', field: '/f' });
  });
});
