/**
 * Exactly-once under fire: real executor and driver processes SIGKILLed at random moments while
 * a job moves 100,000 records (and, with 16 partitions in 4 partition groups, 48,000); a read_committed reader of the sink must see every record exactly
 * once. The operator's rescheduler runs in-process, fed by membership changes and by "pod
 * terminated" signals, as the operator would be.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { seededRandom } from '../../../src/machinery/random.js';
import { ExecutorChurn, RuntimeWorld, eventually } from './support/runtime-world.js';


function values(partition: number, from: number, count: number): string[] {
  return Array.from({ length: count }, (_v, i) => `p${partition}-${from + i}`);
}

/**
 * Feeds `partitions` × `perPartition` records while 3 executors are SIGKILLed at random moments
 * (mostly the holder of a running task, killed mid-task), and checks a read_committed reader of
 * the sink sees each exactly once. The second half of the input arrives only after a few kills, so
 * the job cannot finish before the test has killed anyone however fast the runtime is: every run
 * exercises rescheduling.
 */
async function expectExactlyOnceUnderKills(world: RuntimeWorld, seed: number, partitions: number, perPartition: number, timeoutMs: number): Promise<void> {
  const random = seededRandom(seed);
  for (let p = 0; p < partitions; p++) await world.produce(p, values(p, 0, perPartition / 2));
  const churn = new ExecutorChurn(world, random, 3);
  world.driver();
  const killsBeforeLateHalf = 4;
  let late: Promise<void> | undefined;
  const releaseLateHalf = (): Promise<void> => (late ??= (async () => {
    for (let p = 0; p < partitions; p++) await world.produce(p, values(p, perPartition / 2, perPartition / 2));
  })());
  const done = world.waitForPositions(Object.fromEntries(Array.from({ length: partitions }, (_v, p) => [p, perPartition])), timeoutMs);
  await churn.killUntil(done, { busyShare: 0.8, replaceAfterMs: () => random() * 400, afterKill: () => {
    if (churn.kills >= killsBeforeLateHalf) void releaseLateHalf();
  } });
  await done;
  await late;

  const seen = await world.readCommitted(world.sink);
  const expected = Array.from({ length: partitions }, (_v, p) => values(p, 0, perPartition).map((v) => `=${v}`)).flat();
  const counts = new Map<string, number>();
  for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
  const duplicates = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  const missing = expected.filter((v) => !counts.has(v));
  expect({ seed, kills: churn.kills >= killsBeforeLateHalf, total: seen.length, duplicates: duplicates.slice(0, 10), missing: missing.slice(0, 10) }).toEqual({ seed, kills: true, total: expected.length, duplicates: [], missing: [] });
  expect(world.operator.errors).toEqual([]);
}

describe('exactly-once Kafka to Kafka with processes killed', () => {
  let world: RuntimeWorld;
  const seed = Number(process.env.SK_KILL_SEED ?? Date.now() % 1_000_000);

  afterEach(async () => {
    await world.close();
  });

  /** Marks the world failed (keeping its logs) and names the seed that replays the run. */
  async function replayable(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      world.markFailed();
      process.stderr.write(`kill test seed: ${seed} (replay with SK_KILL_SEED=${seed})\n`);
      throw err;
    }
  }

  it('delivers 100,000 records exactly once while executors are SIGKILLed at random moments', async () => {
    world = new RuntimeWorld();
    await replayable(async () => {
      await world.start(world.config({ maxRecordsPerPartition: 2500, maxTaskAttempts: 50 }), { source: 4, sink: 3 });
      await expectExactlyOnceUnderKills(world, seed, 4, 25_000, 100_000);
    });
  });

  it('delivers 16 partitions in 4 partition groups exactly once while executors are SIGKILLed: each task carries its group\'s ranges', async () => {
    world = new RuntimeWorld();
    await replayable(async () => {
      const groups = 4;
      await world.start(world.config({ maxRecordsPerPartition: 500, maxTaskAttempts: 50, partitionGroups: groups }), { source: 16, sink: 3 });
      // What the tasks in ZooKeeper carried, as the watch delivered them while the job ran (a
      // sample now and then can miss every task of a fast run: they live for milliseconds).
      let mostTasksInABatch = 0;
      let mostRangesInATask = 0;
      const taskWatch = world.ledger().watchTasks(world.job, (delivered) => {
        const tasks = [...delivered.values()];
        const perBatch = new Map<string, number>();
        for (const t of tasks) perBatch.set(t.record.batch, (perBatch.get(t.record.batch) ?? 0) + 1);
        mostTasksInABatch = Math.max(mostTasksInABatch, ...perBatch.values());
        mostRangesInATask = Math.max(mostRangesInATask, ...tasks.map((t) => t.record.ranges.length));
      });
      try {
        await expectExactlyOnceUnderKills(world, seed, 16, 3000, 120_000);
      } finally {
        taskWatch.close();
      }
      expect({ mostTasksInABatch: mostTasksInABatch <= groups, grouped: mostRangesInATask > 1 }).toEqual({ mostTasksInABatch: true, grouped: true });
    });
  });

  it('resumes after the driver is SIGKILLed mid-batch, with nothing lost or doubled', async () => {
    world = new RuntimeWorld();
    try {
      await world.start(world.config({ maxRecordsPerPartition: 1000 }), { source: 2, sink: 2 });
      for (let p = 0; p < 2; p++) await world.produce(p, values(p, 0, 10_000));
      world.executor('executor-0');
      world.executor('executor-1');
      const ledger = world.ledger();
      let driver = world.driver('driver-0');
      for (let round = 1; round <= 2; round++) {
        // Killed while a batch is recorded and its tasks run: the next driver finishes it.
        await eventually(async () => (await ledger.readBatches(world.job)).some((b) => b.record.state === 'planned'), (planned) => planned, 'a batch in flight');
        await world.kill(driver);
        driver = world.driver(`driver-${round}`);
      }
      await world.waitForPositions({ 0: 10_000, 1: 10_000 });
      const seen = await world.readCommitted(world.sink);
      const expected = [0, 1].flatMap((p) => values(p, 0, 10_000).map((v) => `=${v}`));
      expect(seen.length).toBe(expected.length);
      expect(new Set(seen)).toEqual(new Set(expected));
      expect(driver.log()).toContain('finishing the recorded batch');
    } catch (err) {
      world.markFailed();
      throw err;
    }
  });
});
