/**
 * Poison-record policies and hot reload on real processes: what happens to records a processor
 * cannot handle (fail, skip, deadLetter), what an exhausted batch does to the job, and params
 * changed through the config znode applying at the next batch without restarting any process.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { RuntimeWorld, eventually } from './support/runtime-world.js';

const filterErrors = { name: 'filter', params: { field: 'level', equals: 'ERROR' } };
const lines = ['{"level":"ERROR","n":1}', 'not json', '{"level":"INFO","n":2}', '{"level":"ERROR","n":3}', '{"other":true}'];

describe('poison records and hot reload', () => {
  let world: RuntimeWorld;

  afterEach(async () => {
    await world.close();
  });

  async function run(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (err) {
      world.markFailed();
      throw err;
    }
  }

  it('skips poison records with poisonRecords skip, counting them in the executor\'s metrics', async () => {
    world = new RuntimeWorld();
    await run(async () => {
      await world.start(world.config({ processor: filterErrors, failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'skip' } }), { source: 1, sink: 1 });
      await world.produce(0, lines);
      const executor = world.executor('executor-0');
      world.driver();
      await world.waitForPositions({ 0: 5 });
      expect(await world.readCommitted(world.sink)).toEqual(['={"level":"ERROR","n":1}', '={"level":"ERROR","n":3}']);
      expect(await executor.metric('streamkeeper_executor_poison_records_total{action="skipped"}')).toBe(2);
      expect(await executor.metric('streamkeeper_executor_records_read_total')).toBe(5);
      const logged = executor.log().split('\n').find((line) => line.includes('poison records skipped'));
      expect(logged).toContain('"offsets":[1,4]');
    });
  });

  it('writes poison records to the dead-letter topic, unchanged, with the error in headers', async () => {
    world = new RuntimeWorld();
    await run(async () => {
      await world.start(world.config({ processor: filterErrors, failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'deadLetter', deadLetterTopic: world.deadLetters } }), { source: 1, sink: 1 });
      await world.produce(0, lines, (i) => `key-${i}`);
      world.executor('executor-0');
      world.driver();
      await world.waitForPositions({ 0: 5 });
      expect(await world.readCommitted(world.sink)).toEqual(['key-0={"level":"ERROR","n":1}', 'key-3={"level":"ERROR","n":3}']);
      const letters = await world.readRecords(world.deadLetters);
      expect(letters.map((r) => `${r.key?.toString() ?? ''}=${r.value?.toString() ?? ''}`)).toEqual(['key-1=not json', 'key-4={"other":true}']);
      const headers = Object.fromEntries(letters[1]?.headers.map((h) => [h.key, h.value.toString()]) ?? []);
      expect(headers).toEqual({ 'streamkeeper.error': 'the value has no field level', 'streamkeeper.source': `${world.source}/0@4`, 'streamkeeper.job': `${world.job.namespace}/${world.job.name}`, 'streamkeeper.batch': '0000000000', 'streamkeeper.task': '0000000000-00000' });
    });
  });

  it('fails the task on a poison record with poisonRecords fail; the exhausted batch stops the job until the config changes', async () => {
    world = new RuntimeWorld();
    await run(async () => {
      const failing = world.config({ processor: filterErrors, maxTaskAttempts: 2 });
      await world.start(failing, { source: 1, sink: 1 });
      await world.produce(0, lines);
      world.executor('executor-0');
      world.executor('executor-1');
      const driver = world.driver();
      const ledger = world.ledger();
      const [failed] = await eventually(async () => (await ledger.readBatches(world.job)).filter((b) => b.record.state === 'failed'), (b) => b.length === 1, 'batch recorded failed');
      expect(failed?.record.failedTasks).toEqual(['0000000000-00000']);
      expect((await ledger.readTask(world.job, '0000000000-00000'))?.record).toMatchObject({ state: 'exhausted', failures: 2, error: expect.stringContaining(`SK_POISON_RECORD: record ${world.source}/0@1`) });
      expect(await world.positions()).toEqual({ 0: 0 });
      expect(await world.readCommitted(world.sink)).toEqual([]);
      await driver.waitForLog('planning stops');
      // Fixing the config (here: skipping poison records) retries the batch without a restart.
      await world.operator.publish({ ...failing, failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'skip' } });
      await world.waitForPositions({ 0: 5 });
      expect(await world.readCommitted(world.sink)).toEqual(['={"level":"ERROR","n":1}', '={"level":"ERROR","n":3}']);
      expect(await ledger.readBatches(world.job)).toEqual([]);
      expect(driver.running).toBe(true);
    });
  });

  it('applies changed params at the next batch without restarting the driver or executors', async () => {
    world = new RuntimeWorld();
    await run(async () => {
      const config = world.config({ processor: { name: 'filter', params: { regex: '^a' } } });
      await world.start(config, { source: 1, sink: 1 });
      await world.produce(0, ['apple', 'banana', 'avocado']);
      const executor = world.executor('executor-0');
      const driver = world.driver();
      await world.waitForPositions({ 0: 3 });
      await world.operator.publish({ ...config, processor: { name: 'filter', params: { regex: '^b' } }, batchInterval: '100ms', maxRecordsPerPartition: 2 });
      // Executors get the change through the batches the driver plans with it.
      await driver.waitForLog('configuration changed');
      await world.produce(0, ['apricot', 'blueberry', 'blackberry', 'cherry']);
      await world.waitForPositions({ 0: 7 });
      expect(await world.readCommitted(world.sink)).toEqual(['=apple', '=avocado', '=blueberry', '=blackberry']);
      // maxRecordsPerPartition 2: the four new records took two batches.
      expect((await world.ledger().readOffsets(world.job))?.record.batch).toBe('0000000002');
      expect([executor.running, driver.running]).toEqual([true, true]);
    });
  });
});
