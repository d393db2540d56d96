/**
 * How real driver and executor processes end: on SIGTERM once drained, and when their job is
 * deleted (its ZooKeeper subtree removed under them) — with exit code 0 each time, and before the
 * pod's termination grace period runs out: nothing left open may keep a finished process alive.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeWorld, type PodProcess } from './support/runtime-world.js';

/** A pod's default terminationGracePeriodSeconds: after it, the kubelet SIGKILLs the process. */
const terminationGraceMs = 30_000;

/** How the process ended, or 'still running' if it had not by the end of the grace period. */
async function endWithinGrace(pod: PodProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
  const timeout = new AbortController();
  try {
    return await Promise.race([pod.exited, sleep(terminationGraceMs, 'still running' as const, { signal: timeout.signal })]);
  } finally {
    timeout.abort();
  }
}

describe('stopping driver and executor processes', () => {
  let world: RuntimeWorld;

  afterEach(async () => {
    await world.close();
  });

  it('ends each executor with 0 on SIGTERM once it drained, whatever Kafka connections its tasks raced to open', async () => {
    world = new RuntimeWorld();
    try {
      const partitions = 12;
      await world.start(world.config(), { source: partitions, sink: 2 });
      const driver = world.driver();
      // Two generations of executors, each running several tasks at once through a fresh range
      // reader: its first fetches race to connect (kafkajs then left a socket open, ~1 run in 3).
      for (let generation = 0; generation < 2; generation++) {
        const executors = [0, 1].map((i) => world.executor(`executor-${2 * generation + i}`));
        for (const executor of executors) await executor.waitForLog('executor registered');
        for (let p = 0; p < partitions; p++) await world.produce(p, [`g${generation}-a`, `g${generation}-b`]);
        await world.waitForPositions(Object.fromEntries(Array.from({ length: partitions }, (_, p) => [p, 2 * (generation + 1)])));
        for (const executor of executors) executor.kill('SIGTERM');
        for (const executor of executors) {
          expect({ pod: executor.name, end: await endWithinGrace(executor) }).toEqual({ pod: executor.name, end: { code: 0, signal: null } });
          expect(executor.log()).toContain('drained: every task finished or handed back');
        }
      }
      driver.kill('SIGTERM');
      expect(await endWithinGrace(driver)).toEqual({ code: 0, signal: null });
    } catch (err) {
      world.markFailed();
      throw err;
    }
  });

  it('ends the driver and the executors with 0 when the job is deleted under them', async () => {
    world = new RuntimeWorld();
    try {
      await world.start(world.config(), { source: 2, sink: 2 });
      const executors = [world.executor('executor-0'), world.executor('executor-1')];
      for (const executor of executors) await executor.waitForLog('executor registered');
      const driver = world.driver();
      await world.produce(0, ['a']);
      await world.produce(1, ['b']);
      await world.waitForPositions({ 0: 1, 1: 1 });

      await world.operator.deleteJob();
      for (const pod of [driver, ...executors]) {
        expect({ pod: pod.name, end: await endWithinGrace(pod) }).toEqual({ pod: pod.name, end: { code: 0, signal: null } });
        expect(pod.log()).toContain("the job's ZooKeeper data is gone (the StreamingJob was deleted); stopping");
      }
    } catch (err) {
      world.markFailed();
      throw err;
    }
  });
});
