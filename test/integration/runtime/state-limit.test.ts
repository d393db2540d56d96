/**
 * Bounded memory, clear failure: a job grouping 1,000,000 distinct keys under a state budget far
 * too small for them. The executors must not grow until the kernel kills them; the state
 * partition refuses to pass spec.aggregation.stateMemory, its task fails and is retried, and the
 * driver names the limit (StateLimitExceeded, the field) where the operator turns it into the
 * job's condition and Event. Nothing is committed past what was processed: the source positions
 * stay where the failed batch began.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { decodeDriverRegistration } from '../../../src/coordination/progress-report.js';
import { changelogTopic, repartitionTopic } from '../../../src/runtime/kafka-names.js';
import { RuntimeWorld, eventually } from './support/runtime-world.js';

const distinctKeys = 1_000_000;
const partitions = 2;
const stateMemoryBytes = 4 * 1024 * 1024;

describe('aggregation state past its memory budget', () => {
  let world: RuntimeWorld;

  afterEach(async () => {
    await world.close();
    for (const topic of [repartitionTopic(world.job), changelogTopic(world.job)]) await world.kafka.admin.deleteTopic(topic).catch(() => undefined);
  });

  it(`fails the state partition's task with StateLimitExceeded naming the field, ${distinctKeys.toLocaleString('en')} distinct keys, executors alive`, async () => {
    world = new RuntimeWorld();
    try {
      const perPartition = distinctKeys / partitions;
      await world.start(
        world.config({
          maxRecordsPerPartition: perPartition,
          maxTaskAttempts: 2,
          aggregation: { aggregates: [{ name: 'n', function: 'count' }], statePartitions: 2, stateMemoryBytes },
        }),
        { source: partitions, sink: 2 },
      );
      for (let p = 0; p < partitions; p++) await world.produce(p, Array.from({ length: perPartition }, () => '1'), (i) => `key-${p}-${i}`);
      const executors = [world.executor('executor-0'), world.executor('executor-1')];
      world.driver();

      const driverNode = world.operator.layout.driver(world.job);
      const blocked = await eventually(
        async () => {
          const node = await world.operator.operator.getIfExists(driverNode);
          return node === null ? undefined : decodeDriverRegistration(node.data).blocked;
        },
        (cause) => cause?.reason === 'StateLimitExceeded',
        'the driver reporting StateLimitExceeded',
        420_000,
      );
      expect(blocked).toMatchObject({ reason: 'StateLimitExceeded', field: 'spec.aggregation.stateMemory' });
      expect(blocked?.message).toContain(`budget of ${stateMemoryBytes} bytes`);
      expect(blocked?.message).toContain('(spec.aggregation.stateMemory)');
      // Refusing to grow is what kept them alive: no executor was killed for its memory.
      expect(executors.map((e) => e.running)).toEqual([true, true]);
      expect((await world.readCommitted(world.sink)).length).toBe(0);
    } catch (err) {
      world.markFailed();
      throw err;
    }
    // A million records through two stages, on a machine the rest of the suite shares.
  }, 480_000);
});
