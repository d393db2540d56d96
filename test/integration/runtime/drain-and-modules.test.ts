/**
 * Graceful stops and user processor modules on real processes: SIGTERM makes an executor hand
 * back the tasks it has not started, finish the running one and exit 0; the driver finishes its
 * batch and exits 0; a processor module gets its params and the job's config map.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeWorld, eventually } from './support/runtime-world.js';

const slowModule = `
import { setTimeout as sleep } from 'node:timers/promises';
export async function process(records, context) {
  await sleep(Number(context.params.delayMs));
  return records.map((r) => ({ key: r.key, value: context.config.prefix + r.value.toString().toUpperCase() + context.params.suffix }));
}
`;

describe('graceful stops and processor modules', () => {
  let world: RuntimeWorld;

  afterEach(async () => {
    await world.close();
  });

  it('on SIGTERM, an executor hands back queued tasks, finishes the running one and exits 0', async () => {
    world = new RuntimeWorld();
    try {
      const module = join(world.scratch, 'slow-upper.mjs');
      writeFileSync(module, slowModule);
      await world.start(world.config({ processor: { name: module, params: { delayMs: '1500', suffix: '!' } }, config: { prefix: '>' } }), { source: 3, sink: 1 });
      for (let p = 0; p < 3; p++) await world.produce(p, [`p${p}`]);
      const first = world.executor('executor-0', ['--max-concurrent-tasks', '1']);
      await first.waitForLog('executor registered');
      const driver = world.driver();
      const ledger = world.ledger();
      await eventually(async () => (await ledger.readTasks(world.job)).filter((t) => t.record.owner === 'executor-0').length, (n) => n === 3, 'three tasks on executor-0');
      world.executor('executor-1');
      first.kill('SIGTERM');
      expect(await first.exited).toEqual({ code: 0, signal: null });
      expect(first.log().match(/task handed back/g)?.length).toBe(2);
      await world.waitForPositions({ 0: 1, 1: 1, 2: 1 });
      expect((await world.readCommitted(world.sink)).sort()).toEqual(['=>P0!', '=>P1!', '=>P2!']);
      driver.kill('SIGTERM');
      expect(await driver.exited).toEqual({ code: 0, signal: null });
    } catch (err) {
      world.markFailed();
      throw err;
    }
  });
});
