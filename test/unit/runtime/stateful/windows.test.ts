import { describe, expect, it } from '@jest/globals';
import { builtinAggregator, keyBytes, type AggregationRecord } from '../../../../src/runtime/stateful/aggregator.js';
import { assignWindows, eventTime, foldWindowed, noWatermark, parseRfc3339, splitWindowedKey, windowedKey, windowOutputKey, windowsOf, type EventTimeSource, type Windowing } from '../../../../src/runtime/stateful/windows.js';

const minute = 60_000;
const tumbling: Windowing = { kind: 'tumbling', sizeMs: minute, advanceMs: minute };
const hopping: Windowing = { kind: 'hopping', sizeMs: 5 * minute, advanceMs: minute };
const at = (iso: string): number => Date.parse(iso);
const byField: EventTimeSource = { from: 'field', field: ['time'] };
const view = (value: unknown, key: string | null = null, timestamp?: number): AggregationRecord => ({ key: key === null ? null : Buffer.from(key), value: Buffer.from(JSON.stringify(value)), ...(timestamp === undefined ? {} : { timestamp }) });

describe('event time', () => {
  it.each<[string, unknown, number]>([
    ['epoch milliseconds', 1_796_000_000_123, 1_796_000_000_123],
    ['RFC 3339 in UTC', '2026-12-07T15:04:05Z', at('2026-12-07T15:04:05Z')],
    ['RFC 3339 with milliseconds', '2026-12-07T15:04:05.250Z', at('2026-12-07T15:04:05.250Z')],
    ['RFC 3339 with an offset', '2026-12-07T16:04:05+01:00', at('2026-12-07T15:04:05Z')],
    ['RFC 3339 with nanoseconds (cut to milliseconds)', '2026-12-07T15:04:05.123456789Z', at('2026-12-07T15:04:05.123Z')],
    ['RFC 3339 with a space and a lower-case z', '2026-12-07 15:04:05z', at('2026-12-07T15:04:05Z')],
    ['a leap second', '2016-12-31T23:59:60Z', at('2016-12-31T23:59:59.999Z')],
  ])('reads %s from a JSON field', (_what, time, expected) => {
    expect(eventTime(view({ time }), byField)).toBe(expected);
  });

  it('reads a nested field', () => {
    expect(eventTime(view({ request: { at: '2026-12-07T15:00:00Z' } }), { from: 'field', field: ['request', 'at'] })).toBe(at('2026-12-07T15:00:00Z'));
  });

  it('reads the record timestamp', () => {
    expect(eventTime(view({}, null, 1234), { from: 'timestamp' })).toBe(1234);
  });

  it.each<[string, AggregationRecord, string]>([
    ['a missing field', view({ url: '/' }), 'no event-time field time'],
    ['null', view({ time: null }), 'neither epoch milliseconds nor an RFC 3339 date-time'],
    ['a boolean', view({ time: true }), 'neither epoch milliseconds nor an RFC 3339 date-time'],
    ['a fraction of a millisecond', view({ time: 12.5 }), 'not whole epoch milliseconds'],
    ['a number beyond what a date holds', view({ time: 1e17 }), 'not whole epoch milliseconds'],
    ['a date without a time', view({ time: '2026-12-07' }), 'not an RFC 3339 date-time'],
    ['a time without a zone', view({ time: '2026-12-07T15:04:05' }), 'not an RFC 3339 date-time'],
    ['an impossible date', view({ time: '2026-02-30T00:00:00Z' }), 'not an RFC 3339 date-time'],
    ['an impossible hour', view({ time: '2026-12-07T24:00:00Z' }), 'not an RFC 3339 date-time'],
    ['an impossible offset', view({ time: '2026-12-07T15:00:00+25:00' }), 'not an RFC 3339 date-time'],
    ['epoch milliseconds as text', view({ time: '1796000000123' }), 'not an RFC 3339 date-time'],
    ['a value that is not JSON', { key: null, value: Buffer.from('not json') }, 'not JSON'],
    ['no value', { key: null, value: null }, 'no value'],
  ])('refuses %s as a poison record', (_what, record, reason) => {
    let thrown: unknown;
    try {
      eventTime(record, byField);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ name: 'UnaggregatableRecord' });
    expect((thrown as Error).message).toContain(reason);
  });

  it('refuses a record without a timestamp when event time is the record timestamp', () => {
    expect(() => eventTime(view({}), { from: 'timestamp' })).toThrow(/no usable timestamp/);
    expect(() => eventTime(view({}, null, -1), { from: 'timestamp' })).toThrow(/no usable timestamp/);
  });

  it('parses only RFC 3339', () => {
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(at('2024-02-29T00:00:00Z'));
    expect(parseRfc3339('2023-02-29T00:00:00Z')).toBeUndefined();
    expect(parseRfc3339('Mon, 07 Dec 2026 15:00:00 GMT')).toBeUndefined();
  });
});

describe('window assignment', () => {
  it.each<[string, number, Windowing, [string, string][]]>([
    ['tumbling: the minute holding the time', at('2026-12-07T15:04:05Z'), tumbling, [['2026-12-07T15:04:00.000Z', '2026-12-07T15:05:00.000Z']]],
    ['tumbling: a window starts at its start, inclusive', at('2026-12-07T15:04:00Z'), tumbling, [['2026-12-07T15:04:00.000Z', '2026-12-07T15:05:00.000Z']]],
    ['tumbling: and ends before its end, exclusive', at('2026-12-07T15:04:59.999Z'), tumbling, [['2026-12-07T15:04:00.000Z', '2026-12-07T15:05:00.000Z']]],
    [
      'hopping 5m every 1m: five windows, earliest first',
      at('2026-12-07T15:04:05Z'),
      hopping,
      [
        ['2026-12-07T15:00:00.000Z', '2026-12-07T15:05:00.000Z'],
        ['2026-12-07T15:01:00.000Z', '2026-12-07T15:06:00.000Z'],
        ['2026-12-07T15:02:00.000Z', '2026-12-07T15:07:00.000Z'],
        ['2026-12-07T15:03:00.000Z', '2026-12-07T15:08:00.000Z'],
        ['2026-12-07T15:04:00.000Z', '2026-12-07T15:09:00.000Z'],
      ],
    ],
    [
      'hopping 90s every 60s: one or two windows',
      at('2026-12-07T15:04:45Z'),
      { kind: 'hopping', sizeMs: 90_000, advanceMs: minute },
      [
        ['2026-12-07T15:04:00.000Z', '2026-12-07T15:05:30.000Z'],
      ],
    ],
    [
      'hopping 90s every 60s: the overlap',
      at('2026-12-07T15:04:15Z'),
      { kind: 'hopping', sizeMs: 90_000, advanceMs: minute },
      [
        ['2026-12-07T15:03:00.000Z', '2026-12-07T15:04:30.000Z'],
        ['2026-12-07T15:04:00.000Z', '2026-12-07T15:05:30.000Z'],
      ],
    ],
    ['before the epoch', -1, tumbling, [['1969-12-31T23:59:00.000Z', '1970-01-01T00:00:00.000Z']]],
  ])('%s', (_what, t, windowing, expected) => {
    const windows = windowsOf(t, windowing);
    expect(windows.map((w) => [new Date(w.start).toISOString(), new Date(w.end).toISOString()])).toEqual(expected);
    for (const w of windows) expect(w.start <= t && t < w.end).toBe(true);
  });

  it('splits the windows by the watermark: closed once the watermark reached the end', () => {
    const t = at('2026-12-07T15:04:05Z');
    expect(assignWindows(t, hopping, noWatermark).late).toEqual([]);
    const split = assignWindows(t, hopping, at('2026-12-07T15:06:00Z'));
    expect(split.late.map((w) => w.end)).toEqual([at('2026-12-07T15:05:00Z'), at('2026-12-07T15:06:00Z')]);
    expect(split.open.map((w) => w.end)).toEqual([at('2026-12-07T15:07:00Z'), at('2026-12-07T15:08:00Z'), at('2026-12-07T15:09:00Z')]);
  });
});

describe('windowed keys', () => {
  it('round-trips the group key and the window, whatever bytes the key holds', () => {
    const group = Buffer.from([0, 255, 64, 10]);
    const window = { start: -60_000, end: 1_796_000_040_000 };
    const split = splitWindowedKey(windowedKey(group, window));
    expect(split.window).toEqual(window);
    expect(split.groupKey.equals(group)).toBe(true);
  });

  it('writes the output key as the group key and an ISO 8601 interval', () => {
    expect(windowOutputKey(Buffer.from('/home'), { start: at('2026-12-07T15:04:00Z'), end: at('2026-12-07T15:05:00Z') }).toString()).toBe('/home@2026-12-07T15:04:00.000Z/2026-12-07T15:05:00.000Z');
  });
});

describe('windowed fold', () => {
  const views = builtinAggregator({ groupBy: ['url'], aggregates: [{ name: 'views', function: 'count', field: undefined }, { name: 'bytes', function: 'sum', field: ['bytes'] }] });

  function byWindow(partials: Map<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, acc] of partials) {
      const { groupKey, window } = splitWindowedKey(keyBytes(key));
      out[windowOutputKey(groupKey, window).toString()] = views.result(acc as number[]);
    }
    return out;
  }

  it('aggregates per group key and window, out of order', () => {
    const fold = foldWindowed(views, tumbling, byField, noWatermark, [
      view({ url: '/a', bytes: 1, time: '2026-12-07T15:04:59Z' }),
      view({ url: '/a', bytes: 2, time: '2026-12-07T15:05:00Z' }),
      view({ url: '/b', bytes: 4, time: '2026-12-07T15:04:00Z' }),
      view({ url: '/a', bytes: 8, time: '2026-12-07T15:04:01Z' }),
    ]);
    expect(fold.refused).toEqual([]);
    expect(fold.late).toEqual([]);
    expect(fold.maxEventTime).toBe(at('2026-12-07T15:05:00Z'));
    expect(byWindow(fold.partials)).toEqual({
      '/a@2026-12-07T15:04:00.000Z/2026-12-07T15:05:00.000Z': { views: 2, bytes: 9 },
      '/a@2026-12-07T15:05:00.000Z/2026-12-07T15:06:00.000Z': { views: 1, bytes: 2 },
      '/b@2026-12-07T15:04:00.000Z/2026-12-07T15:05:00.000Z': { views: 1, bytes: 4 },
    });
  });

  it('counts a record in every hopping window that holds it, each with its own accumulator', () => {
    const fold = foldWindowed(views, { kind: 'hopping', sizeMs: 2 * minute, advanceMs: minute }, byField, noWatermark, [view({ url: '/a', bytes: 3, time: '2026-12-07T15:04:30Z' }), view({ url: '/a', bytes: 5, time: '2026-12-07T15:05:30Z' })]);
    expect(byWindow(fold.partials)).toEqual({
      '/a@2026-12-07T15:03:00.000Z/2026-12-07T15:05:00.000Z': { views: 1, bytes: 3 },
      '/a@2026-12-07T15:04:00.000Z/2026-12-07T15:06:00.000Z': { views: 2, bytes: 8 },
      '/a@2026-12-07T15:05:00.000Z/2026-12-07T15:07:00.000Z': { views: 1, bytes: 5 },
    });
  });

  it('reports a late record with its closed windows and counts it only in its open ones', () => {
    const watermark = at('2026-12-07T15:05:00Z');
    const fold = foldWindowed(views, { kind: 'hopping', sizeMs: 2 * minute, advanceMs: minute }, byField, watermark, [
      view({ url: '/a', bytes: 1, time: '2026-12-07T15:04:30Z' }),
      view({ url: '/a', bytes: 2, time: '2026-12-07T15:03:10Z' }),
    ]);
    expect(fold.late).toEqual([
      { index: 0, eventTime: at('2026-12-07T15:04:30Z'), windows: [{ start: at('2026-12-07T15:03:00Z'), end: watermark }] },
      { index: 1, eventTime: at('2026-12-07T15:03:10Z'), windows: [{ start: at('2026-12-07T15:02:00Z'), end: at('2026-12-07T15:04:00Z') }, { start: at('2026-12-07T15:03:00Z'), end: watermark }] },
    ]);
    expect(byWindow(fold.partials)).toEqual({ '/a@2026-12-07T15:04:00.000Z/2026-12-07T15:06:00.000Z': { views: 1, bytes: 1 } });
  });

  it('refuses a record without a usable event time or aggregated field, leaving every window untouched', () => {
    const fold = foldWindowed(views, tumbling, byField, noWatermark, [
      view({ url: '/a', bytes: 1, time: 'yesterday' }),
      view({ url: '/a', bytes: 'many', time: '2026-12-07T15:04:00Z' }),
      view({ bytes: 1, time: '2026-12-07T15:04:00Z' }),
      view({ url: '/a', bytes: 1, time: '2026-12-07T15:04:00Z' }),
    ]);
    expect(fold.refused.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(fold.refused[0]?.reason).toMatch(/not an RFC 3339 date-time/);
    expect(fold.maxEventTime).toBe(at('2026-12-07T15:04:00Z'));
    expect(byWindow(fold.partials)).toEqual({ '/a@2026-12-07T15:04:00.000Z/2026-12-07T15:05:00.000Z': { views: 1, bytes: 1 } });
  });
});
