/**
 * The two stages of a job with an aggregation, as decisions over records (no I/O):
 *
 * - map stage (a source partition's task): the processor's output is folded into one partial
 *   accumulator per key, and each partial is addressed to the repartition partition that owns
 *   its key. Combining before the shuffle keeps the repartition traffic proportional to the
 *   distinct keys of a task, not to its records.
 * - aggregate stage (a repartition partition's task): the partials are merged into the state
 *   partition's running state, giving one sink record and one changelog record per changed key.
 *   The cached state is not touched: the updates apply only once their transaction committed.
 */
import { StreamkeeperError } from '../../errors/index.js';
import type { OutgoingRecord } from '../kafka/index.js';
import type { InputRecord } from '../processors/api.js';
import type { PoisonRecord, ProcessingResult } from '../processors/processor-runner.js';
import type { PoisonRecordPolicy } from '../../coordination/config-mirror.js';
import { copyAccumulator, decodeAccumulator, encodeAccumulator, foldRecords, keyBytes, stateKey, type AggregationRecord, type KeyedAggregator, type StateKey } from './aggregator.js';
import { statePartition } from './state-partitioning.js';
import type { BoundedStateStore } from './state-store.js';
import { foldWindowed, isClosed, noWatermark, splitWindowedKey, windowOutputKey, type EventTimeSource, type Window, type WindowedFoldResult, type Windowing } from './windows.js';

export interface LateRecord {
  /** The source record, when the policy needs it (dead letters); drop counts outputs. */
  readonly record?: InputRecord;
  readonly eventTime: number;
  /** The windows the watermark had closed. */
  readonly windows: readonly Window[];
}

export interface PreAggregated {
  /** A new map, the caller's: a task combines the partials of its ranges into the first one's. */
  readonly partials: Map<StateKey, unknown>;
  /** Records the processor or the aggregation refused, in offset order. */
  readonly poison: readonly PoisonRecord[];
  /** Windowed: outputs (or, with `lateToDeadLetter`, source records) behind the watermark for some window. */
  readonly late: readonly LateRecord[];
  /** Windowed: the greatest event time folded; noWatermark without one. */
  readonly maxEventTime: number;
}

/** How the map stage of a windowed aggregation folds: the batch's watermark is recorded with its plan. */
export interface MapWindowing {
  readonly windowing: Windowing;
  readonly source: EventTimeSource;
  readonly watermark: number;
  /** Late records go to the dead-letter topic, so each must be traced to its source record. */
  readonly lateToDeadLetter: boolean;
}

function poisonError(record: InputRecord, reason: string): StreamkeeperError {
  return new StreamkeeperError('SK_POISON_RECORD', `record ${record.topic}/${record.partition}@${record.offset}: ${reason} (failurePolicy.poisonRecords: fail)`);
}

/**
 * Runs the processor (through `run`, which applies the poison-record policy to what the
 * processor rejects) and folds its output per key (and window). An output the aggregation
 * refuses carries no link to the record it came from, so the records are then run one at a time
 * to find exactly those whose output cannot be aggregated: they are poison records too, never
 * counted as zero. Late records going to the dead-letter topic are traced the same way.
 */
export async function preAggregate(aggregator: KeyedAggregator, records: readonly InputRecord[], run: (records: readonly InputRecord[]) => Promise<ProcessingResult>, policy: PoisonRecordPolicy, windowed?: MapWindowing): Promise<PreAggregated> {
  const fold = (outputs: readonly AggregationRecord[]): WindowedFoldResult<unknown> =>
    windowed === undefined ? { ...foldRecords(aggregator, outputs), late: [], maxEventTime: noWatermark } : foldWindowed(aggregator, windowed.windowing, windowed.source, windowed.watermark, outputs);
  const whole = await run(records);
  const folded = fold(whole.outputs);
  if (folded.refused.length === 0 && (folded.late.length === 0 || windowed?.lateToDeadLetter !== true)) {
    return { partials: folded.partials, poison: whole.poison, late: folded.late.map(({ eventTime, windows }) => ({ eventTime, windows })), maxEventTime: folded.maxEventTime };
  }
  const alreadyPoison = new Set(whole.poison.map((p) => p.record));
  const poison: PoisonRecord[] = [...whole.poison];
  const late: LateRecord[] = [];
  const partials = new Map<StateKey, unknown>();
  let maxEventTime = noWatermark;
  for (const record of records) {
    if (alreadyPoison.has(record)) continue;
    const single = await run([record]);
    const one = fold(single.outputs);
    const refusal = one.refused[0];
    if (refusal !== undefined) {
      if (policy === 'fail') throw poisonError(record, refusal.reason);
      poison.push({ record, error: `cannot aggregate: ${refusal.reason}` });
      continue;
    }
    maxEventTime = Math.max(maxEventTime, one.maxEventTime);
    const first = one.late[0];
    if (first !== undefined) late.push({ record, eventTime: first.eventTime, windows: one.late.flatMap((l) => l.windows) });
    for (const [key, partial] of one.partials) {
      const before = partials.get(key);
      partials.set(key, before === undefined ? partial : aggregator.merge(before, partial));
    }
  }
  poison.sort((a, b) => a.record.offset - b.record.offset);
  return { partials, poison, late, maxEventTime };
}

/** The partials as repartition records, by repartition partition. */
export function repartitionRecords(partials: ReadonlyMap<StateKey, unknown>, statePartitions: number): Map<number, OutgoingRecord[]> {
  const byPartition = new Map<number, OutgoingRecord[]>();
  for (const [key, partial] of partials) {
    const bytes = keyBytes(key);
    const partition = statePartition(bytes, statePartitions);
    let list = byPartition.get(partition);
    if (list === undefined) {
      list = [];
      byPartition.set(partition, list);
    }
    list.push({ key: bytes, value: encodeAccumulator(partial) });
  }
  return byPartition;
}

/** A result that JSON cannot express (undefined, a function) shows as null. */
function resultBytes(result: unknown): Buffer {
  const text = JSON.stringify(result) as string | undefined;
  return Buffer.from(text ?? 'null', 'utf8');
}

export interface StateUpdate {
  readonly key: StateKey;
  readonly accumulator: unknown;
  readonly encoded: Buffer;
}

export interface Aggregated {
  /** One per changed key, in first-seen order. */
  readonly updates: readonly StateUpdate[];
  /** Sink records: key = the group key, value = JSON of the aggregator's result. */
  readonly outputs: readonly OutgoingRecord[];
  /** Changelog records for the state partition. */
  readonly changelog: readonly OutgoingRecord[];
}

/**
 * Merges repartition records (partials) into a copy of the state's accumulators. A partial the
 * runtime cannot read was not written by this job's map stage: that fails the task (it is not
 * the user's data, so no poison policy applies).
 */
export function aggregate(aggregator: KeyedAggregator, store: BoundedStateStore<unknown>, records: readonly PartialRecord[]): Aggregated {
  const merged = mergePartials(aggregator, store, records);
  const updates: StateUpdate[] = [];
  const outputs: OutgoingRecord[] = [];
  const changelog: OutgoingRecord[] = [];
  for (const [key, accumulator] of merged) {
    const bytes = keyBytes(key);
    const encoded = encodeAccumulator(accumulator);
    updates.push({ key, accumulator, encoded });
    outputs.push({ key: bytes, value: resultBytes(aggregator.result(accumulator)) });
    changelog.push({ key: bytes, value: encoded });
  }
  store.assertFits(updates.map((u) => [u.key, u.encoded.length] as const));
  return { updates, outputs, changelog };
}

type PartialRecord = { readonly key: Buffer | null; readonly value: Buffer | null; readonly offset: number };

/** The keys the partials change, each merged into a copy of its committed accumulator. */
function mergePartials(aggregator: KeyedAggregator, store: BoundedStateStore<unknown>, records: readonly PartialRecord[]): Map<StateKey, unknown> {
  const merged = new Map<StateKey, unknown>();
  for (const record of records) {
    if (record.key === null || record.value === null) throw new StreamkeeperError('SK_PROCESSOR_ERROR', `repartition record @${record.offset} has no key or no value; it was not written by this job`);
    const key = stateKey(record.key);
    let partial: unknown;
    try {
      partial = decodeAccumulator(record.value);
    } catch (err) {
      throw new StreamkeeperError('SK_PROCESSOR_ERROR', `repartition record @${record.offset} is not a partial accumulator: ${(err as Error).message}`, { cause: err });
    }
    let base = merged.get(key);
    if (base === undefined) {
      const committed = store.get(key);
      // A deep copy: merge may change its left side, and the cached state must stay as committed.
      base = committed === undefined ? aggregator.initial() : copyAccumulator(committed);
    }
    merged.set(key, aggregator.merge(base, partial));
  }
  return merged;
}

export interface WindowedAggregated extends Aggregated {
  /** Windows the watermark closed in this task: their state goes (a changelog tombstone each). */
  readonly closed: readonly StateKey[];
}

/**
 * The aggregate stage of a windowed aggregation. State keys are windowed keys (group key and
 * window). Windows the partials change and that are still open are kept; with emit `update` each
 * is written to the sink. Every window the batch's watermark closed — changed now or held from
 * before — leaves the state with a tombstone; with emit `final` that is when it is written to the
 * sink, once. So the state holds only open windows, however long the job runs.
 */
export function aggregateWindows(aggregator: KeyedAggregator, store: BoundedStateStore<unknown>, records: readonly PartialRecord[], emit: 'update' | 'final', watermark: number): WindowedAggregated {
  const merged = mergePartials(aggregator, store, records);
  const updates: StateUpdate[] = [];
  const outputs: OutgoingRecord[] = [];
  const changelog: OutgoingRecord[] = [];
  const closed: StateKey[] = [];
  const output = (key: StateKey, accumulator: unknown): void => {
    const { groupKey, window } = splitWindowedKey(keyBytes(key));
    outputs.push({ key: windowOutputKey(groupKey, window), value: resultBytes(aggregator.result(accumulator)) });
  };
  const close = (key: StateKey, accumulator: unknown, changed: boolean): void => {
    // A window changed in its closing batch was still open when its records arrived: its last value is written in both modes.
    if (emit === 'final' || changed) output(key, accumulator);
    closed.push(key);
    changelog.push({ key: keyBytes(key), value: null });
  };
  for (const [key, accumulator] of merged) {
    if (isClosed(splitWindowedKey(keyBytes(key)).window, watermark)) {
      close(key, accumulator, true);
      continue;
    }
    const encoded = encodeAccumulator(accumulator);
    updates.push({ key, accumulator, encoded });
    if (emit === 'update') output(key, accumulator);
    changelog.push({ key: keyBytes(key), value: encoded });
  }
  for (const key of store.keys()) {
    if (merged.has(key)) continue;
    if (isClosed(splitWindowedKey(keyBytes(key)).window, watermark)) close(key, store.get(key), false);
  }
  store.assertFits(updates.map((u) => [u.key, u.encoded.length] as const));
  return { updates, outputs, changelog, closed };
}
