import { beforeEach, describe, expect, it } from '@jest/globals';
import type { WindowConfig } from '../../../../src/coordination/config-mirror.js';
import type { TaskRecord } from '../../../../src/coordination/task-state.js';
import type { ProcessingSettings } from '../../../../src/runtime/job-settings.js';
import { InMemoryKafka } from '../../../../src/testing/index.js';
import { changelogTopic, repartitionTopic } from '../../../../src/runtime/kafka-names.js';
import type { LateAction } from '../../../../src/runtime/observer.js';
import { ProcessorRegistry } from '../../../../src/runtime/processors/processor-runner.js';
import { ensureInternalTopics } from '../../../../src/runtime/stateful/internal-topics.js';
import { closesWindows, foldMaxEventTime, nextWatermark } from '../../../../src/runtime/stateful/watermark.js';
import { TaskRunner, type TaskAssignment, type TaskResult } from '../../../../src/runtime/task-runner.js';

const job = { namespace: 'web', name: 'views-per-minute' };
const statePartitions = 2;
const repartition = repartitionTopic(job);
const changelog = changelogTopic(job);
const minute = 60_000;
const t0 = Date.parse('2026-12-07T15:00:00Z');
const at = (minutes: number, seconds = 0): string => new Date(t0 + minutes * minute + seconds * 1000).toISOString();

const perMinute: WindowConfig = { type: 'tumbling', sizeMs: minute, advanceMs: minute, eventTimeField: 'time', allowedLatenessMs: 0, emit: 'final', lateRecords: 'drop', idleTimeoutMs: 0 };

const settings = (window: Partial<WindowConfig> = {}, overrides: Partial<ProcessingSettings> = {}): ProcessingSettings => ({
  processor: 'passthrough',
  params: {},
  sinkTopic: 'out',
  delivery: 'exactlyOnce',
  poisonRecords: 'fail',
  aggregation: { groupBy: 'url', aggregates: [{ name: 'views', function: 'count' }], statePartitions, stateMemoryBytes: 64 * 1024 * 1024, window: { ...perMinute, ...window } },
  ...overrides,
});

let taskSeq = 0;
function task(topic: string, partition: number, from: number, to: number, attempt = 1): TaskRecord {
  taskSeq += 1;
  return { id: `0000000001-${String(taskSeq).padStart(5, '0')}`, batch: '0000000001', ranges: [{ topic, partition, from: String(from), to: String(to) }], state: 'assigned', owner: 'e-0', attempt, failures: attempt - 1 };
}

describe('TaskRunner with a windowed aggregation', () => {
  let kafka: InMemoryKafka;
  let late: Record<LateAction, number>;
  let sourceEnd: number;
  const high = (topic: string, partition: number): number => kafka.topicOffsets(topic)[partition]?.high ?? 0;
  const runner = (): TaskRunner => new TaskRunner({ source: kafka.client(), sink: kafka.client(), processors: new ProcessorRegistry(), observer: { lateRecords: (action, n) => (late[action] += n) } });
  const sink = (): [string, unknown][] => [0, 1].flatMap((p) => kafka.visibleRecords('out', p)).map((r) => [r.key?.toString() ?? '', JSON.parse(r.value?.toString() ?? 'null') as unknown]);
  const stateKeys = (): number => {
    // The latest changelog value per key, tombstones dropping the key: what a restore holds.
    const held = new Map<string, boolean>();
    for (let p = 0; p < statePartitions; p++) for (const r of kafka.visibleRecords(changelog, p)) held.set(r.key?.toString('latin1') ?? '', r.value !== null);
    return [...held.values()].filter(Boolean).length;
  };

  async function send(views: readonly { url: string; time: string }[]): Promise<void> {
    const producer = await kafka.client().producer();
    await producer.send('views', 0, views.map((v) => ({ key: null, value: Buffer.from(JSON.stringify(v)) })));
  }

  /** One batch under `watermark`: the map task over the new source records, then every state partition. Returns the map task's result. */
  async function batch(run: TaskRunner, watermark: number | undefined, done: Map<number, number>, window: Partial<WindowConfig> = {}, overrides: Partial<ProcessingSettings> = {}): Promise<TaskResult> {
    const assign = (t: TaskRecord): TaskAssignment => ({ job, task: t, settings: settings(window, overrides), config: {}, stillHeld: () => Promise.resolve(true), ...(watermark === undefined ? {} : { watermark }) });
    const to = high('views', 0);
    const result = await run.run(assign(task('views', 0, sourceEnd, to)));
    sourceEnd = to;
    for (let p = 0; p < statePartitions; p++) {
      const from = done.get(p) ?? 0;
      const end = high(repartition, p);
      // Every state partition runs, even without partials: closing windows needs no new record.
      await run.run(assign(task(repartition, p, from, end)));
      done.set(p, end);
    }
    return result;
  }

  beforeEach(async () => {
    kafka = new InMemoryKafka();
    kafka.createTopic('views', 1);
    kafka.createTopic('out', 2);
    kafka.createTopic('late', 1);
    await ensureInternalTopics(kafka.client().admin, job, statePartitions);
    late = { dropped: 0, 'dead-lettered': 0 };
    sourceEnd = 0;
  });

  it('update: every batch writes the windows whose counts changed, keyed by url and window', async () => {
    const run = runner();
    const done = new Map<number, number>();
    await send([{ url: '/a', time: at(0, 10) }, { url: '/a', time: at(1, 5) }, { url: '/b', time: at(0, 50) }]);
    const first = await batch(run, undefined, done, { emit: 'update' });
    expect(first).toMatchObject({ kind: 'processed', maxEventTime: t0 + minute + 5000 });
    // Watermark 15:00:05 (65 s of allowed lateness): the first minute is still open.
    await send([{ url: '/a', time: at(0, 30) }]);
    await batch(run, t0 + 5000, done, { emit: 'update' });
    expect(sink().sort()).toEqual([
      ['/a@2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z', { views: 1 }],
      ['/a@2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z', { views: 2 }],
      ['/a@2026-12-07T15:01:00.000Z/2026-12-07T15:02:00.000Z', { views: 1 }],
      ['/b@2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z', { views: 1 }],
    ]);
  });

  it('final: writes a window once, when the watermark passes its end, and drops its state', async () => {
    const run = runner();
    const done = new Map<number, number>();
    await send([{ url: '/a', time: at(0, 10) }, { url: '/a', time: at(0, 40) }, { url: '/b', time: at(1, 5) }]);
    await batch(run, undefined, done);
    expect(sink()).toEqual([]);
    expect(stateKeys()).toBe(2);
    // The watermark reaches 15:01: the first minute closes; /b's window stays open.
    await batch(run, t0 + minute, done);
    expect(sink()).toEqual([['/a@2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z', { views: 2 }]]);
    expect(stateKeys()).toBe(1);
    // Running the same batch again (a retry) writes nothing more: the closed window's state is gone.
    await batch(run, t0 + minute, done);
    expect(sink()).toHaveLength(1);
    await batch(run, t0 + 2 * minute, done);
    expect(sink()).toEqual([
      ['/a@2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z', { views: 2 }],
      ['/b@2026-12-07T15:01:00.000Z/2026-12-07T15:02:00.000Z', { views: 1 }],
    ]);
    expect(stateKeys()).toBe(0);
  });

  it('final, a retried aggregate task on another executor restores the state and writes each closed window once', async () => {
    const done = new Map<number, number>();
    await send([{ url: '/a', time: at(0, 10) }, { url: '/c', time: at(0, 20) }]);
    await batch(runner(), undefined, done);
    // A fresh runner for every batch: all state comes from the changelog.
    await batch(runner(), t0 + minute, done);
    await batch(runner(), t0 + minute, done);
    expect(sink().sort()).toEqual([
      ['/a@2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z', { views: 1 }],
      ['/c@2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z', { views: 1 }],
    ]);
  });

  it('keeps the state flat over a long run: closed windows never accumulate', async () => {
    const run = runner();
    const done = new Map<number, number>();
    const sizes: number[] = [];
    let watermark: number | undefined;
    for (let m = 0; m < 60; m++) {
      await send(Array.from({ length: 20 }, (_v, i) => ({ url: `/page-${i % 10}`, time: at(m, i) })));
      const result = await batch(run, watermark, done);
      watermark = nextWatermark({ maxEventTime: result.kind === 'processed' ? result.maxEventTime : undefined, previous: watermark, allowedLatenessMs: 0, idleTimeoutMs: 0, recordsSeenAt: undefined, now: 0 });
      sizes.push(stateKeys());
    }
    // At most two minutes of 10 urls are open at a time, from the first batch to the sixtieth.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(20);
    expect(sizes.slice(-10)).toEqual(sizes.slice(-10).map(() => sizes[sizes.length - 1]));
    // The last watermark, 15:58:19, closed minutes 15:00 to 15:57: each written once, 2 views per url.
    expect(watermark).toBe(Date.parse(at(59, 19)));
    const written = sink();
    expect(written).toHaveLength(58 * 10);
    expect(new Set(written.map(([key]) => key)).size).toBe(58 * 10);
    expect(written.every(([, value]) => (value as { views: number }).views === 2)).toBe(true);
  });

  it('drops a late record from the windows the watermark closed, counting it, and still counts it in its open windows', async () => {
    const run = runner();
    const done = new Map<number, number>();
    await send([{ url: '/a', time: at(0, 10) }]);
    await batch(run, undefined, done, { type: 'hopping', sizeMs: 2 * minute, advanceMs: minute });
    // Watermark 15:01: the window [14:59, 15:01) is closed; [15:00, 15:02) is open.
    await send([{ url: '/a', time: at(0, 20) }]);
    await batch(run, t0 + minute, done, { type: 'hopping', sizeMs: 2 * minute, advanceMs: minute });
    expect(late).toEqual({ dropped: 1, 'dead-lettered': 0 });
    await batch(run, t0 + 3 * minute, done, { type: 'hopping', sizeMs: 2 * minute, advanceMs: minute });
    expect(sink().sort()).toEqual([
      ['/a@2026-12-07T14:59:00.000Z/2026-12-07T15:01:00.000Z', { views: 1 }],
      ['/a@2026-12-07T15:00:00.000Z/2026-12-07T15:02:00.000Z', { views: 2 }],
    ]);
  });

  it('sends a late record to the dead-letter topic, saying which window the watermark closed', async () => {
    const run = runner();
    const done = new Map<number, number>();
    await send([{ url: '/a', time: at(2, 0) }]);
    await batch(run, undefined, done);
    await send([{ url: '/a', time: at(0, 30) }, { url: '/a', time: at(2, 30) }]);
    await batch(run, t0 + 2 * minute, done, { lateRecords: 'deadLetter' }, { deadLetterTopic: 'late' });
    expect(late).toEqual({ dropped: 0, 'dead-lettered': 1 });
    const dead = kafka.visibleRecords('late', 0);
    expect(dead.map((r) => JSON.parse(r.value?.toString() ?? '') as unknown)).toEqual([{ url: '/a', time: at(0, 30) }]);
    const error = dead[0]?.headers.find((h) => h.key === 'streamkeeper.error')?.value.toString();
    expect(error).toBe('late: event time 2026-12-07T15:00:30.000Z is behind the watermark 2026-12-07T15:02:00.000Z, which closed window 2026-12-07T15:00:00.000Z/2026-12-07T15:01:00.000Z');
  });

  it('a retry of a map task whose range was committed reports the same greatest event time, so the watermark does not depend on the failure', async () => {
    await send([{ url: '/a', time: at(1, 30) }, { url: '/b', time: at(0, 10) }]);
    const assign = (t: TaskRecord): TaskAssignment => ({ job, task: t, settings: settings(), config: {}, stillHeld: () => Promise.resolve(true) });
    const first = await runner().run(assign(task('views', 0, 0, 2)));
    // The attempt committed but its completion never reached ZooKeeper: attempt 2 finds the range committed.
    const retry = await runner().run(assign(task('views', 0, 0, 2, 2)));
    expect(first).toMatchObject({ kind: 'processed', maxEventTime: t0 + 90_000 });
    expect(retry).toEqual({ kind: 'already-committed', committed: 2, maxEventTime: t0 + 90_000 });
  });

  it('treats a record without a usable event time as a poison record under the job\'s policy', async () => {
    const run = runner();
    await send([{ url: '/a', time: 'yesterday' }]);
    await expect(run.run({ job, task: task('views', 0, 0, 1), settings: settings(), config: {}, stillHeld: () => Promise.resolve(true) })).rejects.toMatchObject({ code: 'SK_POISON_RECORD', message: expect.stringContaining('not an RFC 3339 date-time') as unknown });
  });
});

describe('watermark decisions', () => {
  const windowing = { kind: 'tumbling', sizeMs: minute, advanceMs: minute } as const;

  it('is the greatest event time minus allowedLateness, and never goes back', () => {
    expect(nextWatermark({ maxEventTime: undefined, previous: undefined, allowedLatenessMs: 0, idleTimeoutMs: 0, recordsSeenAt: undefined, now: 0 })).toBeUndefined();
    expect(nextWatermark({ maxEventTime: t0, previous: undefined, allowedLatenessMs: 30_000, idleTimeoutMs: 0, recordsSeenAt: undefined, now: 0 })).toBe(t0 - 30_000);
    expect(nextWatermark({ maxEventTime: t0, previous: t0 + 5, allowedLatenessMs: 30_000, idleTimeoutMs: 0, recordsSeenAt: undefined, now: 0 })).toBe(t0 + 5);
  });

  it('moves on with the wall clock once no record came for idleTimeout', () => {
    const input = { maxEventTime: t0, previous: t0, allowedLatenessMs: 0, idleTimeoutMs: minute, recordsSeenAt: 1_000_000 };
    expect(nextWatermark({ ...input, now: 1_000_000 + minute - 1 })).toBe(t0);
    expect(nextWatermark({ ...input, now: 1_000_000 + minute })).toBe(t0 + minute);
    expect(nextWatermark({ ...input, now: 1_000_000 + 5 * minute })).toBe(t0 + 5 * minute);
    expect(nextWatermark({ ...input, idleTimeoutMs: 0, now: 1_000_000 + 5 * minute })).toBe(t0);
  });

  it('runs every state partition only when the watermark passed a window end that may hold state', () => {
    expect(closesWindows(undefined, t0, t0, windowing)).toBe(true);
    expect(closesWindows(t0, t0 + 30_000, t0 + 30_000, windowing)).toBe(false);
    expect(closesWindows(t0 + 30_000, t0 + minute, t0 + minute, windowing)).toBe(true);
    // Idle long after the last record: its window closed long ago, nothing is left to close.
    expect(closesWindows(t0 + 5 * minute, t0 + 6 * minute, t0 + 30_000, windowing)).toBe(false);
  });

  it('folds the tasks\' greatest event times into the job\'s', () => {
    expect(foldMaxEventTime(undefined, [undefined, 5, 3])).toBe(5);
    expect(foldMaxEventTime(9, [5, undefined])).toBe(9);
    expect(foldMaxEventTime(undefined, [])).toBeUndefined();
  });
});
