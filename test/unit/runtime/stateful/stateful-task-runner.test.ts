import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { TaskRecord } from '../../../../src/coordination/task-state.js';
import type { ProcessingSettings } from '../../../../src/runtime/job-settings.js';
import { InMemoryKafka } from '../../../../src/testing/index.js';
import { changelogTopic, consumerGroupId, repartitionTopic } from '../../../../src/runtime/kafka-names.js';
import { ProcessorRegistry } from '../../../../src/runtime/processors/processor-runner.js';
import { ensureInternalTopics } from '../../../../src/runtime/stateful/internal-topics.js';
import { TaskRunner, type TaskAssignment } from '../../../../src/runtime/task-runner.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const job = { namespace: 'team-a', name: 'totals' };
const statePartitions = 3;
const repartition = repartitionTopic(job);
const changelog = changelogTopic(job);

/** Running word totals: the builtin wordcount per task, summed per word across tasks and batches. */
const settings = (overrides: Partial<ProcessingSettings> = {}): ProcessingSettings => ({
  processor: 'wordcount',
  params: {},
  sinkTopic: 'out',
  delivery: 'exactlyOnce',
  poisonRecords: 'fail',
  aggregation: { aggregates: [{ name: 'count', function: 'sum' }], statePartitions, stateMemoryBytes: 64 * 1024 * 1024 },
  ...overrides,
});

let taskSeq = 0;
function task(topic: string, partition: number, from: number, to: number, attempt = 1, owner = 'e-0'): TaskRecord {
  taskSeq += 1;
  return { id: `0000000001-${String(taskSeq).padStart(5, '0')}`, batch: '0000000001', ranges: [{ topic, partition, from: String(from), to: String(to) }], state: 'assigned', owner, attempt, failures: attempt - 1 };
}

function assignment(t: TaskRecord, overrides: Partial<ProcessingSettings> = {}, stillHeld = true): TaskAssignment {
  return { job, task: t, settings: settings(overrides), config: {}, stillHeld: () => Promise.resolve(stillHeld) };
}

describe('TaskRunner with an aggregation', () => {
  let kafka: InMemoryKafka;
  const runner = (): TaskRunner => new TaskRunner({ source: kafka.client(), sink: kafka.client(), processors: new ProcessorRegistry() });
  /** The sink's latest value per key (what a compacted read shows), as numbers. */
  const totals = (): Record<string, number> => {
    const latest: Record<string, number> = {};
    for (let p = 0; p < 2; p++) {
      for (const r of kafka.visibleRecords('out', p)) latest[r.key?.toString() ?? ''] = (JSON.parse(r.value?.toString() ?? '{}') as { count: number }).count;
    }
    return latest;
  };
  const high = (topic: string, partition: number): number => kafka.topicOffsets(topic)[partition]?.high ?? 0;

  /** One batch: the map stage over every source range, then the aggregate stage over what it wrote. */
  async function batch(run: TaskRunner, sources: readonly [number, number, number][], done: Map<number, number>): Promise<void> {
    for (const [partition, from, to] of sources) await run.run(assignment(task('in', partition, from, to)));
    for (let p = 0; p < statePartitions; p++) {
      const from = done.get(p) ?? 0;
      const to = high(repartition, p);
      if (to > from) await run.run(assignment(task(repartition, p, from, to)));
      done.set(p, to);
    }
  }

  beforeEach(async () => {
    kafka = new InMemoryKafka();
    kafka.createTopic('in', 2);
    kafka.createTopic('out', 2);
    await ensureInternalTopics(kafka.client().admin, job, statePartitions);
    const producer = await kafka.client().producer();
    await producer.send('in', 0, ['the fox', 'the dog'].map((v) => ({ key: null, value: Buffer.from(v) })));
    await producer.send('in', 1, ['the fox jumps', 'a fox'].map((v) => ({ key: null, value: Buffer.from(v) })));
  });

  it('gives one running total per word across partitions and batches', async () => {
    const run = runner();
    const done = new Map<number, number>();
    await batch(run, [[0, 0, 2], [1, 0, 2]], done);
    expect(totals()).toEqual({ the: 3, fox: 3, dog: 1, jumps: 1, a: 1 });
    const producer = await kafka.client().producer();
    await producer.send('in', 1, [{ key: null, value: Buffer.from('the end') }]);
    const before = kafka.visibleRecords('out', 0).length + kafka.visibleRecords('out', 1).length;
    await batch(run, [[1, 2, 3]], done);
    expect(totals()).toEqual({ the: 4, fox: 3, dog: 1, jumps: 1, a: 1, end: 1 });
    // One record per changed key in the second batch: the and end.
    expect(kafka.visibleRecords('out', 0).length + kafka.visibleRecords('out', 1).length - before).toBe(2);
    expect(kafka.committedOffsets(consumerGroupId(job), repartition).size).toBeGreaterThan(0);
    expect(kafka.openTransactions()).toEqual([]);
  });

  it('combines the partials of every range a partition group\'s task carries before the shuffle: one partial per word', async () => {
    const run = runner();
    taskSeq += 1;
    const group: TaskRecord = {
      id: `0000000001-${String(taskSeq).padStart(5, '0')}`,
      batch: '0000000001',
      ranges: [0, 1].map((partition) => ({ topic: 'in', partition, from: '0', to: '2' })),
      group: 0,
      state: 'assigned',
      owner: 'e-0',
      attempt: 1,
      failures: 0,
    };
    expect(await run.run(assignment(group))).toMatchObject({ kind: 'processed', read: 4 });
    // the, fox, dog, jumps, a: 'the' and 'fox' are in both partitions, and travel once each.
    const partials = Array.from({ length: statePartitions }, (_v, p) => kafka.visibleRecords(repartition, p)).flat();
    expect(partials.map((r) => r.key?.toString()).sort()).toEqual(['a', 'dog', 'fox', 'jumps', 'the']);
    expect(Object.fromEntries(partials.map((r) => [r.key?.toString(), JSON.parse(r.value?.toString() ?? '') as unknown]))).toMatchObject({ the: [3], fox: [3] });
    const done = new Map<number, number>();
    await batch(run, [], done);
    expect(totals()).toEqual({ the: 3, fox: 3, dog: 1, jumps: 1, a: 1 });
  });

  it('restores a state partition on another executor exactly as its predecessor committed it', async () => {
    const done = new Map<number, number>();
    await batch(runner(), [[0, 0, 2], [1, 0, 2]], done);
    const producer = await kafka.client().producer();
    await producer.send('in', 0, [{ key: null, value: Buffer.from('the fox the fox') }]);
    // A fresh runner holds no state: every aggregate task restores from the changelog.
    await batch(runner(), [[0, 2, 3]], done);
    expect(totals()).toEqual({ the: 5, fox: 5, dog: 1, jumps: 1, a: 1 });
    const changelogKeys = Array.from({ length: statePartitions }, (_v, p) => kafka.visibleRecords(changelog, p).length).reduce((a, b) => a + b, 0);
    expect(changelogKeys).toBe(5 + 2);
  });

  it('refreshes standby copies from one watermark read per round, and leaves a copy a task moved past it alone', async () => {
    const done = new Map<number, number>();
    await batch(runner(), [[0, 0, 2], [1, 0, 2]], done);
    const target = [0, 1, 2].find((p) => high(changelog, p) > 0) ?? 0;
    const aggregation = settings().aggregation as NonNullable<ProcessingSettings['aggregation']>;
    const standby = runner();
    const round = await standby.changelogWatermarks(job);
    // A copy not held yet is restored in full, up to the round's watermarks.
    expect(await standby.refreshStandby(job, target, aggregation, round)).toMatchObject({ partition: target, full: true, records: kafka.visibleRecords(changelog, target).length });
    // The owner dies; the standby takes the partition over and commits past the round's watermarks.
    const producer = await kafka.client().producer();
    await producer.send('in', 0, [{ key: null, value: Buffer.from('the fox the dog the end') }]);
    await standby.run(assignment(task('in', 0, 2, 3)));
    const from = done.get(target) ?? 0;
    const to = high(repartition, target);
    expect(to).toBeGreaterThan(from);
    await standby.run(assignment(task(repartition, target, from, to, 2)));
    expect(high(changelog, target)).toBeGreaterThan(round.find((w) => w.partition === target)?.high ?? 0);
    // Still the old round: nothing to read, and no full restore of a copy that is ahead.
    expect(await standby.refreshStandby(job, target, aggregation, round)).toBeUndefined();
    expect(await standby.refreshStandby(job, target, aggregation)).toMatchObject({ full: false, records: 0 });
  });

  it('lets a sticky owner whose kept producer committed last skip the offset request and the changelog read', async () => {
    const sink = kafka.client();
    const run = new TaskRunner({ source: kafka.client(), sink, processors: new ProcessorRegistry() });
    const internal = (topic: unknown): boolean => topic === repartition || topic === changelog;
    const watermarks = jest.spyOn(sink.admin, 'topicOffsets');
    const committed = jest.spyOn(sink.admin, 'committedOffsets');
    const done = new Map<number, number>();
    await batch(run, [[0, 0, 2], [1, 0, 2]], done);
    // The first task of each state partition opens its producer: it reads both.
    expect(watermarks.mock.calls.filter(([topic]) => internal(topic)).length).toBeGreaterThan(0);
    expect(committed.mock.calls.filter(([, topic]) => internal(topic)).length).toBeGreaterThan(0);
    watermarks.mockClear();
    committed.mockClear();
    const producer = await kafka.client().producer();
    await producer.send('in', 0, [{ key: null, value: Buffer.from('the fox the fox the dog') }]);
    await batch(run, [[0, 2, 3]], done);
    expect(watermarks.mock.calls.filter(([topic]) => internal(topic))).toEqual([]);
    expect(committed.mock.calls.filter(([, topic]) => internal(topic))).toEqual([]);
    expect(totals()).toEqual({ the: 6, fox: 5, dog: 2, jumps: 1, a: 1 });
  });

  it('moves an owner\'s copy by what its commits added, without delivery reports: reading on from there re-reads at most its own last records', async () => {
    const owner = runner();
    const done = new Map<number, number>();
    await batch(owner, [[0, 0, 2], [1, 0, 2]], done);
    const producer = await kafka.client().producer();
    await producer.send('in', 1, [{ key: null, value: Buffer.from('the end of the fox') }]);
    await batch(owner, [[1, 2, 3]], done);
    const aggregation = settings().aggregation as NonNullable<ProcessingSettings['aggregation']>;
    for (let p = 0; p < statePartitions; p++) {
      if (high(changelog, p) === 0) continue;
      // Each commit marker takes an offset the position does not count: one record per transaction at most.
      const report = await owner.refreshStandby(job, p, aggregation);
      expect(report).toMatchObject({ full: false });
      expect(report?.records).toBeLessThanOrEqual(2);
    }
    await producer.send('in', 0, [{ key: null, value: Buffer.from('the end') }]);
    await batch(owner, [[0, 2, 3]], done);
    expect(totals()).toEqual({ the: 6, fox: 4, dog: 1, jumps: 1, a: 1, end: 2, of: 1 });
  });

  it('starts over when another executor committed a state partition since its kept producer did: nothing counted twice', async () => {
    const owner = runner();
    const done = new Map<number, number>();
    await batch(owner, [[0, 0, 2], [1, 0, 2]], done);
    const target = [0, 1, 2].find((p) => high(changelog, p) > 0 && kafka.visibleRecords(changelog, p).some((r) => r.key?.toString() === 'the')) ?? 0;
    const producer = await kafka.client().producer();
    // Another executor runs the partition once (say the owner was thought dead): its producer fences the owner's.
    await producer.send('in', 0, [{ key: null, value: Buffer.from('the the') }]);
    await owner.run(assignment(task('in', 0, 2, 3)));
    const other = runner();
    const from = done.get(target) ?? 0;
    await other.run(assignment(task(repartition, target, from, high(repartition, target))));
    done.set(target, high(repartition, target));
    expect(totals()).toMatchObject({ the: 5 });
    // Back on the owner, whose copy and kept producer are from before: its commit is fenced, it
    // opens anew, reads what the other executor committed, and counts on from there.
    await producer.send('in', 0, [{ key: null, value: Buffer.from('the') }]);
    await owner.run(assignment(task('in', 0, 3, 4)));
    const to = high(repartition, target);
    expect(await owner.run(assignment(task(repartition, target, done.get(target) ?? 0, to)))).toMatchObject({ kind: 'processed', stateReport: { restore: { records: expect.any(Number) as unknown, full: false } } });
    expect(totals()).toEqual({ the: 6, fox: 3, dog: 1, jumps: 1, a: 1 });
    expect(kafka.openTransactions()).toEqual([]);
  });

  it('leaves no trace of an aggregate task whose transaction failed, and its retry counts once', async () => {
    const run = runner();
    for (const p of [0, 1]) await run.run(assignment(task('in', p, 0, 2)));
    const target = [0, 1, 2].find((p) => high(repartition, p) > 0) ?? 0;
    kafka.failNext('transaction.commit');
    await expect(run.run(assignment(task(repartition, target, 0, high(repartition, target))))).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR' });
    await run.run(assignment(task(repartition, target, 0, high(repartition, target), 2)));
    await run.run(assignment(task(repartition, target, 0, high(repartition, target), 3)));
    for (let p = 0; p < statePartitions; p++) if (p !== target && high(repartition, p) > 0) await run.run(assignment(task(repartition, p, 0, high(repartition, p))));
    expect(totals()).toEqual({ the: 3, fox: 3, dog: 1, jumps: 1, a: 1 });
  });

  it('treats a record without the aggregated field as a poison record under the job\'s policy', async () => {
    kafka.createTopic('events', 1);
    kafka.createTopic('dlq', 1);
    const producer = await kafka.client().producer();
    const events = [{ url: '/a', bytes: 10 }, { url: '/a' }, { url: '/b', bytes: 'many' }, { url: '/a', bytes: 5 }];
    await producer.send('events', 0, events.map((e) => ({ key: null, value: Buffer.from(JSON.stringify(e)) })));
    const bytesPerUrl = { processor: 'passthrough', aggregation: { groupBy: 'url', aggregates: [{ name: 'bytes', function: 'sum', field: 'bytes' }], statePartitions, stateMemoryBytes: 1 << 26 } };
    const run = runner();
    await expect(run.run(assignment(task('events', 0, 0, 4), bytesPerUrl))).rejects.toMatchObject({ code: 'SK_POISON_RECORD', message: expect.stringContaining('events/0@1') as unknown });
    expect(await run.run(assignment(task('events', 0, 0, 4, 2), { ...bytesPerUrl, poisonRecords: 'deadLetter', deadLetterTopic: 'dlq' }))).toMatchObject({ kind: 'processed', deadLettered: 2 });
    expect(kafka.visibleRecords('dlq', 0).map((r) => JSON.parse(r.value?.toString() ?? '') as unknown)).toEqual([{ url: '/a' }, { url: '/b', bytes: 'many' }]);
    for (let p = 0; p < statePartitions; p++) if (high(repartition, p) > 0) await run.run(assignment(task(repartition, p, 0, high(repartition, p)), bytesPerUrl));
    const sink = [0, 1].flatMap((p) => kafka.visibleRecords('out', p)).map((r) => [r.key?.toString(), JSON.parse(r.value?.toString() ?? '') as unknown]);
    expect(sink).toEqual([['/a', { bytes: 15 }]]);
  });
});

describe('a keyed aggregator module', () => {
  it('runs the example of docs/runtime.md end to end: distinct users per page', async () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'runtime.md'), 'utf8');
    const example = /```js\n(\/\/ \/app\/distinct-users\.mjs[\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'sk-aggregator-'));
    const path = join(dir, 'distinct-users.mjs');
    writeFileSync(path, example ?? '');
    const kafka = new InMemoryKafka();
    kafka.createTopic('visits', 2);
    kafka.createTopic('out', 2);
    await ensureInternalTopics(kafka.client().admin, job, statePartitions);
    const producer = await kafka.client().producer();
    const visit = (page: string, user: string): { key: null; value: Buffer } => ({ key: null, value: Buffer.from(JSON.stringify({ page, user })) });
    await producer.send('visits', 0, [visit('/home', 'ann'), visit('/home', 'bob'), visit('/docs', 'ann')]);
    await producer.send('visits', 1, [visit('/home', 'ann'), visit('/home', 'cy'), { key: null, value: Buffer.from('{"page":"/docs"}') }]);
    const moduleSettings = { processor: 'passthrough', poisonRecords: 'skip' as const, aggregation: { module: path, statePartitions, stateMemoryBytes: 1 << 26 } };
    const run = new TaskRunner({ source: kafka.client(), sink: kafka.client(), processors: new ProcessorRegistry() });
    expect(await run.run(assignment(task('visits', 0, 0, 3), moduleSettings))).toMatchObject({ kind: 'processed' });
    expect(await run.run(assignment(task('visits', 1, 0, 3), moduleSettings))).toMatchObject({ kind: 'processed', skipped: 1 });
    for (let p = 0; p < statePartitions; p++) {
      const high = kafka.topicOffsets(repartition)[p]?.high ?? 0;
      if (high > 0) await run.run(assignment(task(repartition, p, 0, high), moduleSettings));
    }
    const sink: Record<string, unknown> = Object.fromEntries([0, 1].flatMap((p) => kafka.visibleRecords('out', p)).map((r) => [r.key?.toString() ?? '', JSON.parse(r.value?.toString() ?? '') as unknown]));
    expect(sink).toEqual({ '/home': { users: 3 }, '/docs': { users: 1 } });
  });
});
