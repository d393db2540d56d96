/**
 * The coordination protocol end to end — ACLs, config mirror, membership, task ledger,
 * rescheduler, subtree deletion — run against the in-memory fake (unit) and a real ZooKeeper
 * through the native adapter (integration), so the protocol is proven on the real thing and the
 * fake stays faithful to it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { AclScheme, jobUser, readJobAcl, sameAcl } from '../../../src/coordination/acl.js';
import { ConfigMirror, maxConfigBytes, watchConfig, type JobConfigContent, type JobConfigDocument } from '../../../src/coordination/config-mirror.js';
import { CoordinationLayout, batchId, taskId, type JobRef } from '../../../src/coordination/layout.js';
import { ExecutorMembership, type ExecutorSet } from '../../../src/coordination/membership.js';
import type { CoordinationObserver, ExecutorGoneReason, RescheduleOutcome, RescheduleReason } from '../../../src/coordination/observer.js';
import { Rescheduler } from '../../../src/coordination/rescheduler.js';
import { ZooKeeperSession } from '../../../src/coordination/session.js';
import { deleteJobSubtree, ensureJobSubtree } from '../../../src/coordination/subtree.js';
import { TaskLedger } from '../../../src/coordination/task-ledger.js';
import { batchOutcome, type OffsetRange, type TaskRecord } from '../../../src/coordination/task-state.js';
import { openAcl, type Acl, type ZooKeeperConnector } from '../../../src/coordination/zookeeper/client.js';
import { digestAcl, digestAuth, generateCredential, type DigestCredential } from '../../../src/coordination/zookeeper/digest.js';
import { createLogger } from '../../../src/logging/logger.js';
import { MemoryStream } from '../../support/memory-stream.js';
import { Deliveries, eventually } from './waiting.js';

export interface CoordinationTarget {
  readonly connector: ZooKeeperConnector;
  readonly connectString: string;
  /** Ends the session's current ZooKeeper session the way a server-side timeout would. */
  expire(session: ZooKeeperSession): Promise<void>;
}

/** Counts what the coordination layer reports for metrics. */
export class CountingObserver implements CoordinationObserver {
  readonly failures: ExecutorGoneReason[] = [];
  readonly rescheduled = new Map<string, number>();
  readonly durations: number[] = [];
  readonly config: string[] = [];
  expiries = 0;
  reconnects = 0;
  readonly states: string[] = [];

  sessionState(state: string): void {
    this.states.push(state);
  }
  reconnected(): void {
    this.reconnects += 1;
  }
  sessionExpired(): void {
    this.expiries += 1;
  }
  executorFailed(reason: ExecutorGoneReason): void {
    this.failures.push(reason);
  }
  tasksRescheduled(reason: RescheduleReason, outcome: RescheduleOutcome, count: number): void {
    const key = `${reason}/${outcome}`;
    this.rescheduled.set(key, (this.rescheduled.get(key) ?? 0) + count);
  }
  rescheduleDuration(seconds: number): void {
    this.durations.push(seconds);
  }
  configMirror(outcome: string): void {
    this.config.push(outcome);
  }
}

export function sampleConfig(overrides: Partial<JobConfigContent> = {}): JobConfigContent {
  return {
    config: { 'window.size': '10', greeting: 'hello' },
    processor: { name: 'uppercase', params: { locale: 'en' } },
    batchInterval: '5s',
    maxRecordsPerPartition: 1000,
    maxTaskAttempts: 3,
    source: { bootstrapServers: ['127.0.0.1:9092'], topics: ['in'], startingOffsets: 'earliest', secretRef: { name: 'kafka-client' } },
    sink: { bootstrapServers: ['127.0.0.1:9092'], topic: 'out', delivery: 'exactlyOnce' },
    failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'skip' },
    ...overrides,
  };
}

export function ranges(count: number, topic = 'in'): OffsetRange[] {
  return Array.from({ length: count }, (_v, i) => ({ topic, partition: i, from: '0', to: '100' }));
}

/** A world of sessions for one suite: an operator, job pods and strangers, closed in afterAll. */
export class World {
  readonly root = `/sk-${randomBytes(4).toString('hex')}`;
  readonly layout = new CoordinationLayout(this.root);
  readonly operatorCredential = generateCredential('streamkeeper-operator');
  readonly scheme = AclScheme.digest(this.operatorCredential);
  private readonly sessions: ZooKeeperSession[] = [];

  constructor(readonly target: CoordinationTarget) {}

  async open(credential?: DigestCredential, observer?: CoordinationObserver): Promise<ZooKeeperSession> {
    const session = await ZooKeeperSession.open({
      connector: this.target.connector,
      connectString: this.target.connectString,
      sessionTimeoutMs: 4000,
      auth: credential === undefined ? [] : [digestAuth(credential)],
      backoff: { initialMs: 10, maxMs: 250 },
      operationTimeoutMs: 30_000,
      observer,
    });
    this.sessions.push(session);
    return session;
  }

  operator(observer?: CoordinationObserver): Promise<ZooKeeperSession> {
    return this.open(this.operatorCredential, observer);
  }

  /** A job with its subtree created and locked; returns the job's credential. */
  async job(operator: ZooKeeperSession, name = `job-${randomBytes(3).toString('hex')}`, namespace = 'team-a'): Promise<{ job: JobRef; credential: DigestCredential; acl: Acl[] }> {
    const job = { namespace, name };
    const credential = generateCredential(jobUser(job));
    await ensureJobSubtree(operator, this.layout, job, { ancestors: this.scheme.ancestors(), job: this.scheme.job(credential) });
    return { job, credential, acl: this.scheme.job(credential) };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

/** A running job with live executors (each its own session) and a driver that planned one batch. */
async function jobWithExecutors(world: World, operator: ZooKeeperSession, pods: readonly string[], namespace?: string) {
  const { job, credential } = await world.job(operator, undefined, namespace);
  const driver = await world.open(credential);
  const acl = await readJobAcl(driver, world.layout, job);
  const executors = new Map<string, ZooKeeperSession>();
  const membership = new Map<string, ExecutorMembership>();
  for (const pod of pods) {
    const session = await world.open(credential);
    const m = new ExecutorMembership(session, world.layout);
    await m.register(job, pod, acl);
    executors.set(pod, session);
    membership.set(pod, m);
  }
  const ledger = new TaskLedger(driver, world.layout);
  /** Records a batch and creates its tasks, task i going to owners[i % owners.length]. */
  const plan = async (sequence: number, count: number, owners: readonly string[]) => {
    const batch = await ledger.recordBatch(job, batchId(sequence), ranges(count), acl);
    const assignment = new Map(batch.record.ranges.map((_r, i) => [taskId(batch.record.id, i), owners[i % owners.length] ?? '']));
    return ledger.createTasks(job, batch.record, assignment, acl);
  };
  const ledgerOf = (pod: string) => new TaskLedger(executors.get(pod) ?? driver, world.layout);
  return { job, credential, driver, acl, executors, membership, ledger, ledgerOf, plan };
}

function owners(tasks: readonly { record: TaskRecord }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { record } of tasks) counts.set(record.owner, (counts.get(record.owner) ?? 0) + 1);
  return counts;
}

export function describeCoordinationScenarios(name: string, target: () => CoordinationTarget): void {
  describe(`coordination protocol: ${name}`, () => {
    let world: World;
    let operator: ZooKeeperSession;

    beforeAll(async () => {
      world = new World(target());
      operator = await world.operator();
    });

    afterAll(async () => {
      await world.closeAll();
    });

    describe('ACLs', () => {
      it('lets only the operator and the job itself into the job subtree; anonymous clients get NoAuth', async () => {
        const { job, credential } = await world.job(operator);
        const pod = await world.open(credential);
        const acl = await readJobAcl(pod, world.layout, job);
        expect(sameAcl(acl, digestAcl(world.operatorCredential, credential))).toBe(true);
        await new ExecutorMembership(pod, world.layout).register(job, 'executor-0', acl);
        expect((await pod.getAcl(world.layout.executor(job, 'executor-0'))).acl).toEqual(acl);
        expect(await pod.children(world.layout.executors(job))).toEqual(['executor-0']);

        const anonymous = await world.open();
        const protectedPaths = [world.layout.job(job), world.layout.config(job), world.layout.executors(job), world.layout.executor(job, 'executor-0'), world.layout.tasks(job), world.layout.batches(job)];
        for (const path of [...protectedPaths, ...world.layout.ancestors(job)]) {
          await expect(anonymous.get(path)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
          await expect(anonymous.children(path)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        }
        await expect(anonymous.create(`${world.layout.executors(job)}/intruder`, Buffer.from(''), 'ephemeral', openAcl)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        await expect(anonymous.set(world.layout.config(job), Buffer.from('{}'), -1)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });

        // Another job's identity is a stranger here, and the job cannot see its neighbours.
        const other = await world.job(operator);
        const neighbour = await world.open(other.credential);
        await expect(neighbour.get(world.layout.config(job))).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
        await expect(pod.children(world.layout.namespace(job.namespace))).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
      });

      it('re-locks the whole subtree when the job\'s credential is replaced', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-0']);
        await w.plan(0, 3, ['executor-0']);
        const replaced = generateCredential(jobUser(w.job));
        await ensureJobSubtree(operator, world.layout, w.job, { ancestors: world.scheme.ancestors(), job: world.scheme.job(replaced) });
        const before = await world.open(w.credential);
        const after = await world.open(replaced);
        for (const path of [world.layout.job(w.job), world.layout.config(w.job), world.layout.executor(w.job, 'executor-0'), world.layout.batch(w.job, batchId(0)), world.layout.task(w.job, taskId(batchId(0), 2))]) {
          await expect(before.get(path)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
          await after.get(path);
        }
        expect(sameAcl(await readJobAcl(after, world.layout, w.job), world.scheme.job(replaced))).toBe(true);
        // Nothing to do the second time.
        await ensureJobSubtree(operator, world.layout, w.job, { ancestors: world.scheme.ancestors(), job: world.scheme.job(replaced) });
      });

      it('opens the tree to everyone only with the explicit insecure option, and says so', async () => {
        const sink = new MemoryStream();
        const open = AclScheme.insecureOpen(createLogger({ destination: sink, format: 'json' }));
        expect(sink.jsonLines()).toEqual([expect.objectContaining({ level: 'warn', msg: expect.stringContaining('insecureOpenAcl') as unknown })]);
        const job = { namespace: 'dev', name: `open-${randomBytes(3).toString('hex')}` };
        const layout = new CoordinationLayout(`${world.root}-open`);
        await ensureJobSubtree(operator, layout, job, { ancestors: open.ancestors(), job: open.job(undefined) });
        const anonymous = await world.open();
        await new ExecutorMembership(anonymous, layout).register(job, 'executor-0', await readJobAcl(anonymous, layout, job));
        expect(await anonymous.children(layout.executors(job))).toEqual(['executor-0']);
      });
    });

    describe('config mirror', () => {
      it('writes the config once and skips identical content', async () => {
        const observer = new CountingObserver();
        const { job } = await world.job(operator);
        const mirror = new ConfigMirror(operator, world.layout, { observer });
        const first = await mirror.publish(job, 1, sampleConfig());
        expect(first.outcome).toBe('written');
        // A new generation with the same content (e.g. only replicas changed) writes nothing.
        const second = await mirror.publish(job, 2, sampleConfig());
        expect(second).toEqual({ outcome: 'unchanged', hash: first.hash, version: first.version });
        expect((await operator.exists(world.layout.config(job)))?.version).toBe(first.version);
        const changed = await mirror.publish(job, 3, sampleConfig({ config: { greeting: 'bonjour' } }));
        expect(changed.outcome).toBe('written');
        expect(changed.version).toBe(first.version + 1);
        expect(observer.config).toEqual(['written', 'unchanged', 'written']);
        const stored = await mirror.read(job);
        expect(stored).toMatchObject({ schema: 1, generation: 3, hash: changed.hash });
        expect(JSON.stringify(stored)).toContain('kafka-client'); // the Secret's name, nothing more
      });

      it('refuses a config too large for a znode with SK_CONFIG_TOO_LARGE naming spec.config, and leaves the node alone', async () => {
        const { job } = await world.job(operator);
        const mirror = new ConfigMirror(operator, world.layout);
        await mirror.publish(job, 1, sampleConfig());
        const before = await operator.get(world.layout.config(job));
        const huge = sampleConfig({ config: { blob: 'x'.repeat(maxConfigBytes) } });
        await expect(mirror.publish(job, 2, huge)).rejects.toMatchObject({ code: 'SK_CONFIG_TOO_LARGE', kind: 'invalid-spec', field: 'spec.config' });
        const after = await operator.get(world.layout.config(job));
        expect(after.stat.version).toBe(before.stat.version);
      });

      it('delivers every config change to a watching pod, across a session expiry', async () => {
        const { job, credential } = await world.job(operator);
        const mirror = new ConfigMirror(operator, world.layout);
        const pod = await world.open(credential);
        const seen = new Deliveries<JobConfigDocument | null>();
        const subscription = watchConfig(pod, world.layout, job, seen.listener);
        await seen.until((d) => d === null, 'nothing published yet');
        const a = await mirror.publish(job, 1, sampleConfig({ config: { v: 'a' } }));
        await seen.until((d) => d?.hash === a.hash, 'first config');
        await world.target.expire(pod);
        const b = await mirror.publish(job, 2, sampleConfig({ config: { v: 'b' } }));
        await seen.until((d) => d?.hash === b.hash, 'config changed while the session was replaced');
        const c = await mirror.publish(job, 3, sampleConfig({ config: { v: 'c' } }));
        await seen.until((d) => d?.hash === c.hash, 'config changed on the new session');
        expect(seen.values.filter((d) => d !== null).map((d) => d.content.config.v)).toEqual(['a', 'b', 'c']);
        subscription.close();
      });
    });

    describe('executor membership', () => {
      it('reports the live set and drops an executor whose session ends', async () => {
        const { job, credential, acl } = await world.job(operator);
        const membership = new ExecutorMembership(operator, world.layout);
        const seen = new Deliveries<ExecutorSet>();
        const subscription = membership.watch(job, seen.listener);
        await seen.until((set) => set.size === 0, 'empty at first');
        const one = await world.open(credential);
        const two = await world.open(credential);
        await new ExecutorMembership(one, world.layout).register(job, 'executor-1', acl);
        await new ExecutorMembership(two, world.layout).register(job, 'executor-2', acl);
        const both = await seen.until((set) => set.size === 2, 'both registered');
        expect(both.get('executor-1')).toMatchObject({ pod: 'executor-1', state: 'active', session: one.sessionId });
        await one.close();
        await seen.until((set) => set.size === 1 && set.has('executor-2'), 'executor-1 gone');
        subscription.close();
      });

      it('delivers a drain request to the executor and keeps it through a session expiry', async () => {
        const { job, credential, acl } = await world.job(operator);
        const executor = await world.open(credential);
        const handle = await new ExecutorMembership(executor, world.layout).register(job, 'executor-0', acl);
        const drains = new Deliveries<true>();
        handle.onDrainRequested(() => {
          drains.listener(true);
        });
        const membership = new ExecutorMembership(operator, world.layout);
        expect(await membership.requestDrain(job, 'executor-0')).toBe('requested');
        await drains.until(() => true, 'drain request seen by the executor');
        expect(handle.state).toBe('draining');
        const before = executor.sessionId;
        await world.target.expire(executor);
        const after = await eventually(
          () => membership.read(job),
          (set) => set.get('executor-0') !== undefined && set.get('executor-0')?.session !== before,
          'registration re-created on a new session',
        );
        expect(after.get('executor-0')).toMatchObject({ state: 'draining', session: executor.sessionId });
        expect(await membership.requestDrain(job, 'executor-0')).toBe('already-draining');
        expect(drains.values).toHaveLength(1);
      });
    });

    describe('task ledger', () => {
      it('rejects a stale completion and accepts a retried one', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-1', 'executor-2']);
        const [task] = await w.plan(0, 1, ['executor-1']);
        const id = task?.record.id ?? '';
        const one = w.ledgerOf('executor-1');
        await expect(w.ledgerOf('executor-2').complete(w.job, id, { owner: 'executor-2', attempt: 1 }, { outcome: 'succeeded' })).rejects.toMatchObject({ code: 'SK_TASK_STALE' });
        await expect(one.complete(w.job, id, { owner: 'executor-1', attempt: 2 }, { outcome: 'succeeded' })).rejects.toMatchObject({ code: 'SK_TASK_STALE' });
        const done = await one.complete(w.job, id, { owner: 'executor-1', attempt: 1 }, { outcome: 'succeeded' });
        expect(done.record).toMatchObject({ state: 'succeeded', owner: 'executor-1', attempt: 1 });
        // The same completion again (its reply was lost and it was retried) is fine…
        expect((await one.complete(w.job, id, { owner: 'executor-1', attempt: 1 }, { outcome: 'succeeded' })).version).toBe(done.version);
        // …a contradicting one is not.
        await expect(one.complete(w.job, id, { owner: 'executor-1', attempt: 1 }, { outcome: 'failed', error: 'boom' })).rejects.toThrow(/stale/);
      });

      it('finishes the recorded batch after a driver restart instead of planning it again', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-1']);
        await w.plan(0, 3, ['executor-1']);
        const restarted = new TaskLedger(await world.open(w.credential), world.layout);
        const open = await restarted.unfinishedBatch(w.job);
        expect(open?.record).toMatchObject({ id: batchId(0), state: 'planned', ranges: ranges(3) });
        await expect(restarted.recordBatch(w.job, batchId(0), ranges(2), w.acl)).rejects.toMatchObject({ code: 'SK_ZK_NODE_EXISTS' });
        expect((await restarted.recordBatch(w.job, batchId(0), ranges(3), w.acl)).record.plannedAt).toBe(open?.record.plannedAt);
        const tasks = await restarted.createTasks(w.job, open?.record ?? { id: '', state: 'planned', ranges: [], plannedAt: '' }, new Map([0, 1, 2].map((i) => [taskId(batchId(0), i), 'executor-1'])), w.acl);
        expect(tasks.map((t) => t.version)).toEqual([0, 0, 0]);
      });
    });

    describe('rescheduler', () => {
      it('moves all 1,000 tasks of a killed executor to the live ones, least-loaded first; the second signal is a no-op', async () => {
        const observer = new CountingObserver();
        const w = await jobWithExecutors(world, operator, ['executor-1', 'executor-2', 'executor-3', 'victim']);
        await w.plan(0, 1000, ['victim']);
        await w.plan(1, 12, ['executor-1']); // executor-1 is busier: it must get fewer
        const rescheduler = new Rescheduler(operator, world.layout, { observer });
        const membership = new ExecutorMembership(operator, world.layout);
        const seen = new Deliveries<ExecutorSet>();
        const subscription = membership.watch(w.job, seen.listener);
        const before = await seen.until((set) => set.has('victim'), 'victim registered');
        const victimSession = before.get('victim')?.session;

        await w.executors.get('victim')?.close();
        await seen.until((set) => !set.has('victim'), 'victim gone');
        const gone = await rescheduler.executorGone(w.job, 'victim', 'znode-gone', { maxTaskAttempts: 3 }, victimSession);
        expect(gone.firstSignal).toBe(true);
        expect(gone.report?.moved).toHaveLength(1000);

        const tasks = await w.ledger.readTasks(w.job);
        const moved = tasks.filter((t) => t.record.batch === batchId(0));
        expect(moved.every((t) => t.record.state === 'assigned' && t.record.attempt === 2 && t.record.failures === 1)).toBe(true);
        const load = owners(tasks);
        expect(load.get('victim')).toBeUndefined();
        expect([...load.keys()].sort()).toEqual(['executor-1', 'executor-2', 'executor-3']);
        // 1,012 tasks over three executors: as even as it gets.
        const counts = [...load.values()];
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);

        const second = await rescheduler.executorGone(w.job, 'victim', 'pod-terminated', { maxTaskAttempts: 3 });
        expect(second).toEqual({ firstSignal: false, report: undefined });
        expect(observer.failures).toEqual(['znode-gone']);
        expect(observer.rescheduled.get('owner-dead/assigned')).toBe(1000);
        expect(observer.durations).toHaveLength(1);
        subscription.close();
      });

      it('removes a terminated pod\'s registration at once, so no new batch goes to it and its replacement registers without waiting out the session', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-1', 'victim']);
        await w.plan(0, 4, ['victim', 'executor-1']);
        const rescheduler = new Rescheduler(operator, world.layout);
        const deadSession = w.executors.get('victim')?.sessionId;
        // A SIGKILLed process: its pod has terminated but its session lives until it times out.
        const gone = await rescheduler.executorGone(w.job, 'victim', 'pod-terminated', { maxTaskAttempts: 3 });
        expect(gone.report?.moved.map((m) => m.to)).toEqual(['executor-1', 'executor-1']);
        expect(await w.driver.exists(world.layout.executor(w.job, 'victim'))).toBeNull();
        expect([...(await new ExecutorMembership(w.driver, world.layout).read(w.job)).keys()]).toEqual(['executor-1']);

        const replacement = await world.open(w.credential);
        await new ExecutorMembership(replacement, world.layout).register(w.job, 'victim', w.acl);
        expect((await w.driver.exists(world.layout.executor(w.job, 'victim')))?.ephemeralOwner).toBe(replacement.sessionId);
        // The second signal (the old session ending) changes nothing, and the replacement stays.
        await w.executors.get('victim')?.close();
        expect(await rescheduler.executorGone(w.job, 'victim', 'znode-gone', { maxTaskAttempts: 3 }, deadSession)).toEqual({ firstSignal: false, report: undefined });
        expect((await w.driver.exists(world.layout.executor(w.job, 'victim')))?.ephemeralOwner).toBe(replacement.sessionId);
      });

      it('never assigns a task twice when two reschedulers race', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-1', 'executor-2', 'victim']);
        await w.plan(0, 200, ['victim']);
        const first = new Rescheduler(await world.operator(), world.layout);
        const second = new Rescheduler(await world.operator(), world.layout);
        await w.executors.get('victim')?.close();
        await eventually(() => w.driver.exists(world.layout.executor(w.job, 'victim')), (s) => s === null, 'victim gone');
        const [a, b] = await Promise.all([
          first.executorGone(w.job, 'victim', 'znode-gone', { maxTaskAttempts: 3 }),
          second.executorGone(w.job, 'victim', 'pod-terminated', { maxTaskAttempts: 3 }),
        ]);
        const movedBy = [...(a.report?.moved ?? []), ...(b.report?.moved ?? [])];
        expect(movedBy).toHaveLength(200);
        expect(new Set(movedBy.map((m) => m.taskId)).size).toBe(200);
        const tasks = await w.ledger.readTasks(w.job);
        // Moved exactly once: a second move would have made it attempt 3.
        expect(tasks.every((t) => t.record.attempt === 2 && t.record.state === 'assigned' && t.record.owner !== 'victim')).toBe(true);
      });

      it('exhausts a task past maxTaskAttempts and reports its batch as failed', async () => {
        const w = await jobWithExecutors(world, operator, ['first', 'second']);
        const [task] = await w.plan(0, 1, ['first']);
        const rescheduler = new Rescheduler(operator, world.layout);
        await w.executors.get('first')?.close();
        const once = await rescheduler.executorGone(w.job, 'first', 'pod-terminated', { maxTaskAttempts: 2 });
        expect(once.report?.moved).toEqual([{ taskId: task?.record.id, from: 'first', to: 'second', attempt: 2, reason: 'owner-dead' }]);
        await w.executors.get('second')?.close();
        const twice = await rescheduler.executorGone(w.job, 'second', 'pod-terminated', { maxTaskAttempts: 2 });
        expect(twice.report).toMatchObject({ moved: [], exhausted: [task?.record.id], failedBatches: [batchId(0)] });
        const tasks = await w.ledger.readTasks(w.job);
        expect(tasks.map((t) => t.record)).toEqual([expect.objectContaining({ state: 'exhausted', failures: 2, attempt: 2 })]);
        expect(batchOutcome(tasks.map((t) => t.record))).toBe('failed');
        // Level-based: a later pass still reports the failed batch.
        expect((await rescheduler.reconcile(w.job, { maxTaskAttempts: 2 })).failedBatches).toEqual([batchId(0)]);
      });

      it('retries a failed task on another live executor with the next attempt', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-1', 'executor-2']);
        const [task] = await w.plan(0, 2, ['executor-1', 'executor-2']);
        const id = task?.record.id ?? '';
        await w.ledgerOf('executor-1').complete(w.job, id, { owner: 'executor-1', attempt: 1 }, { outcome: 'failed', error: 'poison record' });
        const report = await new Rescheduler(operator, world.layout).reconcile(w.job, { maxTaskAttempts: 3 });
        expect(report.moved).toEqual([{ taskId: id, from: 'executor-1', to: 'executor-2', attempt: 2, reason: 'failed' }]);
        expect((await w.ledger.readTask(w.job, id))?.record).toMatchObject({ state: 'assigned', failures: 1, error: 'poison record' });
      });

      it('drains an executor: unstarted tasks are handed back and moved, running ones finish, then it is drained', async () => {
        const w = await jobWithExecutors(world, operator, ['leaving', 'staying']);
        const tasks = await w.plan(0, 3, ['leaving']);
        const [running, ...unstarted] = tasks.map((t) => t.record.id);
        const leaving = w.ledgerOf('leaving');
        const rescheduler = new Rescheduler(operator, world.layout);
        const first = await rescheduler.drain(w.job, 'leaving', { maxTaskAttempts: 3 });
        expect(first).toMatchObject({ request: 'requested', drained: false });
        expect(first.holding).toHaveLength(3);
        // The executor's side of a drain: hand back what it has not started.
        for (const id of unstarted) await leaving.release(w.job, id, { owner: 'leaving', attempt: 1 });
        const second = await rescheduler.drain(w.job, 'leaving', { maxTaskAttempts: 3 });
        expect(second.request).toBe('already-draining');
        expect(second.report.moved.map((m) => [m.taskId, m.to, m.attempt, m.reason])).toEqual(unstarted.map((id) => [id, 'staying', 2, 'released']));
        expect(second.holding).toEqual([running]);
        await leaving.complete(w.job, running ?? '', { owner: 'leaving', attempt: 1 }, { outcome: 'succeeded' });
        expect(await rescheduler.drain(w.job, 'leaving', { maxTaskAttempts: 3 })).toMatchObject({ drained: true, holding: [] });
        // A hand-back is not a failure.
        expect((await w.ledger.readTasks(w.job)).filter((t) => t.record.owner === 'staying').every((t) => t.record.failures === 0)).toBe(true);
      });

      it('keeps a dead executor\'s tasks waiting while no executor is live, and moves them when one registers', async () => {
        const w = await jobWithExecutors(world, operator, ['only']);
        await w.plan(0, 4, ['only']);
        const rescheduler = new Rescheduler(operator, world.layout);
        await w.executors.get('only')?.close();
        const gone = await rescheduler.executorGone(w.job, 'only', 'pod-terminated', { maxTaskAttempts: 3 });
        expect(gone.report?.waiting).toHaveLength(4);
        const late = await world.open(w.credential);
        await new ExecutorMembership(late, world.layout).register(w.job, 'late', w.acl);
        const report = await rescheduler.reconcile(w.job, { maxTaskAttempts: 3 });
        expect(report.moved).toHaveLength(4);
        expect(report.waiting).toEqual([]);
        // Waiting did not count as another failed attempt.
        expect((await w.ledger.readTasks(w.job)).every((t) => t.record.owner === 'late' && t.record.failures === 1 && t.record.attempt === 2)).toBe(true);
      });
    });

    describe('subtree deletion', () => {
      it('deletes a job subtree with live ephemerals, tasks and offsets, leaving no orphans and other jobs intact', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-1'], 'deletion');
        await w.plan(0, 25, ['executor-1']);
        await w.ledger.writeOffsets(w.job, { batch: null, partitions: [{ topic: 'in', partition: 0, next: '100' }] }, null, w.acl);
        await w.driver.registerEphemeral(world.layout.driver(w.job), Buffer.from('{}'), w.acl);
        await new ConfigMirror(operator, world.layout).publish(w.job, 1, sampleConfig());
        const neighbour = await world.job(operator, `neighbour-${randomBytes(2).toString('hex')}`, w.job.namespace);

        const deleted = await deleteJobSubtree(operator, world.layout, w.job, world.scheme.fence());
        expect(deleted).toBe(1 + 4 + 1 + 1 + 1 + 25 + 1); // job, its four skeleton nodes, executor, driver, batch, tasks, offsets
        expect(await operator.exists(world.layout.job(w.job))).toBeNull();
        expect(await operator.children(world.layout.namespace(w.job.namespace))).toEqual([neighbour.job.name]);
        await deleteJobSubtree(operator, world.layout, neighbour.job, world.scheme.fence());
        expect(await operator.exists(world.layout.namespace(w.job.namespace))).toBeNull();
        // Deleting again is fine.
        expect(await deleteJobSubtree(operator, world.layout, w.job, world.scheme.fence())).toBe(0);
      });

      it('tolerates nodes being created while it deletes', async () => {
        const w = await jobWithExecutors(world, operator, ['executor-1']);
        await w.plan(0, 20, ['executor-1']);
        // A straggler keeps adding tasks until it is fenced off or their parent is gone.
        const writer = (async () => {
          for (let i = 20; ; i += 1) {
            try {
              await w.driver.create(`${world.layout.tasks(w.job)}/${taskId(batchId(0), i)}`, Buffer.from('{}'), 'persistent', w.acl);
            } catch (err) {
              return err;
            }
          }
        })();
        await deleteJobSubtree(operator, world.layout, w.job, world.scheme.fence());
        expect(['SK_ZK_NO_AUTH', 'SK_ZK_NO_NODE']).toContain((await writer as { code?: string }).code);
        expect(await operator.exists(world.layout.job(w.job))).toBeNull();
      });
    });
  });
}
