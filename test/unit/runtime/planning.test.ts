import { describe, expect, it } from '@jest/globals';
import type { OffsetsRecord } from '../../../src/coordination/task-ledger.js';
import type { TaskRecord } from '../../../src/coordination/task-state.js';
import { advanceOffsets, batchProgress, decideFailedBatch, groupRanges, lagAfter, lastSettledBatch, nextBatchDue, partitionGroup, planBatch, positionsOf, settleFailedBatch, type PlanInput } from '../../../src/runtime/planning.js';
import { batchTasks } from '../../../src/coordination/task-ledger.js';

const topic = (name: string, ...partitions: [low: number, high: number][]) => ({ topic: name, partitions: partitions.map(([low, high], partition) => ({ partition, low, high })) });
const at = (entries: Record<string, number>) => new Map(Object.entries(entries));

function plan(overrides: Partial<PlanInput>) {
  return planBatch({ topics: [], positions: new Map(), newPartitionStart: 'earliest', maxRecordsPerPartition: 100, ...overrides });
}

describe('planBatch', () => {
  it.each<[string, Partial<PlanInput>, [string, number, string, string][]]>([
    ['takes each partition from its position to the last stable offset', { topics: [topic('in', [0, 50], [0, 30])], positions: at({ 'in/0': 10, 'in/1': 0 }) }, [['in', 0, '10', '50'], ['in', 1, '0', '30']]],
    ['bounds a range by maxRecordsPerPartition', { topics: [topic('in', [0, 1000])], positions: at({ 'in/0': 100 }), maxRecordsPerPartition: 250 }, [['in', 0, '100', '350']]],
    ['plans nothing for a partition with no new records', { topics: [topic('in', [0, 40], [0, 7])], positions: at({ 'in/0': 40, 'in/1': 2 }) }, [['in', 1, '2', '7']]],
    ['starts a new job at the earliest offset', { topics: [topic('in', [5, 20])], newPartitionStart: 'earliest' }, [['in', 0, '5', '20']]],
    ['starts a new job at the latest offset (nothing to do yet)', { topics: [topic('in', [5, 20])], newPartitionStart: 'latest' }, []],
    ['starts a partition without position at its committed group offset', { topics: [topic('in', [0, 20])], fallback: at({ 'in/0': 12 }), newPartitionStart: 'latest' }, [['in', 0, '12', '20']]],
    ['orders ranges by topic, then partition', { topics: [topic('zeta', [0, 1]), topic('alpha', [0, 1], [0, 1])] }, [['alpha', 0, '0', '1'], ['alpha', 1, '0', '1'], ['zeta', 0, '0', '1']]],
    ['skips offsets deleted by retention', { topics: [topic('in', [30, 50])], positions: at({ 'in/0': 10 }) }, [['in', 0, '30', '50']]],
    ['does not plan a partition whose position is beyond its end', { topics: [topic('in', [0, 5])], positions: at({ 'in/0': 90 }) }, []],
  ])('%s', (_name, input, expected) => {
    expect(plan(input).ranges).toEqual(expected.map(([t, partition, from, to]) => ({ topic: t, partition, from, to })));
  });

  it('reports the start position of every partition it had none for', () => {
    const result = plan({ topics: [topic('in', [3, 9], [0, 4])], positions: at({ 'in/0': 3 }), newPartitionStart: 'latest' });
    expect(result.newPositions).toEqual([{ topic: 'in', partition: 1, next: '4' }]);
  });

  it('measures lag against the position before the batch', () => {
    const result = plan({ topics: [topic('in', [0, 500], [0, 10])], positions: at({ 'in/0': 100, 'in/1': 10 }) });
    expect(result.lag.map((p) => p.lag)).toEqual([400, 0]);
  });

  it('reports what retention deleted and what lies beyond the end', () => {
    const result = plan({ topics: [topic('in', [30, 50], [0, 5])], positions: at({ 'in/0': 10, 'in/1': 9 }) });
    expect(result.lostToRetention).toEqual([{ topic: 'in', partition: 0, from: '10', to: '30' }]);
    expect(result.beyondEnd).toEqual([{ topic: 'in', partition: 1, next: 9, high: 5 }]);
  });
});

describe('nextBatchDue', () => {
  it.each<[string, number | undefined, number, number, { due: number; delayMs: number }]>([
    ['plans the first batch at once', undefined, 1000, 5000, { due: 5000, delayMs: 0 }],
    ['keeps one interval between batch starts', 5000, 1000, 5400, { due: 6000, delayMs: 0 }],
    ['plans at once, and says how late, after a batch overran its interval', 5000, 1000, 6300, { due: 6300, delayMs: 300 }],
    ['applies a changed interval from the previous start', 5000, 250, 5100, { due: 5250, delayMs: 0 }],
  ])('%s', (_name, previous, interval, now, expected) => {
    expect(nextBatchDue(previous, interval, now)).toEqual(expected);
  });
});

function task(index: number, state: TaskRecord['state'], from = index * 10, to = from + 10): TaskRecord {
  return { id: `0000000001-0000${index}`, batch: '0000000001', ranges: [{ topic: 'in', partition: index, from: String(from), to: String(to) }], state, owner: 'e-0', attempt: 1, failures: state === 'exhausted' ? 3 : 0 };
}

describe('batchProgress', () => {
  it.each<[string, TaskRecord[], number, string]>([
    ['runs while a task is unfinished', [task(0, 'succeeded'), task(1, 'assigned')], 2, 'running'],
    ['runs while tasks are missing', [task(0, 'succeeded')], 2, 'running'],
    ['succeeds when every task did', [task(0, 'succeeded'), task(1, 'succeeded')], 2, 'succeeded'],
    ['waits for the other tasks when one is exhausted', [task(0, 'exhausted'), task(1, 'failed')], 2, 'running'],
    ['fails once every task is final and one is exhausted', [task(0, 'exhausted'), task(1, 'succeeded')], 2, 'failed'],
  ])('%s', (_name, tasks, expected, state) => {
    expect(batchProgress(tasks, expected).state).toBe(state);
  });
});

describe('settleFailedBatch', () => {
  const tasks = [task(0, 'succeeded'), task(1, 'exhausted')];

  it('with fail, advances only the committed ranges and retains the exhausted ones', () => {
    expect(settleFailedBatch(tasks, 'fail')).toEqual({ advance: [tasks[0]?.ranges[0]], parked: [], retained: [tasks[1]?.ranges[0]] });
  });

  it('with degrade, advances past every range and parks the exhausted ones', () => {
    expect(settleFailedBatch(tasks, 'degrade')).toEqual({ advance: [tasks[0]?.ranges[0], tasks[1]?.ranges[0]], parked: [tasks[1]?.ranges[0]], retained: [] });
  });
});

describe('advanceOffsets', () => {
  const previous: OffsetsRecord = { batch: '0000000003', partitions: [{ topic: 'in', partition: 1, next: '40' }, { topic: 'in', partition: 0, next: '20' }], progress: { committedAt: 't0', totalLag: 5 } };

  it('moves positions to the ends of the ranges, sorted, naming the committed batch', () => {
    const next = advanceOffsets(previous, { advance: [{ topic: 'in', partition: 0, from: '20', to: '35' }], committedBatch: '0000000004', progress: { committedAt: 't1' } });
    expect(next).toEqual({ batch: '0000000004', partitions: [{ topic: 'in', partition: 0, next: '35' }, { topic: 'in', partition: 1, next: '40' }], progress: { committedAt: 't1', totalLag: 5 } });
  });

  it('never moves a position backwards', () => {
    expect(positionsOf(advanceOffsets(previous, { advance: [{ topic: 'in', partition: 1, from: '10', to: '30' }] })).get('in/1')).toBe(40);
  });

  it('records a new partition\'s start without moving known ones', () => {
    const next = advanceOffsets(previous, { positions: [{ topic: 'in', partition: 0, next: '0' }, { topic: 'in', partition: 2, next: '7' }] });
    expect(positionsOf(next)).toEqual(new Map([['in/0', 20], ['in/1', 40], ['in/2', 7]]));
  });

  it('starts a record for a new job', () => {
    expect(advanceOffsets(null, { positions: [{ topic: 'in', partition: 0, next: '9' }] })).toEqual({ batch: null, partitions: [{ topic: 'in', partition: 0, next: '9' }] });
  });
});

describe('lastSettledBatch', () => {
  it.each<[string, OffsetsRecord | null, string | null]>([
    ['is null for a new job', null, null],
    ['is the committed batch', { batch: '0000000007', partitions: [] }, '0000000007'],
    ['is a later failed batch', { batch: '0000000007', partitions: [], progress: { lastBatch: '0000000009' } }, '0000000009'],
  ])('%s', (_name, record, expected) => {
    expect(lastSettledBatch(record)).toBe(expected);
  });
});

describe('lagAfter', () => {
  it('subtracts the new positions from the ends last read', () => {
    const lag = [{ topic: 'in', partition: 0, next: 0, high: 100, lag: 100 }];
    expect(lagAfter(lag, { batch: null, partitions: [{ topic: 'in', partition: 0, next: '60' }] })).toEqual([{ topic: 'in', partition: 0, next: 60, high: 100, lag: 40 }]);
  });
});

describe('what a driver does with a failed batch', () => {
  const cases: [string, Parameters<typeof decideFailedBatch>[0], ReturnType<typeof decideFailedBatch>][] = [
    ['keeps a batch with nothing retained as the record of what was parked', { retainedRanges: 0, policy: 'fail', configChanged: true, failedBeforeThisDriver: true }, 'keep'],
    ['parks the retained ranges once degrade is configured', { retainedRanges: 2, policy: 'degrade', configChanged: false, failedBeforeThisDriver: false }, 'park'],
    ['retries a batch found failed when this driver started', { retainedRanges: 1, policy: 'fail', configChanged: false, failedBeforeThisDriver: true }, 'retry'],
    ['retries after a configuration change since it failed', { retainedRanges: 1, policy: 'fail', configChanged: true, failedBeforeThisDriver: false }, 'retry'],
    ['blocks the job otherwise', { retainedRanges: 1, policy: 'fail', configChanged: false, failedBeforeThisDriver: false }, 'block'],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(decideFailedBatch(input)).toBe(expected);
  });
});

describe('partition groups', () => {
  const rangesOf = (name: string, partitions: number) => Array.from({ length: partitions }, (_v, partition) => ({ topic: name, partition, from: '0', to: '10' }));

  it.each<[string, number, number, number[]]>([
    ['one topic, fewer partitions than groups: one task per partition', 4, 16, [1, 1, 1, 1]],
    ['one topic, as many partitions as groups', 16, 16, Array.from({ length: 16 }, () => 1)],
    ['one topic, 64 partitions in 16 groups: four ranges a task', 64, 16, Array.from({ length: 16 }, () => 4)],
    ['one topic, 256 partitions in 4 groups', 256, 4, [64, 64, 64, 64]],
    ['one group: every range in one task', 10, 1, [10]],
  ])('%s', (_name, partitions, groups, sizes) => {
    const ranges = rangesOf('in', partitions);
    const tasks = batchTasks({ ranges, rangeGroups: groupRanges(ranges, groups) });
    expect(tasks.map((t) => t.ranges.length)).toEqual(sizes);
    expect(new Set(tasks.map((t) => t.group)).size).toBe(tasks.length);
    expect(tasks.flatMap((t) => t.ranges).length).toBe(partitions);
  });

  it('puts a partition in the same group in every batch, whichever partitions have records', () => {
    const all = rangesOf('in', 64);
    const some = all.filter((r) => r.partition % 3 === 0);
    const groupOf = (ranges: typeof all) => new Map(batchTasks({ ranges, rangeGroups: groupRanges(ranges, 8) }).flatMap((t) => t.ranges.map((r) => [r.partition, t.group] as const)));
    const before = groupOf(all);
    for (const [partition, group] of groupOf(some)) expect(group).toBe(before.get(partition));
    for (const r of all) expect(before.get(r.partition)).toBe(partitionGroup('in', r.partition, 8));
  });

  it('is a fixed function of topic and partition (the same on every version and platform)', () => {
    expect([0, 1, 2, 3].map((p) => partitionGroup('in', p, 4))).toEqual([2, 3, 0, 1]);
    expect([0, 1, 2].map((p) => partitionGroup('orders', p, 1000))).toEqual([820, 821, 822]);
  });

  it('spreads the partitions of several topics over the groups', () => {
    const ranges = [...rangesOf('a', 8), ...rangesOf('b', 8)];
    const tasks = batchTasks({ ranges, rangeGroups: groupRanges(ranges, 4) });
    expect(tasks.map((t) => t.ranges.length)).toEqual([4, 4, 4, 4]);
  });

  it('keeps each range of the aggregate stage\'s topic a task of its own, and groups nothing without groups', () => {
    const ranges = [...rangesOf('in', 8), ...rangesOf('repartition', 3)];
    const tasks = batchTasks({ ranges, rangeGroups: groupRanges(ranges, 2, 'repartition') });
    expect(tasks.map((t) => [t.group, t.ranges.length])).toEqual([[expect.any(Number), 4], [expect.any(Number), 4], [undefined, 1], [undefined, 1], [undefined, 1]]);
    expect(groupRanges(ranges, undefined)).toBeUndefined();
    expect(batchTasks({ ranges }).map((t) => t.ranges.length)).toEqual(Array.from({ length: 11 }, () => 1));
  });
});
