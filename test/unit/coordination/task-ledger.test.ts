import { describe, expect, it } from '@jest/globals';
import { readJobAcl } from '../../../src/coordination/acl.js';
import { batchId, taskId } from '../../../src/coordination/layout.js';
import { ExecutorMembership } from '../../../src/coordination/membership.js';
import { Rescheduler } from '../../../src/coordination/rescheduler.js';
import { TaskLedger, batchTasks } from '../../../src/coordination/task-ledger.js';
import { InMemoryZooKeeper } from '../../../src/coordination/zookeeper/in-memory.js';
import { CountingObserver, World, ranges } from '../../contract/zookeeper/coordination-scenarios.js';
import { groupRanges } from '../../../src/runtime/planning.js';

function world(server: InMemoryZooKeeper): World {
  return new World({
    connector: server.connect,
    connectString: 'in-memory',
    expire: (session) => {
      server.expire(session.sessionId ?? '');
      return Promise.resolve();
    },
  });
}

/** A job in an in-memory ZooKeeper with its operator and driver sessions, counting writes. */
async function driverWorld() {
  const server = new InMemoryZooKeeper();
  const w = world(server);
  const operator = await w.operator();
  const { job, credential } = await w.job(operator);
  const driver = await w.open(credential);
  const acl = await readJobAcl(driver, w.layout, job);
  return { server, w, operator, job, credential, driver, acl };
}

describe('task ledger write budget', () => {
  it('spends four ZooKeeper writes on a task\'s normal life: create, ACL lock, completion, cleanup', async () => {
    const { server, w, job, credential, driver, acl } = await driverWorld();
    const executor = await w.open(credential);
    const batch = await new TaskLedger(driver, w.layout).recordBatch(job, batchId(0), ranges(50), acl);

    const before = server.writes;
    const owners = new Map(batch.record.ranges.map((_r, i) => [taskId(batch.record.id, i), 'executor-0']));
    const tasks = await new TaskLedger(driver, w.layout).createTasks(job, batch.record, owners, acl);
    const executorLedger = new TaskLedger(executor, w.layout);
    for (const task of tasks) await executorLedger.complete(job, task.record.id, { owner: 'executor-0', attempt: 1 }, { outcome: 'succeeded' });
    expect(await new TaskLedger(driver, w.layout).deleteBatchTasks(job, batch.record.id)).toBe(50);

    expect((server.writes - before) / tasks.length).toBe(4);
    await w.closeAll();
  });

  it('spends four writes per partition group, not per partition: 64 partitions in 4 groups cost 16 task writes a batch', async () => {
    const { server, w, job, credential, driver, acl } = await driverWorld();
    const executor = await w.open(credential);
    const planned = ranges(64);
    const ledger = new TaskLedger(driver, w.layout);
    const batch = await ledger.recordBatch(job, batchId(0), planned, acl, undefined, groupRanges(planned, 4));

    const before = server.writes;
    const work = batchTasks(batch.record);
    expect(work.map((t) => t.ranges.length)).toEqual([16, 16, 16, 16]);
    const owners = new Map(work.map((_t, i) => [taskId(batch.record.id, i), 'executor-0']));
    const tasks = await ledger.createTasks(job, batch.record, owners, acl);
    const executorLedger = new TaskLedger(executor, w.layout);
    for (const task of tasks) await executorLedger.complete(job, task.record.id, { owner: 'executor-0', attempt: 1 }, { outcome: 'succeeded' });
    expect(await ledger.deleteBatchTasks(job, batch.record.id)).toBe(4);

    expect(server.writes - before).toBe(16);
    expect((await ledger.readTasks(job)).length).toBe(0);
    await w.closeAll();
  });

  it('records a batch\'s grouping write-ahead: tasks carry their group\'s ranges, and another grouping of the same batch is refused', async () => {
    const { w, job, driver, acl } = await driverWorld();
    const planned = ranges(6);
    const ledger = new TaskLedger(driver, w.layout);
    const groups = groupRanges(planned, 2);
    const batch = await ledger.recordBatch(job, batchId(0), planned, acl, undefined, groups);
    expect((await ledger.recordBatch(job, batchId(0), planned, acl, undefined, groups)).record).toEqual(batch.record);
    await expect(ledger.recordBatch(job, batchId(0), planned, acl, undefined, groupRanges(planned, 3))).rejects.toMatchObject({ code: 'SK_ZK_NODE_EXISTS' });
    await expect(ledger.recordBatch(job, batchId(0), planned, acl)).rejects.toMatchObject({ code: 'SK_ZK_NODE_EXISTS' });
    const work = batchTasks(batch.record);
    const tasks = await ledger.createTasks(job, batch.record, new Map(work.map((_t, i) => [taskId(batch.record.id, i), 'executor-0'])), acl);
    const read = await ledger.readTasks(job);
    expect(read.map((t) => t.record)).toEqual(tasks.map((t) => t.record));
    expect(read.map((t) => [t.record.group, t.record.ranges.map((r) => r.partition)])).toEqual(work.map((t) => [t.group, t.ranges.map((r) => r.partition)]));
    expect(new Set(read.flatMap((t) => t.record.ranges.map((r) => r.partition)))).toEqual(new Set(planned.map((r) => r.partition)));
    await w.closeAll();
  });

  it('spends one write per task moved off a dead executor', async () => {
    const { server, w, operator, job, credential, driver, acl } = await driverWorld();
    const alive = await w.open(credential);
    await new ExecutorMembership(alive, w.layout).register(job, 'alive', acl);
    const ledger = new TaskLedger(driver, w.layout);
    const batch = await ledger.recordBatch(job, batchId(0), ranges(40), acl);
    await ledger.createTasks(job, batch.record, new Map(batch.record.ranges.map((_r, i) => [taskId(batch.record.id, i), 'dead'])), acl);
    const before = server.writes;
    const report = await new Rescheduler(operator, w.layout).executorGone(job, 'dead', 'pod-terminated', { maxTaskAttempts: 3 });
    expect(report.report?.moved).toHaveLength(40);
    expect(server.writes - before).toBe(40);
    await w.closeAll();
  });
});

describe('failure detection', () => {
  it('moves the tasks of an executor whose pod terminated before its node went, and ignores the node going later', async () => {
    const server = new InMemoryZooKeeper();
    const w = world(server);
    const observer = new CountingObserver();
    const operator = await w.operator();
    const { job, credential, acl } = await w.job(operator);
    const zombie = await w.open(credential);
    const other = await w.open(credential);
    await new ExecutorMembership(zombie, w.layout).register(job, 'executor-0', acl);
    await new ExecutorMembership(other, w.layout).register(job, 'executor-1', acl);
    const ledger = new TaskLedger(operator, w.layout);
    const batch = await ledger.recordBatch(job, batchId(0), ranges(3), acl);
    await ledger.createTasks(job, batch.record, new Map(batch.record.ranges.map((_r, i) => [taskId(batch.record.id, i), 'executor-0'])), acl);
    const rescheduler = new Rescheduler(operator, w.layout, { observer });

    const first = await rescheduler.executorGone(job, 'executor-0', 'pod-terminated', { maxTaskAttempts: 3 });
    expect(first.firstSignal).toBe(true);
    expect(first.report?.moved.map((m) => m.to)).toEqual(['executor-1', 'executor-1', 'executor-1']);
    // The dead pod's session has not timed out yet, but its registration is removed at once.
    expect(await operator.exists(w.layout.executor(job, 'executor-0'))).toBeNull();
    expect((await rescheduler.reconcile(job, { maxTaskAttempts: 3 })).moved).toEqual([]);
    // Whatever it still tries to complete is refused.
    await expect(new TaskLedger(zombie, w.layout).complete(job, taskId(batch.record.id, 0), { owner: 'executor-0', attempt: 1 }, { outcome: 'succeeded' })).rejects.toMatchObject({ code: 'SK_TASK_STALE' });

    const session = zombie.sessionId;
    await zombie.close();
    const second = await rescheduler.executorGone(job, 'executor-0', 'znode-gone', { maxTaskAttempts: 3 }, session);
    expect(second).toEqual({ firstSignal: false, report: undefined });
    expect(observer.failures).toEqual(['pod-terminated']);
    expect(observer.durations).toHaveLength(1);
    await w.closeAll();
  });

  it('remembers a handled death long enough for its second signal, but not forever', async () => {
    const server = new InMemoryZooKeeper();
    const w = world(server);
    const operator = await w.operator();
    const { job } = await w.job(operator);
    let now = 0;
    const clock = { now: () => now, setTimer: () => ({ cancel: () => undefined }) };
    const rescheduler = new Rescheduler(operator, w.layout, { clock });
    expect((await rescheduler.executorGone(job, 'executor-0', 'pod-terminated', { maxTaskAttempts: 3 })).firstSignal).toBe(true);
    now += 60_000;
    expect((await rescheduler.executorGone(job, 'executor-0', 'znode-gone', { maxTaskAttempts: 3 })).firstSignal).toBe(false);
    now += 60 * 60_000;
    await rescheduler.reconcile(job, { maxTaskAttempts: 3 });
    expect((await rescheduler.executorGone(job, 'executor-0', 'znode-gone', { maxTaskAttempts: 3 })).firstSignal).toBe(true);
    await w.closeAll();
  });

  it('treats a new pod with the name of a dead one as a live executor', async () => {
    const server = new InMemoryZooKeeper();
    const w = world(server);
    const operator = await w.operator();
    const { job, credential, acl } = await w.job(operator);
    const first = await w.open(credential);
    await new ExecutorMembership(first, w.layout).register(job, 'executor-0', acl);
    const rescheduler = new Rescheduler(operator, w.layout);
    const session = first.sessionId;
    await first.close();
    await rescheduler.executorGone(job, 'executor-0', 'znode-gone', { maxTaskAttempts: 3 }, session);

    const again = await w.open(credential);
    await new ExecutorMembership(again, w.layout).register(job, 'executor-0', acl);
    const ledger = new TaskLedger(operator, w.layout);
    const batch = await ledger.recordBatch(job, batchId(0), ranges(2), acl);
    await ledger.createTasks(job, batch.record, new Map(batch.record.ranges.map((_r, i) => [taskId(batch.record.id, i), 'executor-0'])), acl);
    expect((await rescheduler.reconcile(job, { maxTaskAttempts: 3 })).moved).toEqual([]);
    // Its own death is a new one, not the echo of the earlier.
    const terminated = await rescheduler.executorGone(job, 'executor-0', 'pod-terminated', { maxTaskAttempts: 3 });
    expect(terminated.firstSignal).toBe(true);
    expect(terminated.report?.waiting).toHaveLength(2);
    await w.closeAll();
  });
});

describe('the ledger as the one reader and writer of tasks and offsets', () => {
  it('deletes one task, and says so only when it was there', async () => {
    const w = world(new InMemoryZooKeeper());
    const operator = await w.operator();
    const { job, acl } = await w.job(operator);
    const ledger = new TaskLedger(operator, w.layout);
    const batch = await ledger.recordBatch(job, batchId(0), ranges(2), acl);
    await ledger.createTasks(job, batch.record, new Map(batch.record.ranges.map((_r, i) => [taskId(batch.record.id, i), 'executor-0'])), acl);

    expect(await ledger.deleteTask(job, taskId(batch.record.id, 0))).toBe(true);
    expect(await ledger.deleteTask(job, taskId(batch.record.id, 0))).toBe(false);
    expect((await ledger.readTasks(job)).map((t) => t.record.id)).toEqual([taskId(batch.record.id, 1)]);
    await w.closeAll();
  });

  it('reads the offsets with the time they were last written, and names the node when it holds no JSON', async () => {
    let now = Date.parse('2026-03-04T05:06:07Z');
    const server = new InMemoryZooKeeper(() => now);
    const w = world(server);
    const operator = await w.operator();
    const { job, acl } = await w.job(operator);
    const ledger = new TaskLedger(operator, w.layout);
    expect(await ledger.readOffsets(job)).toBeNull();
    await ledger.writeOffsets(job, { batch: null, partitions: [] }, null, acl);
    now += 1000;
    expect(await ledger.readOffsets(job)).toEqual({ record: { batch: null, partitions: [] }, version: 0, modifiedAt: Date.parse('2026-03-04T05:06:07Z') });

    await operator.set(w.layout.offsets(job), Buffer.from('{'), 0);
    await expect(ledger.readOffsets(job)).rejects.toMatchObject({ code: 'SK_ZK_ERROR', field: w.layout.offsets(job) });
    await w.closeAll();
  });
});
