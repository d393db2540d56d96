import { describe, expect, it } from '@jest/globals';
import { selectCommitted, type AbortedTransaction, type FetchedRecord } from '../../../../src/runtime/kafka/committed-records.js';

/**
 * A log written as a compact string, one entry per offset from `base`:
 *   `p`  a plain (non-transactional) record, its own batch
 *   `A`…`Z` a transactional record of producer A…Z, its own batch
 *   `a`…`z` an ABORT marker of that producer, `c` + letter a COMMIT marker (e.g. `cA`)
 * Entries are separated by spaces.
 */
function log(entries: string, base = 0): FetchedRecord<string>[] {
  return entries.split(' ').map((entry, i) => {
    const offset = base + i;
    const batch = (producerId: string, inTransaction: boolean, isControlBatch: boolean) => ({ baseOffset: offset, lastOffsetDelta: 0, producerId, inTransaction, isControlBatch });
    if (entry === 'p') return { offset, batch: batch('-1', false, false), isAbortMarker: false, payload: `${entry}@${offset}` };
    if (entry.startsWith('c')) return { offset, batch: batch(entry.slice(1), true, true), isAbortMarker: false, payload: `${entry}@${offset}` };
    if (entry === entry.toLowerCase()) return { offset, batch: batch(entry.toUpperCase(), true, true), isAbortMarker: true, payload: `${entry}@${offset}` };
    return { offset, batch: batch(entry, true, false), isAbortMarker: false, payload: `${entry}@${offset}` };
  });
}

function aborted(...entries: [string, number][]): AbortedTransaction[] {
  return entries.map(([producerId, firstOffset]) => ({ producerId, firstOffset }));
}

describe('selectCommitted', () => {
  it.each<[string, string, number, AbortedTransaction[], string[], number]>([
    ['keeps plain records', 'p p p', 0, [], ['p@0', 'p@1', 'p@2'], 3],
    ['drops commit markers and keeps committed records', 'A A cA p', 0, [], ['A@0', 'A@1', 'p@3'], 4],
    ['drops records of an aborted transaction and its marker', 'p A A a p', 0, aborted(['A', 1]), ['p@0', 'p@4'], 5],
    ['keeps a producer’s later committed transaction after its aborted one', 'A a A cA', 0, aborted(['A', 0]), ['A@2'], 4],
    ['drops two interleaved aborted transactions that began before the fetch offset', 'A B C A B C a b cC', 0, aborted(['A', 0], ['B', 1]), ['C@2', 'C@5'], 9],
    ['drops a second aborted producer’s record even when it comes first after the fetch offset', 'A B C A B C a b cC', 4, aborted(['A', 0], ['B', 1]), ['C@5'], 9],
    ['accepts the aborted list in any order', 'A B p a b', 0, aborted(['B', 1], ['A', 0]), ['p@2'], 5],
    ['passes over records before the fetch offset', 'p p p p', 2, [], ['p@2', 'p@3'], 4],
    ['advances past a range holding only markers and aborted records', 'A a cB', 0, aborted(['A', 0]), [], 3],
    ['does not advance when nothing was fetched', '', 7, [], [], 7],
  ])('%s', (_name, entries, fetchOffset, abortedList, expected, nextOffset) => {
    const records = entries === '' ? [] : log(entries);
    const selection = selectCommitted(records, abortedList, fetchOffset);
    expect(selection.records.map((r) => r.payload)).toEqual(expected);
    expect(selection.nextOffset).toBe(nextOffset);
  });

  it('advances to the end of the last batch, past offsets compaction removed from it', () => {
    const batch = { baseOffset: 10, lastOffsetDelta: 9, producerId: '-1', inTransaction: false, isControlBatch: false };
    const selection = selectCommitted([{ offset: 12, batch, isAbortMarker: false, payload: 'x' }], [], 10);
    expect(selection.records.map((r) => r.offset)).toEqual([12]);
    expect(selection.nextOffset).toBe(20);
  });

  it('keeps an idempotent producer’s non-transactional records even if it had aborted transactions', () => {
    const records: FetchedRecord<string>[] = [
      { offset: 0, batch: { baseOffset: 0, lastOffsetDelta: 0, producerId: 'A', inTransaction: true, isControlBatch: false }, isAbortMarker: false, payload: 'aborted' },
      { offset: 1, batch: { baseOffset: 1, lastOffsetDelta: 0, producerId: 'A', inTransaction: false, isControlBatch: false }, isAbortMarker: false, payload: 'plain' },
    ];
    expect(selectCommitted(records, aborted(['A', 0]), 0).records.map((r) => r.payload)).toEqual(['plain']);
  });
});
