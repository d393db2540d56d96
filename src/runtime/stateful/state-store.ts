/**
 * A state partition's running state in memory, with a budget. The store counts what it holds
 * (keys and their encoded accumulators, plus a fixed per-entry overhead measured for V8 Maps)
 * and refuses to grow past its budget with SK_STATE_LIMIT naming `spec.aggregation.stateMemory`,
 * so a job with more keys than its executors can hold fails clearly instead of looping through
 * out-of-memory kills.
 */
import { StreamkeeperError } from '../../errors/index.js';
import type { StateKey } from './aggregator.js';

/**
 * Bytes a Map entry costs beyond its key and value text: the hash table slot, the entry object,
 * the accumulator and the string headers (an estimate for V8 on 64-bit platforms, on the high side).
 */
export const entryOverheadBytes = 96;

export interface StateEntry<A> {
  readonly accumulator: A;
  /** The accumulator's encoded size in bytes, as written to the changelog. */
  readonly encodedBytes: number;
}

export class BoundedStateStore<A> {
  private readonly entries = new Map<StateKey, StateEntry<A>>();
  private bytes = 0;

  constructor(
    /** Most bytes the store may hold. */
    readonly budgetBytes: number,
    /** Which spec field sets the budget, for the error. */
    private readonly budgetField = 'spec.aggregation.stateMemory',
  ) {
    if (!Number.isFinite(budgetBytes) || budgetBytes <= 0) throw new RangeError(`a state budget is a positive number of bytes (got ${budgetBytes})`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Estimated bytes held. */
  get usedBytes(): number {
    return this.bytes;
  }

  get(key: StateKey): A | undefined {
    return this.entries.get(key)?.accumulator;
  }

  has(key: StateKey): boolean {
    return this.entries.has(key);
  }

  /** Sets a key's accumulator; SK_STATE_LIMIT (and no change) when that would pass the budget. */
  set(key: StateKey, accumulator: A, encodedBytes: number): void {
    const before = this.entries.get(key);
    const delta = before === undefined ? key.length + encodedBytes + entryOverheadBytes : encodedBytes - before.encodedBytes;
    if (this.bytes + delta > this.budgetBytes) throw this.limitError(before === undefined ? 1 : 0);
    this.entries.set(key, { accumulator, encodedBytes });
    this.bytes += delta;
  }

  /** SK_STATE_LIMIT unless setting every (key, encoded size) would stay within the budget. */
  assertFits(changes: Iterable<readonly [StateKey, number]>): void {
    let bytes = this.bytes;
    let added = 0;
    for (const [key, encodedBytes] of changes) {
      const before = this.entries.get(key);
      bytes += before === undefined ? key.length + encodedBytes + entryOverheadBytes : encodedBytes - before.encodedBytes;
      if (before === undefined) added += 1;
    }
    if (bytes > this.budgetBytes) throw this.limitError(added);
  }

  private limitError(adding: number): StreamkeeperError {
    return new StreamkeeperError(
      'SK_STATE_LIMIT',
      `the aggregation state of one state partition needs more than its budget of ${this.budgetBytes} bytes (${this.entries.size} keys held, ${adding} more to add): raise ${this.budgetField}, and the executors' memory limit with it`,
      { field: this.budgetField },
    );
  }

  delete(key: StateKey): void {
    const before = this.entries.get(key);
    if (before === undefined) return;
    this.entries.delete(key);
    this.bytes -= key.length + before.encodedBytes + entryOverheadBytes;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  keys(): IterableIterator<StateKey> {
    return this.entries.keys();
  }
}
