import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readJobAcl } from '../../../src/coordination/acl.js';
import { batchId, taskId } from '../../../src/coordination/layout.js';
import { ExecutorMembership, type ExecutorSet } from '../../../src/coordination/membership.js';
import { Rescheduler } from '../../../src/coordination/rescheduler.js';
import type { ZooKeeperSession } from '../../../src/coordination/session.js';
import { TaskLedger } from '../../../src/coordination/task-ledger.js';
import type { TaskRecord } from '../../../src/coordination/task-state.js';
import { ZooKeeperServer } from '../../../src/local/zookeeper-server.js';
import { CountingObserver, World, ranges } from '../../contract/zookeeper/coordination-scenarios.js';
import { Deliveries, eventually } from '../../contract/zookeeper/waiting.js';
import { expireNative, nativeConnector } from './native-target.js';
import { SimulatedExecutor, type Completion } from './simulated-executor.js';

/** This file restarts ZooKeeper, so it runs its own server rather than the shared one. */
let server: ZooKeeperServer | undefined;
let world: World;

function expire(session: ZooKeeperSession): Promise<void> {
  if (server === undefined) throw new Error('no server');
  return expireNative(server.connectString, session);
}

beforeAll(async () => {
  server = await ZooKeeperServer.start();
  const connectString = server.connectString;
  world = new World({ connector: nativeConnector, connectString, expire });
}, 120_000);

afterAll(async () => {
  await world.closeAll();
  await server?.destroy();
}, 60_000);

/** Every task succeeded, each by exactly one completion, and nobody else completed it. */
function expectExactlyOnce(tasks: readonly TaskRecord[], completions: readonly Completion[]): void {
  expect(tasks.every((t) => t.state === 'succeeded')).toBe(true);
  const byTask = new Map<string, Completion[]>();
  for (const c of completions) byTask.set(c.taskId, [...(byTask.get(c.taskId) ?? []), c]);
  expect([...byTask.keys()].sort()).toEqual(tasks.map((t) => t.id).sort());
  const doubles = [...byTask].filter(([, list]) => list.length !== 1);
  expect(doubles).toEqual([]);
  for (const task of tasks) expect(byTask.get(task.id)?.[0]).toEqual({ taskId: task.id, owner: task.owner, attempt: task.attempt });
}

async function setup(pods: readonly string[], workMs: number) {
  const observer = new CountingObserver();
  const operator = await world.operator(observer);
  const { job, credential } = await world.job(operator);
  const driver = await world.open(credential);
  const acl = await readJobAcl(driver, world.layout, job);
  const executors = await Promise.all(
    pods.map(async (pod) => {
      const executor = new SimulatedExecutor(await world.open(credential), world.layout, job, pod, workMs);
      await executor.start(acl);
      return executor;
    }),
  );
  const ledger = new TaskLedger(driver, world.layout);
  const plan = async (sequence: number, count: number): Promise<void> => {
    const batch = await ledger.recordBatch(job, batchId(sequence), ranges(count), acl);
    const owners = new Map(batch.record.ranges.map((_r, i) => [taskId(batch.record.id, i), pods[i % pods.length] ?? '']));
    await ledger.createTasks(job, batch.record, owners, acl);
  };
  const allSucceeded = async (total: number): Promise<TaskRecord[]> => {
    const tasks = await eventually(() => ledger.readTasks(job), (read) => read.length === total && read.every((t) => t.record.state === 'succeeded'), 'every task succeeded', 60_000);
    // The executors log a completion once ZooKeeper has confirmed it: let the last ones land.
    await eventually(() => executors.reduce((n, e) => n + e.completed.length + e.stale, 0), (n) => n >= total, 'completions logged');
    return tasks.map((t) => t.record);
  };
  return { observer, operator, job, credential, acl, executors, ledger, plan, allSucceeded };
}

describe('coordination on a real ZooKeeper that restarts and expires sessions', () => {
  it('finishes every in-flight task exactly once through a ZooKeeper restart: nothing stuck, nothing owned twice', async () => {
    const s = await setup(['executor-1', 'executor-2', 'executor-3'], 40);
    const membership = new ExecutorMembership(s.operator, world.layout);
    const live = new Deliveries<ExecutorSet>();
    membership.watch(s.job, live.listener);
    await live.until((set) => set.size === 3, 'three executors registered');
    await s.plan(0, 60);
    await eventually(() => s.executors.reduce((n, e) => n + e.completed.length, 0), (n) => n >= 5, 'work under way');

    await server?.restart();
    await s.plan(1, 60); // written through the restart: waits for the connection, then goes through

    const tasks = await s.allSucceeded(120);
    expectExactlyOnce(tasks, s.executors.flatMap((e) => e.completed));
    expect(s.executors.flatMap((e) => e.errors)).toEqual([]);
    // Registrations and watches came through too.
    expect([...(await membership.read(s.job)).keys()]).toEqual(['executor-1', 'executor-2', 'executor-3']);
    await live.until((set) => set.size === 3, 'membership watch still delivering', live.values.length - 1);
    expect(s.observer.states).toContain('connecting');
    expect(s.observer.reconnects).toBeGreaterThanOrEqual(1);
    for (const e of s.executors) e.stop();
  });

  it('survives a forced expiry of an executor holding tasks: each task finishes once, whether it moved or not', async () => {
    const s = await setup(['stuck', 'healthy'], 10);
    const rescheduler = new Rescheduler(s.operator, world.layout);
    const policy = { maxTaskAttempts: 3 };
    const [stuck] = s.executors;
    stuck?.pause();
    // The operator side: every executor that leaves the live set is reported gone.
    let previous: ExecutorSet = new Map();
    const reports: Promise<unknown>[] = [];
    const membership = new ExecutorMembership(s.operator, world.layout);
    const live = new Deliveries<ExecutorSet>();
    membership.watch(s.job, (set) => {
      for (const [pod, executor] of previous) {
        if (set.get(pod)?.session !== executor.session) reports.push(rescheduler.executorGone(s.job, pod, 'znode-gone', policy, executor.session));
      }
      previous = set;
      live.listener(set);
    });
    await live.until((set) => set.size === 2, 'both registered');
    await s.plan(0, 40);
    await eventually(() => s.ledger.readTasks(s.job), (tasks) => tasks.filter((t) => t.record.state === 'succeeded').length === 20, 'the healthy executor finished its half');

    const before = stuck?.session.sessionId;
    if (stuck !== undefined) await expire(stuck.session);
    await eventually(() => stuck?.session.sessionId, (id) => id !== undefined && id !== before, 'the stuck executor got a new session');
    await live.until((set) => set.get('stuck') !== undefined && set.get('stuck')?.session !== before, 'its registration re-created');
    await Promise.all(reports);
    await rescheduler.reconcile(s.job, policy);
    stuck?.resume();

    const tasks = await s.allSucceeded(40);
    expectExactlyOnce(tasks, s.executors.flatMap((e) => e.completed));
    // A moved task's old claim was refused rather than counted.
    const moved = tasks.filter((t) => t.attempt > 1).length;
    expect(stuck?.stale).toBe(moved);
    expect(s.executors.flatMap((e) => e.errors)).toEqual([]);
    for (const e of s.executors) e.stop();
  });
});
