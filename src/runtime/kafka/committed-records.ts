/**
 * Which fetched records a read_committed reader may see, and where its next fetch starts. This is
 * the decision Kafka's Java consumer makes from a fetch response (aborted-transaction list plus
 * control batches); it lives here as a pure function because kafkajs's own filter activates at
 * most one aborted transaction per record, which lets records of a second, interleaved aborted
 * transaction through.
 */

/** The record batch a fetched record came from, as the broker wrote it. */
export interface FetchedBatch {
  readonly baseOffset: number;
  readonly lastOffsetDelta: number;
  /** Int64 as a decimal string; -1 when the producer was not idempotent. */
  readonly producerId: string;
  readonly inTransaction: boolean;
  readonly isControlBatch: boolean;
}

export interface FetchedRecord<P> {
  readonly offset: number;
  readonly batch: FetchedBatch;
  /** For records of a control batch: true for an ABORT marker, false for a COMMIT marker. */
  readonly isAbortMarker: boolean;
  readonly payload: P;
}

/** From the fetch response: a transaction of `producerId` that began at `firstOffset` was aborted. */
export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: number;
}

export interface CommittedSelection<P> {
  /** Data records at or after the fetch offset that belong to no aborted transaction, in offset order. */
  readonly records: FetchedRecord<P>[];
  /** Where the next fetch starts: just past the last batch seen, or the fetch offset when nothing was. */
  readonly nextOffset: number;
}

/**
 * `records` must be in log order, as the broker returns them. Records before `fetchOffset` (the
 * head of the first batch) are passed over: the broker returns whole batches.
 */
export function selectCommitted<P>(records: readonly FetchedRecord<P>[], aborted: readonly AbortedTransaction[], fetchOffset: number): CommittedSelection<P> {
  const pendingAborts = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  let nextAbort = 0;
  const abortingProducers = new Set<string>();
  const selected: FetchedRecord<P>[] = [];
  let nextOffset = fetchOffset;

  for (const record of records) {
    const { batch } = record;
    nextOffset = Math.max(nextOffset, batch.baseOffset + batch.lastOffsetDelta + 1);
    if (record.offset < fetchOffset) continue;

    // Every aborted transaction that has begun by this offset is in force until its marker.
    for (let pending = pendingAborts[nextAbort]; pending !== undefined && pending.firstOffset <= record.offset; pending = pendingAborts[++nextAbort]) {
      abortingProducers.add(pending.producerId);
    }

    if (batch.isControlBatch) {
      if (record.isAbortMarker) abortingProducers.delete(batch.producerId);
      continue;
    }
    if (batch.inTransaction && abortingProducers.has(batch.producerId)) continue;
    selected.push(record);
  }
  return { records: selected, nextOffset };
}
