/**
 * The builtin wordcount as the operator configures it (no spec.aggregation): running totals per
 * word across every source partition and batch, on real driver and executor processes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { applyDefaults } from '../../../src/api/v1alpha1/index.js';
import { driverProgress } from '../../../src/operator/coordination-adapter.js';
import { jobConfigContent } from '../../../src/operator/reconciler/job-config.js';
import { changelogTopic, repartitionTopic } from '../../../src/runtime/kafka-names.js';
import { sampleSpec } from '../../support/sample-spec.js';
import { RuntimeWorld, eventually } from './support/runtime-world.js';

describe('wordcount on real processes, ZooKeeper and Kafka', () => {
  let world: RuntimeWorld;

  /** Waits until the source partitions reach `target` and every partial in the repartition topic is aggregated. */
  async function waitUntilAggregated(target: Record<number, number>): Promise<void> {
    const repartition = repartitionTopic(world.job);
    await eventually(
      async () => {
        const positions = new Map(((await world.ledger().readOffsets(world.job))?.record.partitions ?? []).map((p) => [`${p.topic}/${p.partition}`, Number(p.next)]));
        if (!Object.entries(target).every(([p, next]) => positions.get(`${world.source}/${p}`) === next)) return false;
        return (await world.kafka.admin.topicOffsets(repartition)).every(({ partition, high }) => (positions.get(`${repartition}/${partition}`) ?? 0) >= high);
      },
      (done) => done,
      'every line counted and every partial aggregated',
      90_000,
    );
  }

  /** Each word's last total in the sink, and the sink partitions its records went to. */
  async function sinkTotals(): Promise<{ totals: Record<string, number>; split: string[] }> {
    const totals: Record<string, number> = {};
    const partitions = new Map<string, Set<number>>();
    for (const record of await world.readRecords(world.sink)) {
      const word = record.key?.toString() ?? '';
      totals[word] = (JSON.parse(record.value?.toString() ?? '{}') as { count: number }).count;
      partitions.set(word, (partitions.get(word) ?? new Set<number>()).add(record.partition));
    }
    return { totals, split: [...partitions].filter(([, p]) => p.size > 1).map(([word]) => word) };
  }

  /**
   * The sink's totals once they show `expected` (what the test asserts next): a commit's markers reach the
   * sink partitions shortly after the commit returns, so a read_committed read right after the
   * offsets moved may stop short of them.
   */
  async function settledTotals(expected: Readonly<Record<string, number>>): Promise<{ totals: Record<string, number>; split: string[] }> {
    return eventually(() => sinkTotals(), ({ totals }) => Object.entries(expected).every(([word, n]) => totals[word] === n), 'the sink\'s totals after their commit markers', 15_000).catch(() => sinkTotals());
  }

  beforeAll(async () => {
    world = new RuntimeWorld();
    // What the operator mirrors for a wordcount job that declares no aggregation.
    const implied = jobConfigContent(applyDefaults(sampleSpec())).aggregation;
    await world.start(world.config({ processor: { name: 'wordcount', params: {} }, ...(implied === undefined ? {} : { aggregation: implied }) }));
  });

  afterAll(async () => {
    await world.close();
    for (const topic of [repartitionTopic(world.job), changelogTopic(world.job)]) await world.kafka.admin.deleteTopic(topic).catch(() => undefined);
  });

  it('writes one running total per word across partitions and batches, exactly once', async () => {
    try {
      await world.produce(0, ['the quick brown fox', 'jumps over the lazy dog', 'The dog sleeps']);
      await world.produce(1, ['a fox and a dog']);
      const executors = [world.executor('executor-0'), world.executor('executor-1')];
      world.driver();
      await waitUntilAggregated({ 0: 3, 1: 1 });
      const first = { a: 2, and: 1, brown: 1, dog: 3, fox: 2, jumps: 1, lazy: 1, over: 1, quick: 1, sleeps: 1, the: 3 };
      expect(await settledTotals(first)).toEqual({ totals: first, split: [] });

      // The state moves to a new executor, which restores it from the changelog; a later batch
      // continues each word's total rather than counting it afresh.
      for (const executor of executors) await world.kill(executor);
      world.executor('executor-2');
      await world.produce(1, ['the fox again']);
      await world.produce(0, ['a dog']);
      await waitUntilAggregated({ 0: 4, 1: 2 });
      const second = { the: 4, fox: 3, again: 1, a: 3, dog: 4, sleeps: 1 };
      const { totals, split } = await settledTotals(second);
      expect(split).toEqual([]);
      expect(totals).toMatchObject(second);
      const offsets = await world.ledger().readOffsets(world.job);
      expect(offsets?.record.progress).toMatchObject({ totalLag: 0 });
      expect(offsets?.record.batch).toMatch(/^\d{10}$/);

      // What the operator puts in status.state: the state's size, and the restore the move cost.
      const state = driverProgress(offsets === null ? null : { record: offsets.record, modifiedAt: offsets.modifiedAt }).state;
      expect(state).toMatchObject({ keys: Object.keys(totals).length, lastRestore: { kind: 'full', records: expect.any(Number) as unknown, durationMs: expect.any(Number) as unknown } });
      expect(state?.bytes).toBeGreaterThan(0);
      expect(state?.lastRestore?.records).toBeGreaterThan(0);
      expect(state?.partitionsReported).toBeLessThanOrEqual(8);
    } catch (err) {
      world.markFailed();
      throw err;
    }
  });
});
