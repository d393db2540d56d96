/**
 * Running totals, exactly once, on real ZooKeeper and Kafka with the driver and executors as
 * real processes: executors SIGKILLed at random, the driver SIGKILLed mid-batch, and an executor
 * SIGSTOPped past its ZooKeeper session (a zombie holding state) then resumed. After each, every
 * word's latest total in the sink, read with read_committed, equals the count computed here from
 * the input, and each word's results sit in one sink partition only.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '../../../src/machinery/random.js';
import { changelogTopic, repartitionTopic } from '../../../src/runtime/kafka-names.js';
import { RuntimeWorld, eventually, type PodProcess } from './support/runtime-world.js';

const vocabulary = Array.from({ length: 300 }, (_v, i) => `w${i.toString(36)}`);

/** Deterministic lines of ~10 words, and the word counts they hold. */
function lines(seed: number, count: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => Array.from({ length: 10 }, () => vocabulary[Math.floor(random() * random() * vocabulary.length)] ?? 'w').join(' '));
}

function countWords(all: readonly string[], into: Map<string, number>): void {
  for (const line of all) for (const word of line.split(' ')) into.set(word, (into.get(word) ?? 0) + 1);
}

const statePartitions = 4;
const aggregation = { aggregates: [{ name: 'count', function: 'sum' }], statePartitions, stateMemoryBytes: 64 * 1024 * 1024 };

class StatefulWorld extends RuntimeWorld {
  /** Source and repartition positions as the driver recorded them, by topic/partition. */
  async topicPositions(): Promise<Map<string, number>> {
    const read = await this.ledger().readOffsets(this.job);
    return new Map((read?.record.partitions ?? []).map((p) => [`${p.topic}/${p.partition}`, Number(p.next)]));
  }

  /** Every source partition at its target and every partial in the repartition topic aggregated. */
  async waitUntilAggregated(target: Record<number, number>, timeoutMs = 120_000): Promise<void> {
    const repartition = repartitionTopic(this.job);
    await eventually(
      async () => {
        const positions = await this.topicPositions();
        const sourcesDone = Object.entries(target).every(([p, next]) => positions.get(`${this.source}/${p}`) === next);
        if (!sourcesDone) return false;
        const highs = await this.kafka.admin.topicOffsets(repartition);
        return highs.every(({ partition, high }) => (positions.get(`${repartition}/${partition}`) ?? 0) >= high);
      },
      (done) => done,
      'every source partition processed and every partial aggregated',
      timeoutMs,
    );
  }

  /** Each word's latest total, and the sink partitions each word appeared in. */
  async totals(): Promise<{ totals: Map<string, number>; partitionsPerKey: Map<string, Set<number>> }> {
    const totals = new Map<string, number>();
    const partitionsPerKey = new Map<string, Set<number>>();
    for (const record of await this.readRecords(this.sink)) {
      const word = record.key?.toString() ?? '';
      totals.set(word, (JSON.parse(record.value?.toString() ?? '{}') as { count: number }).count);
      const seen = partitionsPerKey.get(word) ?? new Set<number>();
      seen.add(record.partition);
      partitionsPerKey.set(word, seen);
    }
    return { totals, partitionsPerKey };
  }

  override async close(): Promise<void> {
    await super.close();
    for (const topic of [repartitionTopic(this.job), changelogTopic(this.job)]) await this.kafka.admin.deleteTopic(topic).catch(() => undefined);
  }
}

async function expectExactTotals(world: StatefulWorld, expected: Map<string, number>): Promise<void> {
  const { totals, partitionsPerKey } = await world.totals();
  const wrong = [...expected].filter(([word, n]) => totals.get(word) !== n).map(([word, n]) => `${word}: ${totals.get(word) ?? 'missing'} != ${n}`);
  const extra = [...totals.keys()].filter((word) => !expected.has(word));
  const split = [...partitionsPerKey].filter(([, partitions]) => partitions.size > 1).map(([word]) => word);
  expect({ words: totals.size, wrong: wrong.slice(0, 10), extra, split }).toEqual({ words: expected.size, wrong: [], extra: [], split: [] });
}

describe('running totals exactly once with processes killed', () => {
  let world: StatefulWorld;

  afterEach(async () => {
    await world.close();
  });

  it('keeps exact running totals while executors are SIGKILLed at random moments', async () => {
    const seed = Number(process.env.SK_KILL_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    world = new StatefulWorld();
    try {
      const partitions = 4;
      const perPartition = 3000;
      await world.start(world.config({ processor: { name: 'wordcount', params: {} }, aggregation, maxRecordsPerPartition: 600, maxTaskAttempts: 50 }), { source: partitions, sink: 3 });
      const expected = new Map<string, number>();
      for (let p = 0; p < partitions; p++) {
        const input = lines(seed + p, perPartition);
        countWords(input, expected);
        await world.produce(p, input);
      }
      let next = 0;
      const live: PodProcess[] = [];
      for (; next < 3; next++) live.push(world.executor(`executor-${next}`));
      world.driver();
      const ledger = world.ledger();
      let kills = 0;
      let finished = false;
      const isFinished = (): boolean => finished;
      const done = world.waitUntilAggregated(Object.fromEntries(Array.from({ length: partitions }, (_v, p) => [p, perPartition])), 240_000).finally(() => (finished = true));
      while (!isFinished()) {
        await sleep(400 + random() * 1200);
        if (isFinished()) break;
        const holders = new Set((await ledger.readTasks(world.job)).filter((t) => t.record.state === 'assigned').map((t) => t.record.owner));
        const busy = live.filter((p) => holders.has(p.name));
        const pool = busy.length > 0 && random() < 0.8 ? busy : live;
        const victim = pool[Math.floor(random() * pool.length)];
        if (victim === undefined) continue;
        live.splice(live.indexOf(victim), 1);
        await world.kill(victim);
        kills += 1;
        live.push(world.executor(`executor-${next++}`));
      }
      await done;
      expect(kills).toBeGreaterThan(2);
      await expectExactTotals(world, expected);
      expect(world.operator.errors).toEqual([]);
    } catch (err) {
      world.markFailed();
      process.stderr.write(`stateful kill test seed: ${seed} (replay with SK_KILL_SEED=${seed})\n`);
      throw err;
    }
  }, 300_000);

  it('keeps exact running totals after the driver is SIGKILLed mid-batch', async () => {
    world = new StatefulWorld();
    try {
      await world.start(world.config({ processor: { name: 'wordcount', params: {} }, aggregation, maxRecordsPerPartition: 400 }), { source: 2, sink: 2 });
      const expected = new Map<string, number>();
      for (let p = 0; p < 2; p++) {
        const input = lines(100 + p, 4000);
        countWords(input, expected);
        await world.produce(p, input);
      }
      world.executor('executor-0');
      world.executor('executor-1');
      const ledger = world.ledger();
      let driver = world.driver('driver-0');
      for (let round = 1; round <= 2; round++) {
        await eventually(async () => (await ledger.readBatches(world.job)).some((b) => b.record.state === 'planned'), (planned) => planned, 'a batch in flight');
        await world.kill(driver);
        driver = world.driver(`driver-${round}`);
      }
      await world.waitUntilAggregated({ 0: 4000, 1: 4000 });
      await expectExactTotals(world, expected);
    } catch (err) {
      world.markFailed();
      throw err;
    }
  }, 300_000);

  it('fences an executor SIGSTOPped past its ZooKeeper session while holding state, and keeps exact totals after it resumes', async () => {
    world = new StatefulWorld();
    try {
      await world.start(world.config({ processor: { name: 'wordcount', params: {} }, aggregation, maxRecordsPerPartition: 300, maxTaskAttempts: 20 }), { source: 2, sink: 2 });
      const expected = new Map<string, number>();
      const first = [lines(200, 3000), lines(201, 3000)];
      for (let p = 0; p < 2; p++) {
        countWords(first[p] ?? [], expected);
        await world.produce(p, first[p] ?? []);
      }
      const zombie = world.executor('executor-0');
      world.executor('executor-1');
      world.driver();
      const ledger = world.ledger();
      // Frozen while it holds an aggregate task (state restored, transaction under way or about to be).
      const repartition = repartitionTopic(world.job);
      await eventually(async () => (await ledger.readTasks(world.job)).some((t) => t.record.state === 'assigned' && t.record.owner === zombie.name && t.record.range.topic === repartition), (held) => held, 'the executor holding an aggregate task', 60_000);
      zombie.kill('SIGSTOP');
      // Past the session timeout: its ephemeral node goes and its tasks move to executor-1.
      await eventually(async () => (await world.operator.operator.children(world.operator.layout.executors(world.job))).includes(zombie.name), (registered) => !registered, 'the frozen executor\'s session expiring', 60_000);
      const second = [lines(300, 1000), lines(301, 1000)];
      for (let p = 0; p < 2; p++) {
        countWords(second[p] ?? [], expected);
        await world.produce(p, second[p] ?? []);
      }
      await sleep(3000);
      zombie.kill('SIGCONT');
      await world.waitUntilAggregated({ 0: 4000, 1: 4000 });
      await expectExactTotals(world, expected);
    } catch (err) {
      world.markFailed();
      throw err;
    }
  }, 300_000);
});
