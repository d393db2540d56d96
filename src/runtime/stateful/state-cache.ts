/**
 * The state partitions an executor holds in memory, each restored from its changelog partition
 * and kept between tasks. Before a task uses a cached partition it reads whatever the changelog
 * gained since (another executor may have run the partition meanwhile), so a cached copy is never
 * trusted blindly; a partition whose transaction failed is dropped and restored in full next time.
 * All partitions together stay within the job's `stateMemory`: least recently used ones are
 * dropped to make room (their state is in the changelog), and one that alone needs more fails
 * with SK_STATE_LIMIT.
 */
import type { PartitionWatermarks, RangeReader } from '../kafka/index.js';
import { decodeAccumulator, stateKey } from './aggregator.js';
import { BoundedStateStore } from './state-store.js';

/** One state partition's state and the changelog offset it reflects. */
export interface CachedPartition {
  readonly store: BoundedStateStore<unknown>;
  /** The next changelog offset not applied to the store. */
  position: number;
}

export interface RestoreReport {
  readonly partition: number;
  /** Changelog records read. */
  readonly records: number;
  /** Full: from the start of the log; otherwise only what was added since the cached position. */
  readonly full: boolean;
  readonly keys: number;
  readonly bytes: number;
  readonly millis: number;
}

/**
 * Offsets read per request while restoring: bounds the memory a restore takes on top of the state
 * (~50,000 small records, some MiB). Each request starts a new fetch, so fewer, larger ones make a
 * full restore faster.
 */
const restoreChunkOffsets = 50_000;

export class StateCache {
  private readonly partitions = new Map<number, CachedPartition>();

  constructor(
    private readonly budgetBytes: () => number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * The partition's state as committed in the changelog now. Call only while holding the
   * partition's transactional producer (opening it settled any pending transaction), so the
   * changelog's last stable offset is final.
   */
  async restore(partition: number, changelog: string, watermarksOf: (topic: string) => Promise<readonly PartitionWatermarks[]>, reader: RangeReader, readTimeoutMs?: number): Promise<{ state: CachedPartition; report: RestoreReport }> {
    const started = this.now();
    const watermarks = (await watermarksOf(changelog)).find((w) => w.partition === partition);
    const low = watermarks?.low ?? 0;
    const high = watermarks?.high ?? 0;
    let state = this.partitions.get(partition);
    const full = state === undefined || state.position < low || state.position > high;
    if (state === undefined || full) {
      this.partitions.delete(partition);
      state = { store: new BoundedStateStore<unknown>(this.budgetBytes()), position: low };
    }
    // Most recently used last: makeRoom drops from the front.
    this.partitions.delete(partition);
    this.makeRoom(partition, state.store.usedBytes);
    this.partitions.set(partition, state);
    let records = 0;
    try {
      for (let from = state.position; from < high; from += restoreChunkOffsets) {
        const until = Math.min(high, from + restoreChunkOffsets);
        const chunk = await reader.readRange(changelog, partition, from, until, readTimeoutMs === undefined ? {} : { timeoutMs: readTimeoutMs });
        for (const record of chunk) {
          if (record.key === null) continue;
          const key = stateKey(record.key);
          // A null value is a tombstone: the key has no state.
          if (record.value === null) state.store.delete(key);
          else state.store.set(key, decodeAccumulator(record.value), record.value.length);
        }
        records += chunk.length;
        state.position = until;
        this.makeRoom(partition, 0);
      }
    } catch (err) {
      this.drop(partition);
      throw err;
    }
    return { state, report: { partition, records, full, keys: state.store.size, bytes: state.store.usedBytes, millis: this.now() - started } };
  }

  /**
   * The cached partition, when it is still `expected` (not dropped or restored anew since), marked
   * most recently used; nothing is read. For a copy the caller knows to be current without asking
   * the changelog (see TaskRunner: its last commit was made by the producer it holds now).
   */
  reuse(partition: number, expected: CachedPartition): CachedPartition | undefined {
    const state = this.partitions.get(partition);
    if (state !== expected) return undefined;
    this.partitions.delete(partition);
    this.makeRoom(partition, state.store.usedBytes);
    this.partitions.set(partition, state);
    return state;
  }

  /** Forgets a partition (its transaction failed, or it moved away): the next use restores it in full. */
  drop(partition: number): void {
    this.partitions.get(partition)?.store.clear();
    this.partitions.delete(partition);
  }

  /** The next changelog offset the cached copy of `partition` has not applied; undefined: not held. */
  positionOf(partition: number): number | undefined {
    return this.partitions.get(partition)?.position;
  }

  get heldPartitions(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  get usedBytes(): number {
    let total = 0;
    for (const { store } of this.partitions.values()) total += store.usedBytes;
    return total;
  }

  /** Drops least recently used partitions other than `keep` until `extra` more bytes fit in the budget. */
  private makeRoom(keep: number, extra: number): void {
    const budget = this.budgetBytes();
    for (const partition of [...this.partitions.keys()]) {
      if (this.usedBytes + extra <= budget) return;
      if (partition !== keep) this.drop(partition);
    }
  }
}
