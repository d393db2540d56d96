/**
 * Event-time windows as pure decisions: when a record happened (its Kafka timestamp or a JSON
 * field), which windows it falls in (tumbling or hopping), which of those the watermark already
 * closed, and how a (group key, window) pair is written as a state key and as an output key.
 *
 * A window is [start, end) in epoch milliseconds, aligned to the epoch: tumbling windows of size
 * s start at multiples of s; hopping windows of size s and advance a start at multiples of a, so
 * a record falls in ceil(s / a) windows. A window is closed once the watermark reached its end.
 */
import type { FieldPath } from '../../api/v1alpha1/index.js';
import { decodeAccumulator, encodeAccumulator, keyOf, stateKey, UnaggregatableRecord, type AggregationRecord, type KeyedAggregator, type StateKey } from './aggregator.js';

export type WindowKind = 'tumbling' | 'hopping';

export interface Windowing {
  readonly kind: WindowKind;
  readonly sizeMs: number;
  /** How far consecutive windows start apart: the size for tumbling windows. */
  readonly advanceMs: number;
}

/** Where a record's event time comes from: its Kafka timestamp, or a field of its JSON value. */
export type EventTimeSource = { readonly from: 'timestamp' } | { readonly from: 'field'; readonly field: FieldPath };

export interface Window {
  /** Inclusive, epoch milliseconds. */
  readonly start: number;
  /** Exclusive, epoch milliseconds. */
  readonly end: number;
}

/** No watermark yet: nothing is closed. */
export const noWatermark = Number.NEGATIVE_INFINITY;

/** Epoch milliseconds JavaScript dates can hold (±8.64e15): beyond them an ISO text cannot be written. */
const maxEventTime = 8.64e15;

/**
 * RFC 3339 date-time: a date, 'T' (or a space, as RFC 3339 allows), a time with optional
 * fractions, and a zone (Z or ±hh:mm). Anything looser (a bare date, no zone) is refused: its
 * instant would depend on the reader's time zone.
 */
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Epoch milliseconds of an RFC 3339 date-time, or undefined when the text is not one (e.g. 2026-02-30). */
export function parseRfc3339(text: string): number | undefined {
  const m = rfc3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  // Date.parse wants at most milliseconds: the extra digits of a finer fraction are cut, not rounded.
  const fraction = m[7] === undefined ? '' : m[7].slice(0, 4);
  const zone = m[8] === 'z' ? 'Z' : (m[8] as string);
  // A leap second (60) counts as the last millisecond of its minute.
  const leap = second === 60;
  const normalised = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${leap ? '59' : m[6]}${leap ? '.999' : fraction}${zone}`;
  const ms = Date.parse(normalised);
  return Number.isFinite(ms) ? ms : undefined;
}

function fieldValue(record: AggregationRecord, path: FieldPath, parsed: unknown): unknown {
  let current = parsed;
  if (current === undefined) {
    if (record.value === null) throw new UnaggregatableRecord('the record has no value to read its event time from');
    try {
      current = JSON.parse(record.value.toString('utf8')) as unknown;
    } catch (err) {
      throw new UnaggregatableRecord(`the value is not JSON: ${(err as Error).message}`);
    }
  }
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, segment)) {
      throw new UnaggregatableRecord(`the value has no event-time field ${path.join('.')}`);
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * The record's event time in epoch milliseconds. A JSON field holds epoch milliseconds (a JSON
 * number, an integer) or an RFC 3339 date-time (a string). Anything else — missing, null, a
 * fraction of a millisecond, a string in another format, an impossible date — makes the record a
 * poison record for the job's policy: it is never given a made-up time.
 */
export function eventTime(record: AggregationRecord, source: EventTimeSource, parsed?: unknown): number {
  if (source.from === 'timestamp') {
    const t = record.timestamp;
    if (t === undefined || !Number.isSafeInteger(t) || t < 0) throw new UnaggregatableRecord(`the record has no usable timestamp: ${String(t)}`);
    return t;
  }
  const value = fieldValue(record, source.field, parsed);
  const name = source.field.join('.');
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Math.abs(value) > maxEventTime) throw new UnaggregatableRecord(`event-time field ${name} is not whole epoch milliseconds: ${value}`);
    return value;
  }
  if (typeof value === 'string') {
    const ms = parseRfc3339(value);
    if (ms === undefined) throw new UnaggregatableRecord(`event-time field ${name} is not an RFC 3339 date-time: ${JSON.stringify(value.slice(0, 64))}`);
    return ms;
  }
  throw new UnaggregatableRecord(`event-time field ${name} is neither epoch milliseconds nor an RFC 3339 date-time: ${String(JSON.stringify(value) as string | undefined).slice(0, 64)}`);
}

function floorTo(t: number, step: number): number {
  return Math.floor(t / step) * step;
}

/** The windows holding event time `t`, earliest first. */
export function windowsOf(t: number, windowing: Windowing): Window[] {
  const { sizeMs, advanceMs } = windowing;
  const windows: Window[] = [];
  // The latest window holding t starts at the last multiple of advance at or before t; earlier
  // ones start an advance apart while they still reach past t.
  for (let start = floorTo(t, advanceMs); start > t - sizeMs; start -= advanceMs) windows.unshift({ start, end: start + sizeMs });
  return windows;
}

/** A window is closed once the watermark reached its end: no record may change it any more. */
export function isClosed(window: Window, watermark: number): boolean {
  return window.end <= watermark;
}

export interface WindowAssignment {
  /** Windows the record still counts in. */
  readonly open: readonly Window[];
  /** Windows the watermark closed before the record arrived: the record is late for them. */
  readonly late: readonly Window[];
}

/** The record's windows, split by the watermark. */
export function assignWindows(t: number, windowing: Windowing, watermark: number): WindowAssignment {
  const open: Window[] = [];
  const late: Window[] = [];
  for (const window of windowsOf(t, windowing)) (isClosed(window, watermark) ? late : open).push(window);
  return { open, late };
}

/**
 * The state key of a group key in a window: 8 bytes of start, 8 of end (big-endian signed), then
 * the group key. Fixed-width so the group key, which routes the record, is read back exactly.
 */
const windowHeaderBytes = 16;

export function windowedKey(groupKey: Buffer, window: Window): Buffer {
  const bytes = Buffer.allocUnsafe(windowHeaderBytes + groupKey.length);
  bytes.writeBigInt64BE(BigInt(window.start), 0);
  bytes.writeBigInt64BE(BigInt(window.end), 8);
  groupKey.copy(bytes, windowHeaderBytes);
  return bytes;
}

export function splitWindowedKey(bytes: Buffer): { readonly groupKey: Buffer; readonly window: Window } {
  if (bytes.length < windowHeaderBytes) throw new RangeError(`a windowed key has at least ${windowHeaderBytes} bytes, this one ${bytes.length}`);
  return {
    window: { start: Number(bytes.readBigInt64BE(0)), end: Number(bytes.readBigInt64BE(8)) },
    groupKey: bytes.subarray(windowHeaderBytes),
  };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** The sink key of a window's result: the group key, '@', then the window as an ISO 8601 interval. */
export function windowOutputKey(groupKey: Buffer, window: Window): Buffer {
  return Buffer.concat([groupKey, Buffer.from(`@${isoTime(window.start)}/${isoTime(window.end)}`, 'utf8')]);
}

export interface WindowedFoldResult<A> {
  /** Per windowed state key (`windowedKey`), in first-seen order. */
  readonly partials: Map<StateKey, A>;
  /** Records the aggregator or the event-time source refused, with why, in input order. */
  readonly refused: readonly { readonly index: number; readonly reason: string }[];
  /** Records with at least one window the watermark had closed, in input order. */
  readonly late: readonly { readonly index: number; readonly eventTime: number; readonly windows: readonly Window[] }[];
  /** The greatest event time among the records that were not refused; noWatermark without any. */
  readonly maxEventTime: number;
}

/**
 * Folds records into one partial accumulator per (group key, open window). A record refused by
 * the aggregator or without a usable event time leaves every accumulator untouched; a late record
 * still counts in its windows that are open, and is reported for those that are closed.
 */
export function foldWindowed<A>(aggregator: KeyedAggregator<A>, windowing: Windowing, source: EventTimeSource, watermark: number, records: readonly AggregationRecord[]): WindowedFoldResult<A> {
  const partials = new Map<StateKey, A>();
  const refused: { index: number; reason: string }[] = [];
  const late: { index: number; eventTime: number; windows: readonly Window[] }[] = [];
  let maxEventTime = noWatermark;
  records.forEach((record, index) => {
    let assignment: WindowAssignment;
    let single: A;
    let group: Buffer;
    let t: number;
    try {
      group = keyOf(aggregator as KeyedAggregator, record);
      t = eventTime(record, source);
      assignment = assignWindows(t, windowing, watermark);
      single = aggregator.add(aggregator.initial(), record);
    } catch (err) {
      refused.push({ index, reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (t > maxEventTime) maxEventTime = t;
    if (assignment.late.length > 0) late.push({ index, eventTime: t, windows: assignment.late });
    assignment.open.forEach((window, i) => {
      const key = stateKey(windowedKey(group, window));
      const before = partials.get(key);
      // Each window gets its own copy: merge may change its left side.
      const mine = i === 0 ? single : (decodeAccumulator(encodeAccumulator(single)) as A);
      partials.set(key, before === undefined ? mine : aggregator.merge(before, mine));
    });
  });
  return { partials, refused, late, maxEventTime };
}
