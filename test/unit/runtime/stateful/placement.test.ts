import { describe, expect, it } from '@jest/globals';
import { newTask } from '../../../../src/coordination/task-state.js';
import { heldBy, observePlacements, placeStatePartitions, type ObservedPlacement, type StatePlacement } from '../../../../src/runtime/stateful/placement.js';

const placements = (entries: [number, string, string[]][]): Map<number, StatePlacement> => new Map(entries.map(([p, owner, standbys]) => [p, { owner, standbys }]));
const table = (placed: ReadonlyMap<number, StatePlacement>): [number, string, readonly string[]][] => [...placed].map(([p, { owner, standbys }]) => [p, owner, standbys]);

describe('where state partitions run and keep standby copies', () => {
  it('spreads new partitions over the executors, each with standbys on the others holding the fewest copies', () => {
    expect(table(placeStatePartitions([0, 1, 2, 3], new Map(), ['a', 'b', 'c'], 1))).toEqual([
      [0, 'a', ['b']],
      [1, 'b', ['c']],
      [2, 'c', ['a']],
      [3, 'a', ['b']],
    ]);
  });

  it('keeps each partition where it ran and its standbys where they are', () => {
    const before = placements([[0, 'b', ['c']], [1, 'b', ['a']], [2, 'c', ['a']]]);
    expect(placeStatePartitions([0, 1, 2], before, ['a', 'b', 'c'], 1)).toEqual(before);
  });

  it('moves a dead owner\'s partitions to their standbys and gives them new standbys', () => {
    const before = placements([[0, 'a', ['b']], [1, 'b', ['c']], [2, 'c', ['a']], [3, 'a', ['c']]]);
    expect(table(placeStatePartitions([0, 1, 2, 3], before, ['b', 'c', 'd'], 1))).toEqual([
      [0, 'b', ['d']],
      [1, 'b', ['c']],
      [2, 'c', ['d']],
      [3, 'c', ['b']],
    ]);
  });

  it('gives a new executor standby copies, never a live owner\'s partition', () => {
    const before = placements([[0, 'a', ['gone']], [1, 'b', ['a']]]);
    expect(table(placeStatePartitions([0, 1], before, ['a', 'b', 'new'], 1))).toEqual([
      [0, 'a', ['new']],
      [1, 'b', ['a']],
    ]);
  });

  it('falls back to the least-loaded owner when no standby lives, and keeps no standby copies when asked for none or alone', () => {
    expect(table(placeStatePartitions([0], placements([[0, 'x', ['y']]]), ['a', 'b'], 0))).toEqual([[0, 'a', []]]);
    expect(table(placeStatePartitions([0], new Map(), ['a'], 2))).toEqual([[0, 'a', []]]);
    expect(table(placeStatePartitions([0], new Map(), ['a', 'b', 'c'], 2))).toEqual([[0, 'a', ['b', 'c']]]);
    expect(placeStatePartitions([0], new Map(), [], 1)).toEqual(new Map());
  });

  it('counts partitions placed earlier that this batch does not run', () => {
    const before = placements([[0, 'a', ['b']], [1, 'a', ['b']]]);
    expect(table(placeStatePartitions([2], before, ['a', 'b'], 1))).toEqual([[2, 'b', ['a']]]);
  });

  it('learns placements from the newest aggregate task of each partition and tells each executor what it holds', () => {
    const range = (partition: number, topic = 'rep'): { topic: string; partition: number; from: string; to: string } => ({ topic, partition, from: '0', to: '1' });
    const seen = new Map<number, ObservedPlacement>();
    observePlacements([newTask('0000000002-00000', '0000000002', { ranges: [range(0)] }, 'b', ['c']), newTask('0000000001-00000', '0000000001', { ranges: [range(0)] }, 'a', ['b']), newTask('0000000002-00001', '0000000002', { ranges: [range(1)] }, 'c', ['c', 'a']), newTask('0000000002-00002', '0000000002', { ranges: [range(0, 'in')] }, 'a')], 'rep', seen);
    expect([...seen]).toEqual([
      [0, { batch: '0000000002', owner: 'b', standbys: ['c'] }],
      [1, { batch: '0000000002', owner: 'c', standbys: ['a'] }],
    ]);
    observePlacements([newTask('0000000001-00000', '0000000001', { ranges: [range(0)] }, 'a')], 'rep', seen);
    expect(seen.get(0)?.owner).toBe('b');
    expect(heldBy(seen, 'c')).toEqual({ owned: [1], standby: [0] });
    expect(heldBy(seen, 'a')).toEqual({ owned: [], standby: [1] });
  });
});
