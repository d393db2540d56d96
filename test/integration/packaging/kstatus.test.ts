import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, parseAllDocuments } from 'yaml';
import { applyDefaults, type StreamingJobSpec, type StreamingJobStatus } from '../../../src/api/v1alpha1/index.js';
import type { JobProgress } from '../../../src/operator/job-coordination.js';
import { sortJobPods, type ObservedPod } from '../../../src/operator/reconciler/observed-pods.js';
import { computeStatus, startupGraceMs, type CoordinationView, type StatusInput } from '../../../src/operator/reconciler/status.js';
import { adminRest, createNamespace, deleteNamespace } from '../../harness/kube.js';
import { installGoProgram } from '../../support/go-program.js';
import { jobProgress, observedPod, rolloutPlan, syncedView } from '../../support/status-fixtures.js';
import { readRepoFile } from '../../support/packaging/manifests.js';

// What Flux reports for a StreamingJob at each step of its life: the status the operator computes
// (computeStatus, the one place conditions are decided) is judged by kstatus itself
// (sigs.k8s.io/cli-utils status.Compute), by Flux's fork of it, and by Flux's CEL evaluator
// running the healthCheckExprs that docs/gitops.md documents — all through tools/kstatus, a small
// Go program built from those libraries by tools/kstatus/install.sh and cached. The steps that
// depend on the API server (a job just created, a job being deleted) are read back from the real
// kube-apiserver of the test harness.

type Verdict = { readonly status?: string; readonly message?: string; readonly error?: string };
interface Judgement {
  readonly kstatus: Verdict;
  readonly fluxKstatus: Verdict;
  readonly cel?: Verdict;
}
type Job = Record<string, unknown> & { metadata: Record<string, unknown>; spec: StreamingJobSpec; status?: StreamingJobStatus };

const sample = parse(readRepoFile('manifests/samples/wordcount.yaml')) as Job;
let kstatusBin = '';

/** The `healthCheckExprs` entry for StreamingJob in docs/gitops.md, exactly as documented. */
function documentedExpressions(): Record<string, string> {
  const doc = readRepoFile('docs/gitops.md');
  const block = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((text) => text.includes('healthCheckExprs:'));
  if (block === undefined) throw new Error('docs/gitops.md has no healthCheckExprs example');
  const parsed = parseAllDocuments(block.replace(/^ {2}/gm, ''))[0]?.toJSON() as { healthCheckExprs: Record<string, string>[] };
  const entry = parsed.healthCheckExprs.find((e) => e.kind === 'StreamingJob');
  if (entry === undefined) throw new Error('no StreamingJob entry in the documented healthCheckExprs');
  const { apiVersion: _a, kind: _k, ...exprs } = entry;
  return exprs;
}

function judge(objects: readonly Record<string, unknown>[]): Judgement[] {
  const request = { objects, healthCheckExprs: documentedExpressions() };
  const result = spawnSync(kstatusBin, [], { input: JSON.stringify(request), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tools/kstatus failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Judgement[];
}

/** kstatus, Flux's kstatus and the documented CEL expressions all agree on `expected`. */
function expectVerdict(object: Record<string, unknown>, expected: string): void {
  const [judgement] = judge([object]);
  expect(judgement?.kstatus).toMatchObject({ status: expected });
  expect(judgement?.fluxKstatus).toMatchObject({ status: expected });
  expect(judgement?.cel?.error).toBeUndefined();
  expect(judgement?.cel).toMatchObject({ status: expected });
}

// ---- statuses the operator computes, step by step ------------------------------------------

const now = Date.UTC(2026, 0, 1, 12, 0, 0);
const longAgo = now - 10 * startupGraceMs;
const generation = 4;

function pod(name: string, shape: Partial<ObservedPod> = {}): ObservedPod {
  return observedPod(name, longAgo, shape);
}

const executors = (n: number, shape: Partial<ObservedPod> = {}): ObservedPod[] => Array.from({ length: n }, (_, i) => pod(`wordcount-executor-${i}`, shape));

function synced(registered: readonly string[], overrides: Partial<JobProgress> = {}): CoordinationView {
  const active = Object.fromEntries(registered.map((name) => [name, 'active' as const]));
  return syncedView(jobProgress(active, { driverStartedAt: '2026-01-01T11:00:00Z', lastCommittedBatch: { id: 7, committedAt: '2026-01-01T11:59:00Z' }, totalLag: 0, ...overrides }));
}

const plan = rolloutPlan;

function statusOf(spec: Partial<StreamingJobSpec>, pods: ObservedPod[], overrides: Partial<StatusInput> = {}): StreamingJobStatus {
  return computeStatus({
    jobName: 'wordcount',
    generation,
    previous: undefined,
    now,
    findings: [],
    spec: applyDefaults({ ...sample.spec, ...spec }),
    pods: sortJobPods('wordcount', pods),
    plan: plan('UpToDate'),
    coordination: synced(pods.filter((p) => p.component === 'executor' && p.ready).map((p) => p.name)),
    restarts: 0,
    errors: [],
    ...overrides,
  });
}

function withStatus(status: StreamingJobStatus, spec: Partial<StreamingJobSpec> = {}): Job {
  return { ...sample, metadata: { ...sample.metadata, namespace: 'team-a', generation }, spec: { ...sample.spec, ...spec }, status: JSON.parse(JSON.stringify(status)) as StreamingJobStatus };
}

const driver = pod('wordcount-driver');
const four = { executors: { ...sample.spec.executors, replicas: 4 } } as Partial<StreamingJobSpec>;
const zero = { executors: { ...sample.spec.executors, replicas: 0 } } as Partial<StreamingJobSpec>;

const steps: [string, Job, string][] = [
  ['pods starting', withStatus(statusOf(four, [pod('wordcount-driver', { ready: false, createdAtMs: now - 1000 }), ...executors(4, { ready: false, createdAtMs: now - 1000 })], { plan: plan('WaitingForPods') }), four), 'InProgress'],
  [
    'scaling up at 2 of 4 executors',
    withStatus(statusOf(four, [driver, ...executors(2), pod('wordcount-executor-2', { ready: false, createdAtMs: now - 1000 }), pod('wordcount-executor-3', { ready: false, createdAtMs: now - 1000 })], { plan: plan('WaitingForPods') }), four),
    'InProgress',
  ],
  [
    'scaling up with the new pods Ready but not registered in ZooKeeper yet',
    withStatus(statusOf(four, [driver, ...executors(4, { createdAtMs: now - 1000 })], { plan: plan('UpToDate'), coordination: synced(['wordcount-executor-0', 'wordcount-executor-1']) }), four),
    'InProgress',
  ],
  ['rolling out a new pod template', withStatus(statusOf(four, [driver, ...executors(3), pod('wordcount-executor-3', { ready: false, createdAtMs: now - 1000 })], { plan: plan('RollingUpdate') }), four), 'InProgress'],
  ['running with every desired executor ready', withStatus(statusOf(four, [driver, ...executors(4)]), four), 'Current'],
  ['an executor lost past the start-up grace', withStatus(statusOf(four, [driver, ...executors(3)], { plan: plan('CreatingPods') }), four), 'InProgress'],
  ['suspending: pods still stop', withStatus(statusOf({ suspend: true }, [...executors(2)], { plan: plan('Suspending') }), { suspend: true }), 'InProgress'],
  ['suspended and drained', withStatus(statusOf({ suspend: true }, [], { plan: plan('Suspended') }), { suspend: true }), 'Current'],
  ['scaled to zero executors, the driver up', withStatus(statusOf(zero, [driver]), zero), 'Current'],
  [
    'an invalid spec',
    withStatus(statusOf({}, [driver, ...executors(2)], { findings: [{ field: 'spec.processor.params[regex]', message: 'does not compile' }], spec: undefined, coordination: { state: 'skipped' } })),
    'Failed',
  ],
  [
    'data that cannot move until the user acts (a missing source topic)',
    withStatus(statusOf({}, [driver, ...executors(2)], { coordination: synced(['wordcount-executor-0', 'wordcount-executor-1'], { blocked: { reason: 'SourceTopicMissing', message: 'topic "text" does not exist', field: 'spec.source.kafka.topics', since: '2026-01-01T11:58:00Z' } }) })),
    'Failed',
  ],
  ['a batch failed under onTaskExhausted: fail', withStatus(statusOf({}, [driver, ...executors(2)], { coordination: synced(['wordcount-executor-0', 'wordcount-executor-1'], { failedBatches: ['0000000007'] }) })), 'Failed'],
];

beforeAll(() => {
  kstatusBin = installGoProgram('kstatus');
}, 900_000);

describe('what kstatus and Flux report for a StreamingJob the operator has written', () => {
  it.each(steps)('%s → %s', (_step, object, expected) => {
    expectVerdict(object, expected);
  });

  it('a new generation the operator has not observed yet is InProgress, whatever the old status says', () => {
    const running = withStatus(statusOf(four, [driver, ...executors(4)]), four);
    expectVerdict({ ...running, metadata: { ...running.metadata, generation: generation + 1 } }, 'InProgress');
  });
});

describe('what kstatus and Flux report for a StreamingJob as the API server serves it', () => {
  const rest = adminRest();
  let namespace = '';

  beforeAll(async () => {
    namespace = await createNamespace('kstatus');
  });
  afterAll(async () => {
    await deleteNamespace(namespace);
  });

  const path = (name: string): string => `/apis/streamkeeper.io/v1alpha1/namespaces/${namespace}/streamingjobs/${name}`;

  it('a job just created, before any operator has seen it, is InProgress (not Current)', async () => {
    await rest.call('POST', `/apis/streamkeeper.io/v1alpha1/namespaces/${namespace}/streamingjobs`, { body: { ...sample, metadata: { name: 'fresh', namespace } } });
    const fresh = (await rest.call('GET', path('fresh'))) as Job;
    expect(fresh.status).toEqual({ observedGeneration: 0 });
    expectVerdict(fresh, 'InProgress');
  });

  it("a windowed job's status keeps its watermark beside the lag through the API server, and reads Current", async () => {
    await rest.call('POST', `/apis/streamkeeper.io/v1alpha1/namespaces/${namespace}/streamingjobs`, { body: { ...sample, metadata: { name: 'windowed', namespace } } });
    const created = (await rest.call('GET', path('windowed'))) as Job;
    const watermark = '2026-01-01T11:58:30.000Z';
    const status = statusOf({}, [driver, ...executors(2)], {
      generation: Number(created.metadata.generation ?? 1),
      coordination: synced(['wordcount-executor-0', 'wordcount-executor-1'], { totalLag: 12, watermark }),
    });
    await rest.call('PUT', `${path('windowed')}/status`, { body: { ...created, status } });
    const read = (await rest.call('GET', path('windowed'))) as Job;
    expect(read.status).toMatchObject({ watermark, totalLag: 12 });
    expectVerdict(read, 'Current');
  });

  it('a job being deleted is Terminating, and the documented expressions still evaluate', async () => {
    await rest.call('POST', `/apis/streamkeeper.io/v1alpha1/namespaces/${namespace}/streamingjobs`, {
      body: { ...sample, metadata: { name: 'leaving', namespace, finalizers: ['streamkeeper.io/cleanup'] } },
    });
    await rest.call('DELETE', path('leaving'));
    const leaving = (await rest.call('GET', path('leaving'))) as Job;
    expect(leaving.metadata.deletionTimestamp).toBeDefined();
    const [judgement] = judge([leaving]);
    expect(judgement?.kstatus).toMatchObject({ status: 'Terminating' });
    expect(judgement?.fluxKstatus).toMatchObject({ status: 'Terminating' });
    expect(judgement?.cel?.error).toBeUndefined();
    await rest.call('PATCH', path('leaving'), { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
  });
});
