import { describe, expect, it } from '@jest/globals';
import { builtinAggregator, copyAccumulator, decodeAccumulator, encodeAccumulator, foldRecords, keyBytes, stateKey, type AggregationRecord, type BuiltinAggregation } from '../../../../src/runtime/stateful/aggregator.js';
import { statePartition } from '../../../../src/runtime/stateful/state-partitioning.js';
import { sinkPartition } from '../../../../src/runtime/partitioner.js';

const json = (value: unknown, key: string | null = null): AggregationRecord => ({ key: key === null ? null : Buffer.from(key), value: Buffer.from(JSON.stringify(value)) });
const text = (value: string, key: string): AggregationRecord => ({ key: Buffer.from(key), value: Buffer.from(value) });

const bytesPerUrl: BuiltinAggregation = {
  groupBy: ['url'],
  aggregates: [
    { name: 'requests', function: 'count', field: undefined },
    { name: 'bytes', function: 'sum', field: ['bytes'] },
    { name: 'smallest', function: 'min', field: ['bytes'] },
    { name: 'largest', function: 'max', field: ['bytes'] },
    { name: 'mean', function: 'avg', field: ['bytes'] },
  ],
};

function results<A>(aggregator: ReturnType<typeof builtinAggregator>, partials: Map<string, A>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, acc] of partials) out[keyBytes(key).toString('utf8')] = aggregator.result(acc as number[]);
  return out;
}

describe('builtin aggregator', () => {
  it('computes count, sum, min, max and avg per JSON field value', () => {
    const aggregator = builtinAggregator(bytesPerUrl);
    const { partials, refused } = foldRecords(aggregator, [json({ url: '/a', bytes: 10 }), json({ url: '/b', bytes: 5 }), json({ url: '/a', bytes: 30 }), json({ url: '/a', bytes: '20' })]);
    expect(refused).toEqual([]);
    expect(results(aggregator, partials)).toEqual({
      '/a': { requests: 3, bytes: 60, smallest: 10, largest: 30, mean: 20 },
      '/b': { requests: 1, bytes: 5, smallest: 5, largest: 5, mean: 5 },
    });
  });

  it('gives the same result whether records are folded at once or in partials merged later', () => {
    const aggregator = builtinAggregator(bytesPerUrl);
    const records = Array.from({ length: 200 }, (_, i) => json({ url: `/${i % 7}`, bytes: (i * 37) % 101 }));
    const whole = foldRecords(aggregator, records).partials;
    const state = new Map<string, number[]>();
    for (let start = 0; start < records.length; start += 33) {
      for (const [key, partial] of foldRecords(aggregator, records.slice(start, start + 33)).partials) {
        // Partials travel as JSON through the repartition topic.
        const travelled = decodeAccumulator(encodeAccumulator(partial)) as number[];
        const before = state.get(key);
        state.set(key, before === undefined ? travelled : aggregator.merge(before, travelled));
      }
    }
    expect(results(aggregator, state)).toEqual(results(aggregator, whole));
  });

  it('groups by the record key and sums the value read as a number (running word totals)', () => {
    const aggregator = builtinAggregator({ groupBy: undefined, aggregates: [{ name: 'count', function: 'sum', field: undefined }] });
    const { partials } = foldRecords(aggregator, [text('3', 'fox'), text('2', 'dog'), text('4', 'fox')]);
    expect(results(aggregator, partials)).toEqual({ fox: { count: 7 }, dog: { count: 2 } });
  });

  it.each<[string, AggregationRecord, string]>([
    ['no group-by field', json({ bytes: 1 }), 'no field url'],
    ['no aggregated field', json({ url: '/a' }), 'no field bytes'],
    ['a non-numeric value', json({ url: '/a', bytes: 'lots' }), 'not a number'],
    ['a null group key', json({ url: null, bytes: 1 }), 'is null'],
    ['a value that is not JSON', { key: null, value: Buffer.from('{oops') }, 'not JSON'],
    ['no value', { key: null, value: null }, 'no value'],
  ])('refuses a record with %s, never counting it as zero', (_name, record, reason) => {
    const aggregator = builtinAggregator(bytesPerUrl);
    const { partials, refused } = foldRecords(aggregator, [json({ url: '/a', bytes: 1 }), record]);
    expect(refused).toEqual([{ index: 1, reason: expect.stringContaining(reason) as unknown }]);
    expect(results(aggregator, partials)).toEqual({ '/a': { requests: 1, bytes: 1, smallest: 1, largest: 1, mean: 1 } });
  });

  it('refuses a record without a key when grouping by key', () => {
    const aggregator = builtinAggregator({ groupBy: undefined, aggregates: [{ name: 'n', function: 'count', field: undefined }] });
    expect(foldRecords(aggregator, [{ key: null, value: Buffer.from('1') }]).refused).toEqual([{ index: 0, reason: 'the record has no key to group by' }]);
  });

  it('round-trips the empty min and max through JSON', () => {
    const aggregator = builtinAggregator(bytesPerUrl);
    const empty = aggregator.initial();
    expect(decodeAccumulator(encodeAccumulator(empty))).toEqual(empty);
    expect(aggregator.result(empty)).toEqual({ requests: 0, bytes: 0, smallest: null, largest: null, mean: null });
    // Finite accumulators and module ones (any JSON) decode to what was encoded.
    for (const accumulator of [[3, 12.5, 1, 9, 2], { users: ['inf', 'u-1'], note: 'infinite' }, { low: Number.NEGATIVE_INFINITY, seen: 2 }]) {
      expect(decodeAccumulator(encodeAccumulator(accumulator))).toEqual(accumulator);
    }
  });

  it('encodes and decodes accumulators as the JSON text the changelog holds, whatever their shape', () => {
    const withReplacer = (value: unknown): string => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? (v > 0 ? '+inf' : '-inf') : v));
    const shapes: unknown[] = [[3], [1.5, -2, 0], [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 4], { users: ['+inf', 'ann'] }, ['-inf'], 7, null, []];
    for (const shape of shapes) expect(encodeAccumulator(shape).toString('utf8')).toBe(withReplacer(shape));
    expect(decodeAccumulator(Buffer.from('["+inf","-inf",2]'))).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2]);
    expect(decodeAccumulator(Buffer.from('{"users":["ann"]}'))).toEqual({ users: ['ann'] });
    expect(decodeAccumulator(Buffer.from('[1,2.5]'))).toEqual([1, 2.5]);
  });

  it('copies an accumulator as restoring it from the changelog would, sharing nothing with it', () => {
    const shapes: unknown[] = [[3, Number.NEGATIVE_INFINITY], { users: ['ann'] }, [Number.NaN, -0], [[1], [2]]];
    for (const shape of shapes) {
      const copy = copyAccumulator(shape);
      expect(copy).toEqual(decodeAccumulator(encodeAccumulator(shape)));
      expect(copy).not.toBe(shape);
    }
    const nested = [[1], [2]];
    (copyAccumulator(nested) as number[][])[0]?.push(9);
    expect(nested).toEqual([[1], [2]]);
  });

  it('keeps binary keys byte for byte', () => {
    const bytes = Buffer.from([0, 255, 128, 10]);
    expect(keyBytes(stateKey(bytes)).equals(bytes)).toBe(true);
  });

  it('folds with a module aggregator that names its own key', () => {
    const distinctUsers = {
      key: (r: AggregationRecord) => (JSON.parse(r.value?.toString() ?? 'null') as { page: string }).page,
      initial: (): string[] => [],
      add: (acc: string[], r: AggregationRecord) => [...new Set([...acc, (JSON.parse(r.value?.toString() ?? 'null') as { user: string }).user])].sort(),
      merge: (a: string[], b: string[]) => [...new Set([...a, ...b])].sort(),
      result: (acc: string[]) => ({ users: acc.length }),
    };
    const { partials } = foldRecords(distinctUsers, [json({ page: 'p', user: 'u1' }), json({ page: 'p', user: 'u2' }), json({ page: 'p', user: 'u1' })]);
    expect([...partials].map(([k, acc]) => [keyBytes(k).toString(), distinctUsers.result(acc)])).toEqual([['p', { users: 2 }]]);
  });
});

describe('statePartition', () => {
  it('places a key where Kafka\'s default partitioner puts it, always the same', () => {
    for (const word of ['fox', 'dog', 'the', '', 'ünïcode']) {
      const key = Buffer.from(word);
      expect(statePartition(key, 8)).toBe(sinkPartition(key, 0, 8));
      expect(statePartition(key, 8)).toBe(statePartition(Buffer.from(word), 8));
    }
  });

  it('spreads keys over every partition', () => {
    const seen = new Set(Array.from({ length: 1000 }, (_, i) => statePartition(Buffer.from(`k${i}`), 16)));
    expect(seen.size).toBe(16);
  });

  it('refuses a partition count below one', () => {
    expect(() => statePartition(Buffer.from('k'), 0)).toThrow(RangeError);
  });
});
