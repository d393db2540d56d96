import { describe, expect, it } from '@jest/globals';
import { driverProgress } from '../../../src/operator/coordination-adapter.js';

const node = (record: unknown, modifiedAt = Date.parse('2026-01-02T03:04:05Z')): { record: unknown; modifiedAt: number } => ({ record, modifiedAt });

describe('driver progress as the operator reads it from the offsets node', () => {
  it('takes the last committed batch, its commit time and the total lag from the driver report', () => {
    expect(driverProgress(node({ batch: '0000000042', partitions: [], progress: { committedAt: '2026-05-06T07:08:09.123Z', totalLag: 1500 } }))).toEqual({
      lastCommittedBatch: { id: 42, committedAt: '2026-05-06T07:08:09Z' },
      totalLag: 1500,
    });
  });

  it('falls back to the node mtime when the driver reported no commit time', () => {
    expect(driverProgress(node({ batch: '0000000007', partitions: [] }))).toEqual({ lastCommittedBatch: { id: 7, committedAt: '2026-01-02T03:04:05Z' }, totalLag: undefined });
  });

  it('reports lag even before the first batch commits', () => {
    expect(driverProgress(node({ batch: null, partitions: [], progress: { totalLag: 12 } }))).toEqual({ lastCommittedBatch: undefined, totalLag: 12 });
  });

  it.each([
    ['no node', null],
    ['a JSON null', node(null)],
    ['a JSON string', node('offsets')],
  ])('reports nothing for %s', (_what, input) => {
    expect(driverProgress(input)).toEqual({ lastCommittedBatch: undefined, totalLag: undefined });
  });

  it('ignores a lag that is not a non-negative integer', () => {
    expect(driverProgress(node({ batch: null, partitions: [], progress: { totalLag: -3 } })).totalLag).toBeUndefined();
    expect(driverProgress(node({ batch: null, partitions: [], progress: { totalLag: 'many' } })).totalLag).toBeUndefined();
  });

  it('sums a stateful job\'s state partitions and takes its last restore, leaving out entries it cannot read', () => {
    const state = {
      partitions: { 0: { keys: 1200, bytes: 150_000 }, 1: { keys: 800, bytes: 100_000 }, 2: { keys: -1, bytes: 5 }, 3: 'big' },
      lastRestore: { partition: 1, records: 4000, millis: 349.6, full: false, at: '2026-05-06T07:08:09.123Z' },
    };
    expect(driverProgress(node({ batch: '0000000003', partitions: [], progress: { totalLag: 0, state } })).state).toEqual({
      partitionsReported: 2,
      keys: 2000,
      bytes: 250_000,
      lastRestore: { partition: 1, kind: 'incremental', records: 4000, durationMs: 350, at: '2026-05-06T07:08:09Z' },
    });
    expect(driverProgress(node({ batch: '0000000003', partitions: [], progress: { state: { partitions: {}, lastRestore: { partition: 'x' } } } })).state).toBeUndefined();
    expect(driverProgress(node({ batch: '0000000003', partitions: [], progress: {} })).state).toBeUndefined();
  });

  it('takes a windowed job\'s watermark beside the lag, in whole seconds, and ignores one it cannot read', () => {
    expect(driverProgress(node({ batch: '0000000003', partitions: [], progress: { committedAt: '2026-05-06T07:08:09.123Z', totalLag: 0, watermark: '2026-05-06T07:07:30.999Z' } }))).toEqual({
      lastCommittedBatch: { id: 3, committedAt: '2026-05-06T07:08:09Z' },
      totalLag: 0,
      watermark: '2026-05-06T07:07:30Z',
    });
    expect(driverProgress(node({ batch: null, partitions: [], progress: { watermark: 'soon' } }))).toEqual({ lastCommittedBatch: undefined, totalLag: undefined });
  });
});
