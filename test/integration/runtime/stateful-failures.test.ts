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
import { ExecutorChurn, RuntimeWorld, eventually, untilSettled } from './support/runtime-world.js';

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
      const inputs = Array.from({ length: partitions }, (_v, p) => lines(seed + p, perPartition));
      for (const input of inputs) countWords(input, expected);
      for (const [p, input] of inputs.entries()) await world.produce(p, input.slice(0, perPartition / 2));
      // The second half arrives only after three kills, so the job cannot finish before the test
      // has killed anyone, however fast the runtime is.
      let secondHalf: Promise<void> | undefined;
      const releaseSecondHalf = (): Promise<void> => (secondHalf ??= (async () => {
        for (const [p, input] of inputs.entries()) await world.produce(p, input.slice(perPartition / 2));
      })());
      const churn = new ExecutorChurn(world, random, 3);
      world.driver();
      const done = world.waitUntilAggregated(Object.fromEntries(Array.from({ length: partitions }, (_v, p) => [p, perPartition])), 240_000);
      await churn.killUntil(done, { busyShare: 0.8, pauseMs: () => 400 + random() * 1200, afterKill: () => {
        if (churn.kills >= 3) void releaseSecondHalf();
      } });
      await done;
      await secondHalf;
      expect(churn.kills).toBeGreaterThan(2);
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
      await eventually(async () => (await ledger.readTasks(world.job)).some((t) => t.record.state === 'assigned' && t.record.owner === zombie.name && t.record.ranges[0]?.topic === repartition), (held) => held, 'the executor holding an aggregate task', 60_000);
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

  it('moves a SIGKILLed owner\'s aggregate tasks to their warm standbys, which restore only the last records, and keeps exact totals', async () => {
    world = new StatefulWorld();
    try {
      await world.start(world.config({ processor: { name: 'wordcount', params: {} }, aggregation: { ...aggregation, standbyReplicas: 1 }, maxRecordsPerPartition: 300, maxTaskAttempts: 20 }), { source: 2, sink: 2 });
      const expected = new Map<string, number>();
      const first = [lines(400, 3000), lines(401, 3000)];
      for (let p = 0; p < 2; p++) {
        countWords(first[p] ?? [], expected);
        await world.produce(p, first[p] ?? []);
      }
      const executors = [world.executor('executor-0'), world.executor('executor-1'), world.executor('executor-2')];
      world.driver();
      const ledger = world.ledger();
      const repartition = repartitionTopic(world.job);
      // Some state committed first, so the standbys have copies to keep warm.
      await eventually(async () => (await world.topicPositions()).get(`${repartition}/0`) ?? 0, (n) => n > 0, 'the first partials aggregated', 120_000);
      await sleep(1500);
      const held = await eventually(
        async () => (await ledger.readTasks(world.job)).filter((t) => t.record.state === 'assigned' && t.record.ranges[0]?.topic === repartition && (t.record.standbys ?? []).length > 0),
        (tasks) => tasks.length > 0,
        'an aggregate task with a standby in flight',
        60_000,
      );
      const victimName = held[0]?.record.owner ?? '';
      const moved = held.filter((t) => t.record.owner === victimName).map((t) => ({ id: t.record.id, partition: t.record.ranges[0]?.partition ?? -1, standby: t.record.standbys?.[0] ?? '' }));
      const victim = executors.find((e) => e.name === victimName);
      if (victim === undefined) throw new Error(`no executor named ${victimName}`);
      await world.kill(victim);
      // Where the victim's tasks went: each to its named standby. A moved task may commit and its
      // batch be cleaned up between two looks; then the executor that committed it says so.
      const committedBy = (id: string): string | undefined =>
        executors.find((e) => e !== victim && e.log().split('\n').some((line) => line.includes('aggregate task of a moved state partition committed') && line.includes(`"task":"${id}"`)))?.name;
      const owners = await eventually(
        async () => {
          const tasks = new Map((await ledger.readTasks(world.job)).map((t) => [t.record.id, t.record]));
          return moved.map((m) => tasks.get(m.id)?.owner ?? committedBy(m.id) ?? victimName);
        },
        (now) => now.every((owner) => owner !== victimName),
        'the dead owner\'s aggregate tasks moved',
        60_000,
      );
      expect(owners).toEqual(moved.map((m) => m.standby));
      const second = [lines(402, 1000), lines(403, 1000)];
      for (let p = 0; p < 2; p++) {
        countWords(second[p] ?? [], expected);
        await world.produce(p, second[p] ?? []);
      }
      await world.waitUntilAggregated({ 0: 4000, 1: 4000 });
      await expectExactTotals(world, expected);
      // Each standby held a copy of its partition before the kill, and the takeover restored
      // incrementally from it (a restore that read records is logged; none from the start of the log).
      for (const m of moved) {
        const lines = (executors.find((e) => e.name === m.standby)?.log() ?? '').split('\n');
        expect(lines.some((line) => line.includes('standby copy of a state partition restored') && line.includes(`"partition":${m.partition},`))).toBe(true);
        const fullRestores = lines.filter((line) => line.includes('state partition restored from the changelog') && line.includes(`"task":"${m.id}"`) && line.includes('"full":true'));
        expect(fullRestores).toEqual([]);
      }
      expect(world.operator.errors).toEqual([]);
    } catch (err) {
      world.markFailed();
      throw err;
    }
  }, 300_000);
});

/**
 * Page views per url in 5-second event-time windows, emit final, from input out of order within
 * and across partitions. No record is behind the watermark (allowedLateness covers a batch's span
 * and the disorder), so every view belongs in its window: the sink must hold each (url, window)
 * exactly once, with the count computed here.
 */
const windowMs = 5000;
const windowedAggregation = {
  groupBy: 'url',
  aggregates: [{ name: 'views', function: 'count' }],
  statePartitions,
  stateMemoryBytes: 64 * 1024 * 1024,
  window: { type: 'tumbling', sizeMs: windowMs, advanceMs: windowMs, eventTimeField: 'time', allowedLatenessMs: 20_000, emit: 'final', lateRecords: 'drop', idleTimeoutMs: 1000 },
} as const;
const viewsStart = Date.parse('2026-12-07T15:00:00Z');

/** Views 5 ms apart in event time, each moved by up to ±1 s: out of order. */
function views(seed: number, count: number): { url: string; time: number }[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_v, i) => ({ url: `/page-${Math.floor(random() * random() * 40)}`, time: viewsStart + i * 5 + Math.floor((random() - 0.5) * 2000) }));
}

function windowKey(url: string, time: number): string {
  const start = Math.floor(time / windowMs) * windowMs;
  return `${url}@${new Date(start).toISOString()}/${new Date(start + windowMs).toISOString()}`;
}

async function produceViews(world: StatefulWorld, partition: number, input: readonly { url: string; time: number }[], expected: Map<string, number>): Promise<void> {
  for (const v of input) expected.set(windowKey(v.url, v.time), (expected.get(windowKey(v.url, v.time)) ?? 0) + 1);
  await world.produce(partition, input.map((v) => JSON.stringify(v)));
}

/** Waits until the sink holds as many window results as expected (closing needs the idle timeout), then compares them, duplicates included. */
async function expectExactWindows(world: StatefulWorld, expected: Map<string, number>): Promise<void> {
  await eventually(async () => (await world.readRecords(world.sink)).length, (n) => n >= expected.size, `${expected.size} final windows in the sink`, 120_000);
  // Time for a duplicate, if any, to show.
  await sleep(2000);
  const seen = new Map<string, number[]>();
  for (const record of await world.readRecords(world.sink)) {
    const key = record.key?.toString() ?? '';
    seen.set(key, [...(seen.get(key) ?? []), (JSON.parse(record.value?.toString() ?? '{}') as { views: number }).views]);
  }
  const wrong = [...expected].filter(([key, n]) => seen.get(key)?.length !== 1 || seen.get(key)?.[0] !== n).map(([key, n]) => `${key}: ${JSON.stringify(seen.get(key) ?? 'missing')} != [${n}]`);
  const extra = [...seen.keys()].filter((key) => !expected.has(key));
  expect({ windows: seen.size, wrong: wrong.slice(0, 10), extra: extra.slice(0, 10) }).toEqual({ windows: expected.size, wrong: [], extra: [] });
}

describe('final event-time windows exactly once with processes killed', () => {
  let world: StatefulWorld;

  afterEach(async () => {
    await world.close();
  });

  it('writes each window once while executors are SIGKILLed at random and the driver mid-batch', async () => {
    const seed = Number(process.env.SK_KILL_SEED ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    world = new StatefulWorld();
    try {
      const partitions = 3;
      await world.start(world.config({ processor: { name: 'passthrough', params: {} }, aggregation: windowedAggregation, maxRecordsPerPartition: 300, maxTaskAttempts: 50 }), { source: partitions, sink: 2 });
      const expected = new Map<string, number>();
      const inputs = Array.from({ length: partitions }, (_v, p) => views(seed + p, 3000));
      for (const [p, input] of inputs.entries()) await produceViews(world, p, input.slice(0, 1500), expected);
      // The later half of the views arrives only once the driver and an executor were killed, so
      // the job cannot finish before the test has killed both, however fast the runtime is.
      let secondHalf: Promise<void> | undefined;
      const releaseSecondHalf = (): Promise<void> => (secondHalf ??= (async () => {
        for (const [p, input] of inputs.entries()) await produceViews(world, p, input.slice(1500), expected);
      })());
      const churn = new ExecutorChurn(world, random, 3);
      let driver = world.driver('driver-0');
      const ledger = world.ledger();
      // Each window must be written once however the work moved.
      const done = world.waitUntilAggregated(Object.fromEntries(Array.from({ length: partitions }, (_v, p) => [p, 3000])), 240_000);
      let driverKilled = false;
      let idleRounds = 0;
      await untilSettled(done, () => 400 + random() * 1200, async () => {
        const tasks = (await ledger.readTasks(world.job)).filter((t) => t.record.state === 'assigned');
        idleRounds = tasks.length === 0 ? idleRounds + 1 : 0;
        // Mid-batch: its tasks are out; the next driver finishes the recorded batch. (Between
        // batches if the first half went by without one in flight at a look.)
        if (!driverKilled && (tasks.length > 0 || idleRounds >= 3)) {
          driverKilled = true;
          await world.kill(driver);
          driver = world.driver('driver-1');
          return;
        }
        // Executors holding a task: one still starting (slow on a loaded machine) holds no state to
        // lose. Any live one while the later half waits for a kill (the first half may be done).
        const victim = (await churn.pickVictim(1)) ?? (secondHalf === undefined ? churn.live[0] : undefined);
        if (victim === undefined) return;
        await churn.killAndReplace(victim);
        if (driverKilled) void releaseSecondHalf();
      });
      await done;
      await secondHalf;
      await expectExactWindows(world, expected);
      expect({ kills: churn.kills > 0, driverKilled }).toEqual({ kills: true, driverKilled: true });
      expect(world.operator.errors).toEqual([]);
    } catch (err) {
      world.markFailed();
      process.stderr.write(`windowed kill test seed: ${seed} (replay with SK_KILL_SEED=${seed})\n`);
      throw err;
    }
  }, 300_000);

  it('fences an executor SIGSTOPped past its ZooKeeper session while holding windows, and writes each window once after it resumes', async () => {
    world = new StatefulWorld();
    try {
      await world.start(world.config({ processor: { name: 'passthrough', params: {} }, aggregation: windowedAggregation, maxRecordsPerPartition: 300, maxTaskAttempts: 20 }), { source: 2, sink: 2 });
      const expected = new Map<string, number>();
      for (let p = 0; p < 2; p++) await produceViews(world, p, views(500 + p, 3000), expected);
      const zombie = world.executor('executor-0');
      world.executor('executor-1');
      world.driver();
      const ledger = world.ledger();
      const repartition = repartitionTopic(world.job);
      await eventually(async () => (await ledger.readTasks(world.job)).some((t) => t.record.state === 'assigned' && t.record.owner === zombie.name && t.record.ranges[0]?.topic === repartition), (held) => held, 'the executor holding an aggregate task', 60_000);
      zombie.kill('SIGSTOP');
      await eventually(async () => (await world.operator.operator.children(world.operator.layout.executors(world.job))).includes(zombie.name), (registered) => !registered, 'the frozen executor\'s session expiring', 60_000);
      await sleep(3000);
      zombie.kill('SIGCONT');
      await world.waitUntilAggregated({ 0: 3000, 1: 3000 });
      await expectExactWindows(world, expected);
    } catch (err) {
      world.markFailed();
      throw err;
    }
  }, 300_000);
});
