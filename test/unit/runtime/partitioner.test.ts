import { describe, expect, it } from '@jest/globals';
import { murmur2, sinkPartition } from '../../../src/runtime/partitioner.js';

describe('murmur2', () => {
  // The vectors of Kafka's own UtilsTest.testMurmur2.
  it.each<[string, number]>([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j as Kafka does', (text, expected) => {
    expect(murmur2(Buffer.from(text))).toBe(expected);
  });
});

describe('sinkPartition', () => {
  it('places a keyed record as Kafka\'s default partitioner does', () => {
    expect(sinkPartition(Buffer.from('foobar'), 0, 12)).toBe((-790332482 & 0x7fffffff) % 12);
  });

  it('keeps a record without key with its source partition number', () => {
    expect([0, 1, 2, 3, 4].map((p) => sinkPartition(null, p, 3))).toEqual([0, 1, 2, 0, 1]);
  });

  it('refuses a topic without partitions', () => {
    expect(() => sinkPartition(null, 0, 0)).toThrow(RangeError);
  });
});
