/**
 * Keyed aggregation as pure folds: how records become per-key accumulators, how two
 * accumulators of one key merge, and what result a key's accumulator shows. The runtime
 * pre-aggregates each task's records per key (`foldRecords`), routes each key's partial to the
 * one state partition that owns the key, and merges it there into the key's running state
 * (`mergeInto`). The builtin aggregates (count, sum, min, max, avg) are one `KeyedAggregator`;
 * a user module exports another with the same shape (docs/runtime.md).
 *
 * Accumulators must survive JSON (they are written to the repartition and changelog topics), and
 * folds must be deterministic: a retried task must compute the same partials.
 */

import type { aggregateFunctions, FieldPath } from '../../api/v1alpha1/index.js';

/** A record an aggregation folds: the processor's output (or the source record without one). */
export interface AggregationRecord {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp?: number;
}

/**
 * What a module exports to aggregate per key. `initial`, `add` and `merge` must not mutate
 * their arguments' shared parts unexpectedly: the runtime may reuse `initial()`'s result only
 * through `add` and `merge` return values.
 */
export interface KeyedAggregator<A = unknown> {
  /** The group key of a record, as bytes; throw a MalformedRecord (or any error) for a poison record. */
  readonly key?: (record: AggregationRecord) => Buffer | string;
  /** The accumulator of a key no record has reached yet. */
  initial(): A;
  /** Adds one record to a key's accumulator; throw for a record that cannot be aggregated. */
  add(accumulator: A, record: AggregationRecord): A;
  /** Combines two accumulators of the same key (the running state and a batch's partial). */
  merge(left: A, right: A): A;
  /** What the sink shows for the key: any JSON value. */
  result(accumulator: A): unknown;
}

export type AggregateFunction = (typeof aggregateFunctions)[number];

export interface AggregateSpec {
  /** Property name of this aggregate in the output JSON. */
  readonly name: string;
  readonly function: AggregateFunction;
  /** The numeric field; undefined: the whole value read as a number (count takes none). */
  readonly field: FieldPath | undefined;
}

/** A builtin aggregation: group by the record key (groupBy undefined) or a JSON field. */
export interface BuiltinAggregation {
  readonly groupBy: FieldPath | undefined;
  readonly aggregates: readonly AggregateSpec[];
}

/** Why a record cannot be aggregated: handled by the job's poison-record policy. */
export class UnaggregatableRecord extends Error {
  override readonly name = 'UnaggregatableRecord';
}

function parseJson(record: AggregationRecord): unknown {
  if (record.value === null) throw new UnaggregatableRecord('the record has no value');
  try {
    return JSON.parse(record.value.toString('utf8')) as unknown;
  } catch (err) {
    throw new UnaggregatableRecord(`the value is not JSON: ${(err as Error).message}`);
  }
}

function at(value: unknown, path: FieldPath): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current) || !Object.hasOwn(current, segment)) {
      throw new UnaggregatableRecord(`the value has no field ${path.join('.')}`);
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** A finite number, from a JSON number or a numeric string; anything else is refused, never read as zero. */
function numeric(value: unknown, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw new UnaggregatableRecord(`${what} is not a number: ${String(JSON.stringify(value) as string | undefined).slice(0, 64)}`);
  return n;
}

/** The group key of `record` under `groupBy`: the record key, or the JSON field's value as text. */
export function groupKey(record: AggregationRecord, groupBy: FieldPath | undefined, parsed?: unknown): Buffer {
  if (groupBy === undefined) {
    if (record.key === null) throw new UnaggregatableRecord('the record has no key to group by');
    return record.key;
  }
  const value = at(parsed === undefined ? parseJson(record) : parsed, groupBy);
  if (value === null || value === undefined) throw new UnaggregatableRecord(`field ${groupBy.join('.')} is null`);
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value as number | boolean);
  return Buffer.from(text, 'utf8');
}

/**
 * The builtin aggregates' accumulator: one number per slot, in aggregate order (avg takes two
 * slots, sum then count). Plain arrays keep state and partials small in JSON.
 */
export type BuiltinAccumulator = number[];

function slotsOf(fn: AggregateFunction): number {
  return fn === 'avg' ? 2 : 1;
}

/** The aggregator for a builtin aggregation. */
export function builtinAggregator(aggregation: BuiltinAggregation): KeyedAggregator<BuiltinAccumulator> {
  const { groupBy, aggregates } = aggregation;
  const needsJson = groupBy !== undefined || aggregates.some((a) => a.function !== 'count' && a.field !== undefined);
  const initialState: number[] = [];
  for (const a of aggregates) {
    if (a.function === 'min') initialState.push(Number.POSITIVE_INFINITY);
    else if (a.function === 'max') initialState.push(Number.NEGATIVE_INFINITY);
    else for (let i = 0; i < slotsOf(a.function); i++) initialState.push(0);
  }
  const fieldOf = (record: AggregationRecord, parsed: unknown, spec: AggregateSpec): number => {
    if (spec.field === undefined) {
      if (record.value === null) throw new UnaggregatableRecord('the record has no value');
      return numeric(record.value.toString('utf8'), 'the value');
    }
    return numeric(at(parsed, spec.field), `field ${spec.field.join('.')}`);
  };
  return {
    key: (record) => groupKey(record, groupBy),
    initial: () => [...initialState],
    add(accumulator, record) {
      const parsed = needsJson ? parseJson(record) : undefined;
      // Read every field before changing anything: a poison record leaves no trace.
      const values = aggregates.map((spec) => (spec.function === 'count' ? 1 : fieldOf(record, parsed, spec)));
      let slot = 0;
      aggregates.forEach((spec, i) => {
        const v = values[i] ?? 0;
        switch (spec.function) {
          case 'count':
          case 'sum':
            accumulator[slot] = (accumulator[slot] ?? 0) + v;
            break;
          case 'min':
            accumulator[slot] = Math.min(accumulator[slot] ?? Number.POSITIVE_INFINITY, v);
            break;
          case 'max':
            accumulator[slot] = Math.max(accumulator[slot] ?? Number.NEGATIVE_INFINITY, v);
            break;
          case 'avg':
            accumulator[slot] = (accumulator[slot] ?? 0) + v;
            accumulator[slot + 1] = (accumulator[slot + 1] ?? 0) + 1;
            break;
        }
        slot += slotsOf(spec.function);
      });
      return accumulator;
    },
    merge(left, right) {
      let slot = 0;
      for (const spec of aggregates) {
        const l = left[slot] ?? 0;
        const r = right[slot] ?? 0;
        if (spec.function === 'min') left[slot] = Math.min(l, r);
        else if (spec.function === 'max') left[slot] = Math.max(l, r);
        else {
          left[slot] = l + r;
          if (spec.function === 'avg') left[slot + 1] = (left[slot + 1] ?? 0) + (right[slot + 1] ?? 0);
        }
        slot += slotsOf(spec.function);
      }
      return left;
    },
    result(accumulator) {
      const out: Record<string, number | null> = {};
      let slot = 0;
      for (const spec of aggregates) {
        const v = accumulator[slot] ?? 0;
        if (spec.function === 'avg') {
          const n = accumulator[slot + 1] ?? 0;
          out[spec.name] = n === 0 ? null : v / n;
        } else {
          out[spec.name] = Number.isFinite(v) ? v : null;
        }
        slot += slotsOf(spec.function);
      }
      return out;
    },
  };
}

/**
 * JSON cannot hold ±Infinity (the empty min and max): they are written as null and read back
 * by position, so accumulators round-trip exactly.
 */
export function encodeAccumulator(accumulator: unknown): Buffer {
  // The builtin accumulators, finite numbers in an array, need no replacer: JSON.stringify without
  // one writes the same text several times faster (the map and aggregate stages encode every key).
  if (isFiniteNumbers(accumulator)) return Buffer.from(JSON.stringify(accumulator), 'utf8');
  return Buffer.from(JSON.stringify(accumulator, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? (value > 0 ? '+inf' : '-inf') : value)), 'utf8');
}

function infinities(_key: string, value: unknown): unknown {
  return value === '+inf' ? Number.POSITIVE_INFINITY : value === '-inf' ? Number.NEGATIVE_INFINITY : value;
}

export function decodeAccumulator(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  // A reviver costs a call per value: a restore decodes every changelog record, and only an
  // accumulator holding an infinity (written "+inf" or "-inf") needs one.
  return (text.includes('inf"') ? JSON.parse(text, infinities) : JSON.parse(text)) as unknown;
}

function isFiniteNumbers(value: unknown): value is number[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'number' || !Number.isFinite(item)) return false;
  return true;
}

/**
 * A copy of an accumulator that shares nothing with it, as restoring it from the changelog would
 * give (merge may change its left side, and a cached accumulator must stay as committed).
 */
export function copyAccumulator(accumulator: unknown): unknown {
  // Numbers JSON keeps as they are (±Infinity through the replacer; not NaN, not -0) copy as they are.
  if (Array.isArray(accumulator) && accumulator.every((item) => typeof item === 'number' && !Number.isNaN(item) && !Object.is(item, -0))) return (accumulator as number[]).slice();
  return decodeAccumulator(encodeAccumulator(accumulator));
}

/** A key inside the runtime: the key's bytes as a latin1 string (lossless, and cheap as a Map key). */
export type StateKey = string;

export function stateKey(bytes: Buffer): StateKey {
  return bytes.toString('latin1');
}

export function keyBytes(key: StateKey): Buffer {
  return Buffer.from(key, 'latin1');
}

export interface FoldResult<A> {
  /** Per key, in first-seen order: deterministic for the same records. */
  readonly partials: Map<StateKey, A>;
  /** Records the aggregator refused, with why, in input order. */
  readonly refused: readonly { readonly index: number; readonly reason: string }[];
}

/** The group key of a record under `aggregator`: its `key` function, or the record key. */
export function keyOf(aggregator: KeyedAggregator, record: AggregationRecord): Buffer {
  if (aggregator.key === undefined) {
    if (record.key === null) throw new UnaggregatableRecord('the record has no key to group by');
    return record.key;
  }
  const key = aggregator.key(record);
  return typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
}

/**
 * Folds records into one partial accumulator per key. A record the aggregator throws on is
 * refused (a poison record for the caller's policy) and leaves every accumulator untouched.
 */
export function foldRecords<A>(aggregator: KeyedAggregator<A>, records: readonly AggregationRecord[]): FoldResult<A> {
  const partials = new Map<StateKey, A>();
  const refused: { index: number; reason: string }[] = [];
  records.forEach((record, index) => {
    try {
      const key = stateKey(keyOf(aggregator as KeyedAggregator, record));
      const before = partials.get(key);
      // A fresh accumulator per record, merged in: `add` throwing half-way cannot corrupt a partial.
      const single = aggregator.add(aggregator.initial(), record);
      partials.set(key, before === undefined ? single : aggregator.merge(before, single));
    } catch (err) {
      refused.push({ index, reason: err instanceof Error ? err.message : String(err) });
    }
  });
  return { partials, refused };
}
