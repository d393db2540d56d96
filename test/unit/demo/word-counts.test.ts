import { describe, expect, it } from '@jest/globals';
import { compareCounts, countWords, describeDifferences, latestSinkTotals } from '../../../src/demo/word-counts.js';
import { sampleLines } from '../../../src/demo/sample-text.js';

describe('word counts', () => {
  it('counts runs of letters and digits, folding case when the job lowercases', () => {
    const lines = ['The café — the Straße, 2026!', 'naïve v1alpha1 THE'];
    expect(Object.fromEntries(countWords(lines, { lowercase: true }))).toEqual({ the: 3, café: 1, straße: 1, 2026: 1, naïve: 1, v1alpha1: 1 });
    expect(countWords(lines, { lowercase: false }).get('The')).toBe(1);
  });

  it('matches only when every word has exactly its expected count', () => {
    const expected = new Map([['fox', 5], ['dog', 1]]);
    expect(compareCounts(expected, new Map([['dog', 1], ['fox', 5]]))).toEqual({ matches: true, words: 2, expectedTotal: 6, actualTotal: 6, differences: [] });
    const doubled = compareCounts(expected, new Map([['fox', 10], ['dog', 1], ['cat', 1]]));
    expect(doubled.matches).toBe(false);
    expect(doubled.differences).toEqual([
      { word: 'fox', expected: 5, actual: 10 },
      { word: 'cat', expected: 0, actual: 1 },
    ]);
    expect(describeDifferences(doubled, 1)).toEqual(['"fox": expected 5, the sink has 10 (doubled output)', '… and 1 more words differ']);
    expect(describeDifferences(compareCounts(expected, new Map([['fox', 5]])))).toEqual(['"dog": expected 1, the sink has 0 (lost output)']);
  });
});

describe('sample text', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(sampleLines(50, 7)).toEqual(sampleLines(50, 7));
    expect(sampleLines(50, 7)).not.toEqual(sampleLines(50, 8));
    expect(sampleLines(3)).toHaveLength(3);
  });

  it('has lines of 3 to 12 words', () => {
    for (const line of sampleLines(500)) {
      const words = line.split(' ').filter((part) => /[\p{L}\p{N}]/u.test(part)).length;
      expect(words).toBeGreaterThanOrEqual(3);
      expect(words).toBeLessThanOrEqual(12);
    }
  });
});

describe('running totals in the sink', () => {
  const record = (key: string | null, value: string) => ({ key: key === null ? null : Buffer.from(key), value: Buffer.from(value) });

  it('takes each word\'s last total and counts what is not word → {"count": n}', () => {
    const totals = latestSinkTotals([record('fox', '{"count":2}'), record('dog', '{"count":1}'), record('fox', '{"count":5}'), record('cat', '3'), record(null, '{"count":1}')]);
    expect(totals.counts).toEqual(new Map([['fox', 5], ['dog', 1]]));
    expect(totals).toMatchObject({ records: 5, unreadable: 2 });
  });
});
