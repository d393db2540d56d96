/**
 * The driver and executors together, in-process, on the in-memory ZooKeeper and Kafka: the
 * protocol end to end, fast. The same scenarios run with real processes, servers and SIGKILL in
 * test/integration/runtime.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExecutorMembership } from '../../../src/coordination/membership.js';
import { readJobAcl } from '../../../src/coordination/acl.js';
import { decodeDriverRegistration, encodeDriverRegistration, type ProgressBlocker } from '../../../src/coordination/progress-report.js';
import type { ZooKeeperSession } from '../../../src/coordination/session.js';
import { TaskLedger } from '../../../src/coordination/task-ledger.js';
import { nextTaskState } from '../../../src/coordination/task-state.js';
import { InMemoryZooKeeper } from '../../../src/coordination/zookeeper/in-memory.js';
import { Driver } from '../../../src/runtime/driver.js';
import { Executor } from '../../../src/runtime/executor.js';
import { decodePlanContext } from '../../../src/runtime/job-settings.js';
import { InMemoryKafka } from '../../../src/testing/index.js';
import type { ProcessFunction } from '../../../src/runtime/processors/api.js';
import { ProcessorRegistry } from '../../../src/runtime/processors/processor-runner.js';
import { OperatorStandIn, jobConfig } from '../../support/operator-stand-in.js';
import { eventually as eventuallyHolds } from '../../contract/zookeeper/waiting.js';

function eventually<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  return eventuallyHolds(probe, accept, what, timeoutMs);
}

/** Processors the tests steer: `hold` blocks every task until released. */
class SteeredProcessors extends ProcessorRegistry {
  held: Promise<void> | undefined;
  started = 0;
  /** The config map each attempt's processor got, by `task#attempt`. */
  readonly configs = new Map<string, Readonly<Record<string, string>>>();
  private readonly releases: (() => void)[] = [];

  /** Holds every task that starts from now on until the returned function is called (or the scenario closes). */
  hold(): () => void {
    let release!: () => void;
    this.held = new Promise((resolve) => {
      release = resolve;
    });
    this.releases.push(release);
    return release;
  }

  releaseAll(): void {
    this.held = undefined;
    for (const release of this.releases.splice(0)) release();
  }

  override async resolve(name: string, params: Readonly<Record<string, string>>): Promise<ProcessFunction> {
    const inner = await super.resolve(name, params);
    return async (records, ctx) => {
      this.started += 1;
      this.configs.set(`${ctx.taskId}#${ctx.attempt}`, ctx.config);
      await this.held;
      return inner(records, ctx);
    };
  }
}

interface Running {
  readonly stop: AbortController;
  readonly done: Promise<number>;
  readonly session: ZooKeeperSession;
}

interface RunningDriver extends Running {
  readonly driver: Driver;
}

class Scenario {
  readonly zk = new InMemoryZooKeeper();
  readonly kafka = new InMemoryKafka();
  readonly job = { namespace: 'team-a', name: `job-${randomBytes(3).toString('hex')}` };
  readonly operator = new OperatorStandIn(this.zk.connect, 'in-memory', this.job);
  readonly processors = new SteeredProcessors();
  readonly running: Running[] = [];
  private readonly factory = () => this.kafka.client();

  async start(config = jobConfig(), partitions = 2, options: { readonly sourceTopic?: boolean } = {}): Promise<void> {
    if (options.sourceTopic !== false) this.kafka.createTopic('in', partitions);
    this.kafka.createTopic('out', 2);
    this.kafka.createTopic('dlq', 1);
    await this.operator.start(config, 50);
  }

  async produce(partition: number, values: readonly string[]): Promise<void> {
    const producer = await this.kafka.client().producer();
    await producer.send('in', partition, values.map((v) => ({ key: null, value: Buffer.from(v) })));
  }

  async driver(pod = 'driver'): Promise<RunningDriver> {
    const session = await this.operator.jobSession();
    const stop = new AbortController();
    const driver = new Driver({ session, layout: this.operator.layout, job: this.job, pod, kafka: this.factory, progressIntervalMs: 200, stopGraceMs: 100 });
    const running = { stop, session, driver, done: driver.run(stop.signal) };
    this.running.push(running);
    return running;
  }

  async executor(pod: string): Promise<Running> {
    const session = await this.operator.jobSession();
    const stop = new AbortController();
    const executor = new Executor({ session, layout: this.operator.layout, job: this.job, pod, kafka: this.factory, processors: this.processors });
    const running = { stop, session, done: executor.run(stop.signal) };
    this.running.push(running);
    return running;
  }

  output(topic = 'out', partitions = 2): string[] {
    return Array.from({ length: partitions }, (_v, p) => this.kafka.visibleRecords(topic, p).map((r) => `${r.key?.toString() ?? ''}=${r.value?.toString() ?? ''}`)).flat();
  }

  /** Why the registered driver says the job cannot move data. */
  async blocked(): Promise<ProgressBlocker | undefined> {
    const node = await this.operator.operator.getIfExists(this.operator.layout.driver(this.job));
    return node === null ? undefined : decodeDriverRegistration(node.data).blocked;
  }

  ledger(): TaskLedger {
    return new TaskLedger(this.operator.operator, this.operator.layout);
  }

  async offsets(): Promise<Record<string, string>> {
    const read = await this.ledger().readOffsets(this.job);
    return Object.fromEntries((read?.record.partitions ?? []).map((p) => [`${p.topic}/${p.partition}`, p.next]));
  }

  async close(): Promise<void> {
    this.processors.releaseAll();
    for (const r of this.running) r.stop.abort();
    await Promise.allSettled(this.running.map((r) => r.done));
    await Promise.allSettled(this.running.map((r) => r.session.close()));
    await this.operator.stop();
  }
}

describe('driver and executors (in-memory servers)', () => {
  let scenario: Scenario;
  afterEach(async () => {
    await scenario.close();
  });

  it('counts words once per batch and advances the offsets', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig({ processor: { name: 'wordcount', params: {} } }));
    await scenario.produce(0, ['the cat', 'the hat']);
    await scenario.produce(1, ['a cat']);
    await scenario.executor('e-0');
    await scenario.executor('e-1');
    await scenario.driver();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '2' && o['in/1'] === '1', 'offsets advanced');
    expect(scenario.output().sort()).toEqual(['a=1', 'cat=1', 'cat=1', 'hat=1', 'the=2']);
    const progress = (await scenario.ledger().readOffsets(scenario.job))?.record;
    expect(progress).toMatchObject({ batch: '0000000000', progress: { lastBatch: '0000000000', totalLag: 0 } });
    expect(await scenario.ledger().readBatches(scenario.job)).toEqual([]);
    expect(await scenario.ledger().readTasks(scenario.job)).toEqual([]);
  });

  it('records nothing while there are no new records, and goes on when some arrive', async () => {
    scenario = new Scenario();
    await scenario.start();
    await scenario.executor('e-0');
    await scenario.driver();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '0', 'start positions recorded');
    await sleep(300);
    expect((await scenario.ledger().readOffsets(scenario.job))?.record.batch).toBeNull();
    await scenario.produce(1, ['x']);
    await eventually(() => scenario.offsets(), (o) => o['in/1'] === '1', 'the new record processed');
    expect(scenario.output()).toEqual(['=x']);
  });

  it('starts a new job at the latest offsets with startingOffsets latest', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig({ source: { bootstrapServers: ['127.0.0.1:9092'], topics: ['in'], startingOffsets: 'latest' } }));
    await scenario.produce(0, ['old']);
    await scenario.executor('e-0');
    await scenario.driver();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '1', 'start position recorded at the end');
    await scenario.produce(0, ['new']);
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '2', 'new record processed');
    expect(scenario.output()).toEqual(['=new']);
  });

  it('moves a dead executor\'s task to a live one, which commits it exactly once', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    await scenario.produce(0, ['a', 'b', 'c']);
    const release = scenario.processors.hold();
    const doomed = await scenario.executor('e-0');
    await scenario.driver();
    await eventually(() => scenario.processors.started, (n) => n === 1, 'task started on e-0');
    await scenario.executor('e-1');
    scenario.processors.held = undefined;
    await doomed.session.close(); // its node goes: dead
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '3', 'batch committed');
    release(); // the zombie attempt goes on, and must not commit
    await sleep(100);
    expect(scenario.output()).toEqual(['=a', '=b', '=c']);
  });

  it('runs 16 partitions as 4 partition-group tasks; a dead executor\'s group task moves and commits each of its ranges exactly once', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig({ partitionGroups: 4 }), 16);
    for (let p = 0; p < 16; p++) await scenario.produce(p, [`a${p}`, `b${p}`]);
    const release = scenario.processors.hold();
    const doomed = await scenario.executor('e-0');
    await scenario.driver();
    await eventually(() => scenario.processors.started, (n) => n >= 1, 'a task started on e-0');
    const tasks = (await scenario.ledger().readTasks(scenario.job)).map((t) => t.record);
    expect(tasks.map((t) => [t.group, t.ranges.length])).toEqual([0, 1, 2, 3].map(() => [expect.any(Number), 4]));
    expect(new Set(tasks.flatMap((t) => t.ranges.map((r) => r.partition)))).toEqual(new Set(Array.from({ length: 16 }, (_v, p) => p)));
    await scenario.executor('e-1');
    scenario.processors.held = undefined;
    await doomed.session.close(); // its node goes: dead, and its tasks move to e-1
    await eventually(() => scenario.offsets(), (o) => Array.from({ length: 16 }, (_v, p) => o[`in/${p}`]).every((next) => next === '2'), 'batch committed');
    release(); // the zombie attempts go on, and must not commit
    await sleep(100);
    const expected = Array.from({ length: 16 }, (_v, p) => [`=a${p}`, `=b${p}`]).flat();
    expect(scenario.output().sort()).toEqual(expected.sort());
  });

  it('runs a moved task with the config map its batch was planned with, on an executor started after the config changed', async () => {
    scenario = new Scenario();
    const config = jobConfig({ config: { greeting: 'planned' } });
    await scenario.start(config, 1);
    await scenario.produce(0, ['a']);
    const release = scenario.processors.hold();
    const doomed = await scenario.executor('e-0');
    await scenario.driver();
    await eventually(() => scenario.processors.started, (n) => n === 1, 'task started on e-0');
    await scenario.operator.publish({ ...config, config: { greeting: 'changed' } });
    await scenario.executor('e-1'); // has only ever seen the changed configuration
    scenario.processors.held = undefined;
    await doomed.session.close(); // its node goes: dead
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '1', 'batch committed by the retry');
    release();
    const [task] = await scenario.ledger().readTasks(scenario.job);
    expect(task).toBeUndefined(); // cleaned up after the commit
    expect(scenario.processors.configs.get('0000000000-00000#2')).toEqual({ greeting: 'planned' });
  });

  it('aborts the attempt of an executor whose session expired while the task moved on, and keeps it registered', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    await scenario.produce(0, ['a', 'b']);
    const release = scenario.processors.hold();
    const expiring = await scenario.executor('e-0');
    await scenario.driver();
    await eventually(() => scenario.processors.started, (n) => n === 1, 'task started on e-0');
    scenario.processors.held = undefined;
    await scenario.executor('e-1');
    await eventually(async () => (await new ExecutorMembership(scenario.operator.operator, scenario.operator.layout).read(scenario.job)).size, (n) => n === 2, 'both registered');
    const id = expiring.session.sessionId;
    if (id !== undefined) scenario.zk.expire(id);
    // The operator saw the node go before the new session registered again, and moved the task.
    await scenario.ledger().transition(scenario.job, '0000000000-00000', (task) => nextTaskState(task, { type: 'reschedule', reason: 'owner-dead', to: 'e-1', maxTaskAttempts: 4 }));
    release();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '2', 'batch committed');
    expect(scenario.output()).toEqual(['=a', '=b']);
    await eventually(async () => (await new ExecutorMembership(scenario.operator.operator, scenario.operator.layout).read(scenario.job)).has('e-0'), (registered) => registered, 'e-0 registered again');
  });

  it('finishes the recorded batch after a driver restart instead of planning a new one', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    await scenario.produce(0, ['a', 'b']);
    const release = scenario.processors.hold();
    await scenario.executor('e-0');
    const first = await scenario.driver();
    await eventually(() => scenario.processors.started, (n) => n === 1, 'task started');
    first.stop.abort();
    await first.done;
    await first.session.close();
    const [recorded] = await scenario.ledger().readBatches(scenario.job);
    expect(recorded?.record).toMatchObject({ id: '0000000000', state: 'planned', ranges: [{ topic: 'in', partition: 0, from: '0', to: '2' }] });
    await scenario.produce(0, ['c']);
    await scenario.driver();
    release();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '3', 'both batches committed');
    expect(scenario.output()).toEqual(['=a', '=b', '=c']);
  });

  it('keeps a second driver standing by, warm and writing nothing, until the active one\'s registration goes; then it finishes the recorded batch', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    await scenario.produce(0, ['a', 'b']);
    const release = scenario.processors.hold();
    await scenario.executor('e-0');
    const active = await scenario.driver('job-driver');
    await eventually(() => scenario.processors.started, (n) => n === 1, 'task started');
    const standby = await scenario.driver('job-driver-1');
    await eventually(() => standby.driver.isReady, (ready) => ready, 'the standby ready');
    expect(standby.driver.isRegistered).toBe(false);
    const registration = async (): Promise<string | undefined> => {
      const node = await scenario.operator.operator.getIfExists(scenario.operator.layout.driver(scenario.job));
      return node === null ? undefined : decodeDriverRegistration(node.data).pod;
    };
    expect(await registration()).toBe('job-driver');
    // Alive and waiting, as the operator sees it: the standby node names it.
    const standbyNode = async (): Promise<string | undefined> => {
      const node = await scenario.operator.operator.getIfExists(scenario.operator.layout.standby(scenario.job));
      return node === null ? undefined : decodeDriverRegistration(node.data).pod;
    };
    await eventually(() => standbyNode(), (pod) => pod === 'job-driver-1', 'the standby node registered');
    const before = await scenario.ledger().readBatches(scenario.job);
    const offsetsBefore = await scenario.ledger().readOffsets(scenario.job);
    await sleep(300);
    // Standing by writes nothing: the recorded batch and the offsets are as the active driver left them.
    expect(await scenario.ledger().readBatches(scenario.job)).toEqual(before);
    expect((await scenario.ledger().readOffsets(scenario.job))?.version).toBe(offsetsBefore?.version);
    // The active driver's process dies: its session, and with it its node, goes.
    await active.session.close();
    await eventually(() => registration(), (pod) => pod === 'job-driver-1', 'the standby took over');
    expect(standby.driver.isRegistered).toBe(true);
    await eventually(() => standbyNode(), (pod) => pod === undefined, 'the standby node withdrawn once it drives');
    release();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '2', 'the recorded batch committed by the standby');
    expect(scenario.output()).toEqual(['=a', '=b']);
    expect((await scenario.ledger().readBatches(scenario.job)).map((b) => b.record.id)).not.toContain(before[0]?.record.id);
  });

  it('ends a standby that is stopped while it waits, without it ever taking the node', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    await scenario.executor('e-0');
    await scenario.driver('job-driver');
    const standby = await scenario.driver('job-driver-1');
    await eventually(() => standby.driver.isReady, (ready) => ready, 'the standby ready');
    standby.stop.abort();
    expect(await standby.done).toBe(0);
    expect(standby.driver.isRegistered).toBe(false);
    const node = await scenario.operator.operator.getIfExists(scenario.operator.layout.driver(scenario.job));
    expect(node === null ? undefined : decodeDriverRegistration(node.data).pod).toBe('job-driver');
  });

  it('stops a driver whose node another driver now holds, leaving that driver\'s node and batch alone', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    await scenario.produce(0, ['a']);
    const release = scenario.processors.hold();
    await scenario.executor('e-0');
    const former = await scenario.driver('job-driver');
    await eventually(() => scenario.processors.started, (n) => n === 1, 'task started');
    // What a hung driver finds when it wakes: its node went with its session, a successor holds it.
    const path = scenario.operator.layout.driver(scenario.job);
    const successor = await scenario.operator.jobSession();
    try {
      await scenario.operator.operator.delete(path, -1);
      await successor.registerEphemeral(path, encodeDriverRegistration({ pod: 'job-driver-1', startedAt: new Date().toISOString() }), await readJobAcl(successor, scenario.operator.layout, scenario.job));
      expect(await former.done).toBe(0);
      const node = await scenario.operator.operator.getIfExists(path);
      expect(node === null ? undefined : decodeDriverRegistration(node.data).pod).toBe('job-driver-1');
      const [batch] = await scenario.ledger().readBatches(scenario.job);
      expect(batch?.record.state).toBe('planned');
    } finally {
      release();
      await successor.close();
    }
  });

  it('windows out-of-order views per url and second, writes each closed window once, and closes the last ones after idleTimeout', async () => {
    scenario = new Scenario();
    const window = { type: 'tumbling', sizeMs: 1000, advanceMs: 1000, eventTimeField: 'time', allowedLatenessMs: 500, emit: 'final', lateRecords: 'drop', idleTimeoutMs: 300 } as const;
    await scenario.start(jobConfig({ aggregation: { groupBy: 'url', aggregates: [{ name: 'views', function: 'count' }], statePartitions: 2, stateMemoryBytes: 1 << 26, window } }));
    const t0 = Date.parse('2026-12-07T15:00:00Z');
    const view = (url: string, ms: number): string => JSON.stringify({ url, time: t0 + ms });
    // Out of order across and within partitions; every record is within 500 ms of the greatest time seen before it.
    await scenario.produce(0, [view('/a', 100), view('/b', 1050), view('/a', 900)]);
    await scenario.produce(1, [view('/a', 1200), view('/a', 700), view('/b', 2000)]);
    await scenario.executor('e-0');
    await scenario.executor('e-1');
    await scenario.driver();
    const expected = [
      '/a@2026-12-07T15:00:00.000Z/2026-12-07T15:00:01.000Z={"views":3}',
      '/a@2026-12-07T15:00:01.000Z/2026-12-07T15:00:02.000Z={"views":1}',
      '/b@2026-12-07T15:00:01.000Z/2026-12-07T15:00:02.000Z={"views":1}',
      '/b@2026-12-07T15:00:02.000Z/2026-12-07T15:00:03.000Z={"views":1}',
    ];
    // No record comes after 15:00:02: only the idle timeout moves the watermark past the last windows,
    // at the pace of the wall clock since the last records (1.5 s for the last one here).
    await eventually(() => scenario.output().sort(), (out) => out.length >= expected.length, 'every window closed');
    await sleep(300);
    expect(scenario.output().sort()).toEqual(expected);
    const progress = (await scenario.ledger().readOffsets(scenario.job))?.record.progress;
    expect(progress?.maxEventTime).toBe(t0 + 2000);
    expect(Date.parse(progress?.watermark ?? '')).toBeGreaterThanOrEqual(t0 + 3000);
  });

  it('parks an exhausted batch with degrade and goes on', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig({ processor: { name: 'filter', params: { field: 'level', equals: 'ERROR' } }, maxTaskAttempts: 2, failurePolicy: { onTaskExhausted: 'degrade', poisonRecords: 'fail' } }), 1);
    await scenario.produce(0, ['not json']);
    await scenario.executor('e-0');
    await scenario.executor('e-1');
    await scenario.driver();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '1', 'the failed range parked');
    const [failed] = await scenario.ledger().readBatches(scenario.job);
    expect(failed?.record).toMatchObject({ state: 'failed', ranges: [{ from: '0', to: '1' }], failedTasks: ['0000000000-00000'] });
    await scenario.produce(0, ['{"level":"ERROR"}', '{"level":"INFO"}']);
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '3', 'the next batch committed');
    expect(scenario.output()).toEqual(['={"level":"ERROR"}']);
    const exhausted = await scenario.ledger().readTask(scenario.job, '0000000000-00000');
    expect(exhausted?.record).toMatchObject({ state: 'exhausted', error: expect.stringContaining('SK_POISON_RECORD') });
  });

  it('stops planning after an exhausted batch with fail, and retries it after a config change', async () => {
    scenario = new Scenario();
    const failing = jobConfig({ processor: { name: 'filter', params: { field: 'level', equals: 'ERROR' } }, maxTaskAttempts: 2 });
    await scenario.start(failing, 1);
    await scenario.produce(0, ['not json', '{"level":"ERROR"}']);
    await scenario.executor('e-0');
    await scenario.executor('e-1');
    await scenario.driver();
    await eventually(async () => (await scenario.ledger().readBatches(scenario.job)).map((b) => b.record.state), (s) => s.includes('failed'), 'batch failed');
    expect(await scenario.blocked()).toMatchObject({ reason: 'PoisonRecord', field: 'spec.failurePolicy.poisonRecords', message: expect.stringContaining('in/0@0') });
    await scenario.produce(0, ['{"level":"ERROR"}']);
    await sleep(400);
    expect(await scenario.offsets()).toEqual({ 'in/0': '0' });
    expect(scenario.output()).toEqual([]);
    await scenario.operator.publish({ ...failing, failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'skip' } });
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '3', 'retried and committed');
    expect(scenario.output()).toEqual(['={"level":"ERROR"}', '={"level":"ERROR"}']);
    expect(await scenario.ledger().readBatches(scenario.job)).toEqual([]);
    await eventually(() => scenario.blocked(), (b) => b === undefined, 'the cause cleared by the commit');
  });

  it('reports a source topic that does not exist, naming the field, and clears it once the topic exists', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1, { sourceTopic: false });
    await scenario.executor('e-0');
    await scenario.driver();
    const blocked = await eventually(() => scenario.blocked(), (b) => b !== undefined, 'the cause reported');
    expect(blocked).toMatchObject({ reason: 'SourceTopicMissing', field: 'spec.source.kafka.topics', message: expect.stringContaining('source topic in') });
    scenario.kafka.createTopic('in', 1);
    await scenario.produce(0, ['a b']);
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '1', 'the batch committed');
    expect(await scenario.blocked()).toBeUndefined();
  });

  it('reports a processor module that cannot be loaded', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig({ processor: { name: '/nowhere/processor.mjs', params: {} }, maxTaskAttempts: 2 }), 1);
    await scenario.produce(0, ['a']);
    await scenario.executor('e-0');
    await scenario.driver();
    const blocked = await eventually(() => scenario.blocked(), (b) => b !== undefined, 'the cause reported');
    expect(blocked).toMatchObject({ reason: 'ProcessorFailed', field: 'spec.processor.module', message: expect.stringContaining('cannot load the processor module /nowhere/processor.mjs') });
  });

  it('applies new params from the next batch, recording in each batch what it was planned with', async () => {
    scenario = new Scenario();
    const config = jobConfig({ processor: { name: 'filter', params: { regex: '^a' } } });
    await scenario.start(config, 1);
    const release = scenario.processors.hold();
    await scenario.produce(0, ['apple', 'banana']);
    await scenario.executor('e-0');
    await scenario.driver();
    await eventually(() => scenario.processors.started, (n) => n === 1, 'first batch running');
    const [batch] = await scenario.ledger().readBatches(scenario.job);
    expect(decodePlanContext(batch?.record.plannedWith)?.processing.params).toEqual({ regex: '^a' });
    await scenario.operator.publish({ ...config, processor: { name: 'filter', params: { regex: '^b' } } });
    await sleep(100);
    scenario.processors.held = undefined;
    release();
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '2', 'first batch committed');
    await scenario.produce(0, ['avocado', 'blueberry']);
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '4', 'second batch committed');
    expect(scenario.output()).toEqual(['=apple', '=blueberry']);
  });

  it('hands back queued tasks and ends when asked to drain', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    const executor = await scenario.executor('e-0');
    await scenario.driver();
    await eventually(async () => (await scenario.ledger().readTasks(scenario.job)).length, (n) => n === 0, 'idle');
    executor.stop.abort();
    expect(await executor.done).toBe(0);
  });

  it('stops the driver and the executors with 0 when the job\'s subtree is deleted under them', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 2);
    const executors = [await scenario.executor('e-0'), await scenario.executor('e-1')];
    const driver = await scenario.driver();
    await scenario.produce(0, ['apple']);
    await eventually(() => scenario.offsets(), (o) => o['in/0'] === '1', 'first batch committed');
    await scenario.operator.deleteJob();
    expect(await Promise.all([driver.done, ...executors.map((e) => e.done)])).toEqual([0, 0, 0]);
  });

  it('stops the driver with 0 when the job\'s subtree is deleted while a batch is in flight', async () => {
    scenario = new Scenario();
    await scenario.start(jobConfig(), 1);
    const executor = await scenario.executor('e-0');
    const driver = await scenario.driver();
    scenario.processors.hold();
    await scenario.produce(0, ['apple']);
    await eventually(() => scenario.processors.started, (n) => n === 1, 'task started');
    await scenario.operator.deleteJob();
    expect(await driver.done).toBe(0);
    expect(await executor.done).toBe(0);
  });
});
