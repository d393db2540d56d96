import { describe, expect, it } from '@jest/globals';
import { entryOverheadBytes, BoundedStateStore } from '../../../../src/runtime/stateful/state-store.js';

describe('BoundedStateStore', () => {
  it('counts what it holds and frees it on delete', () => {
    const store = new BoundedStateStore<number[]>(10_000);
    store.set('a', [1], 3);
    store.set('bb', [2], 3);
    expect(store.usedBytes).toBe(1 + 3 + entryOverheadBytes + 2 + 3 + entryOverheadBytes);
    store.set('a', [10], 4);
    expect(store.usedBytes).toBe(1 + 4 + entryOverheadBytes + 2 + 3 + entryOverheadBytes);
    store.delete('a');
    store.delete('missing');
    expect(store.usedBytes).toBe(2 + 3 + entryOverheadBytes);
    expect(store.get('bb')).toEqual([2]);
    expect(store.size).toBe(1);
  });

  it('holds 1,000,000 distinct keys within a budget sized for them', () => {
    const store = new BoundedStateStore<number[]>(256 * 1024 * 1024);
    for (let i = 0; i < 1_000_000; i++) store.set(`word-${i}`, [i], 8);
    expect(store.size).toBe(1_000_000);
    expect(store.usedBytes).toBeLessThanOrEqual(store.budgetBytes);
  });

  it('refuses the key past its budget with SK_STATE_LIMIT naming the field, unchanged', () => {
    const store = new BoundedStateStore<number[]>(64 * 1024 * 1024);
    let refusedAt: number | undefined;
    let error: unknown;
    for (let i = 0; i < 1_000_000; i++) {
      try {
        store.set(`word-${i}`, [i], 8);
      } catch (err) {
        refusedAt = i;
        error = err;
        break;
      }
    }
    expect(error).toEqual(expect.objectContaining({ code: 'SK_STATE_LIMIT', field: 'spec.aggregation.stateMemory' }));
    expect((error as Error).message).toContain(`budget of ${64 * 1024 * 1024} bytes`);
    expect(refusedAt).toBeGreaterThan(100_000);
    expect(store.size).toBe(refusedAt);
    expect(store.usedBytes).toBeLessThanOrEqual(store.budgetBytes);
  });
});
