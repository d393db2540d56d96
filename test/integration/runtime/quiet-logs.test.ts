/**
 * Logs a person can act on: in a run without faults, where tasks still move between executors
 * (a third executor joins, one drains and leaves) and so previous transactional producers are
 * fenced by design, no process logs at ERROR and none warns about what the protocol expects.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RuntimeWorld } from './support/runtime-world.js';

interface LogLine {
  readonly level: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}


function parse(log: string): LogLine[] {
  return log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
}

describe('logs of a fault-free run with moving tasks', () => {
  let world: RuntimeWorld;

  beforeAll(async () => {
    world = new RuntimeWorld();
    await world.start(world.config({ processor: { name: 'passthrough', params: {} } }), { source: 4, sink: 4 });
  });

  afterAll(async () => {
    await world.close();
  });

  it('has no ERROR line and no warning about fencing or producer retries', async () => {
    try {
      const batch = (round: number): string[] => Array.from({ length: 500 }, (_, i) => `r${round}-${i}`);
      world.driver();
      world.executor('executor-0');
      world.executor('executor-1');
      for (const p of [0, 1, 2, 3]) await world.produce(p, batch(0));
      await world.waitForPositions({ 0: 500, 1: 500, 2: 500, 3: 500 });
      world.executor('executor-2');
      for (const p of [0, 1, 2, 3]) await world.produce(p, batch(1));
      await world.waitForPositions({ 0: 1000, 1: 1000, 2: 1000, 3: 1000 });
      const leaving = world.processes.find((p) => p.name === 'executor-0');
      leaving?.kill('SIGTERM');
      await leaving?.exited;
      for (const p of [0, 1, 2, 3]) await world.produce(p, batch(2));
      await world.waitForPositions({ 0: 1500, 1: 1500, 2: 1500, 3: 1500 });

      expect((await world.readCommitted(world.sink)).length).toBe(6000);
      const lines = world.processes.flatMap((p) => parse(p.log()).map((line) => ({ pod: p.name, ...line })));
      const errors = lines.filter((line) => line.level === 'error' || line.level === 'fatal');
      expect(errors).toEqual([]);
      const expectedEvents = /fenc|epoch|idempotent|retries/i;
      const noisyWarnings = lines.filter((line) => line.level === 'warn' && expectedEvents.test(JSON.stringify(line)));
      expect(noisyWarnings).toEqual([]);
    } catch (err) {
      world.markFailed();
      throw err;
    }
  }, 180_000);
});
