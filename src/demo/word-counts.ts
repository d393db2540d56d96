/**
 * What the wordcount job must have written, and whether it did. The sink holds one record per
 * word per task (key: the word, value: its count in that task's records), so the job's total for
 * a word is the sum over every committed record: a lost task shows as a shortfall and a task
 * written twice as a surplus, which is how exactly-once is checked end to end.
 */
import type { ConsumedRecord, KafkaClient } from '../runtime/kafka/index.js';

export type WordCounts = ReadonlyMap<string, number>;

/** Words are maximal runs of letters and digits (Unicode), as the wordcount processor defines them. */
const word = /[\p{L}\p{N}]+/gu;

export function countWords(lines: Iterable<string>, options: { readonly lowercase: boolean }): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    for (const [found] of line.matchAll(word)) {
      const key = options.lowercase ? found.toLowerCase() : found;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

export interface SinkTotals {
  readonly counts: Map<string, number>;
  /** Records read from the sink. */
  readonly records: number;
  /** Records that are not `word → positive integer` (there should be none). */
  readonly unreadable: number;
}

/**
 * The running totals a keyed aggregation writes: one record per word that changed in a batch,
 * value `{"count": total so far}`. A word's records all sit in one partition, in commit order, so
 * its last record is its total.
 */
export function latestSinkTotals(records: Iterable<Pick<ConsumedRecord, 'key' | 'value'>>): SinkTotals {
  return readSinkCounts(records, runningCount, (counts, word, count) => counts.set(word, count));
}

function runningCount(text: string): unknown {
  try {
    return (JSON.parse(text) as { count?: unknown }).count;
  } catch {
    return undefined;
  }
}

/** Reads `word → positive integer` records, counting the ones that are not. */
function readSinkCounts(
  records: Iterable<Pick<ConsumedRecord, 'key' | 'value'>>,
  countOf: (value: string) => unknown,
  fold: (counts: Map<string, number>, word: string, count: number) => void,
): SinkTotals {
  const counts = new Map<string, number>();
  let total = 0;
  let unreadable = 0;
  for (const record of records) {
    total++;
    const key = record.key?.toString('utf8');
    const count = countOf(record.value?.toString('utf8') ?? '');
    if (key === undefined || key === '' || typeof count !== 'number' || !Number.isSafeInteger(count) || count <= 0) {
      unreadable++;
      continue;
    }
    fold(counts, key, count);
  }
  return { counts, records: total, unreadable };
}

export interface CountDifference {
  readonly word: string;
  readonly expected: number;
  readonly actual: number;
}

export interface CountComparison {
  readonly matches: boolean;
  /** Distinct words expected. */
  readonly words: number;
  /** Words expected in all (the sum of the expected counts). */
  readonly expectedTotal: number;
  readonly actualTotal: number;
  /** Every word whose count differs, most different first. */
  readonly differences: readonly CountDifference[];
}

function sum(counts: WordCounts): number {
  let total = 0;
  for (const count of counts.values()) total += count;
  return total;
}

export function compareCounts(expected: WordCounts, actual: WordCounts): CountComparison {
  const differences: CountDifference[] = [];
  for (const name of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(name) ?? 0;
    const got = actual.get(name) ?? 0;
    if (want !== got) differences.push({ word: name, expected: want, actual: got });
  }
  differences.sort((a, b) => Math.abs(b.actual - b.expected) - Math.abs(a.actual - a.expected) || a.word.localeCompare(b.word));
  return { matches: differences.length === 0, words: expected.size, expectedTotal: sum(expected), actualTotal: sum(actual), differences };
}

/** One line per difference, at most `limit` of them: what a failed verification prints. */
export function describeDifferences(comparison: CountComparison, limit = 10): string[] {
  const lines = comparison.differences.slice(0, limit).map(({ word: name, expected, actual }) => `"${name}": expected ${expected}, the sink has ${actual} (${actual > expected ? 'doubled output' : 'lost output'})`);
  if (comparison.differences.length > limit) lines.push(`… and ${comparison.differences.length - limit} more words differ`);
  return lines;
}

/** Every committed record of `topic` (read_committed: aborted transactions never show). */
export async function readCommittedTopic(kafka: KafkaClient, topic: string): Promise<ConsumedRecord[]> {
  const reader = await kafka.rangeReader();
  try {
    const records: ConsumedRecord[] = [];
    for (const { partition, low, high } of await kafka.admin.topicOffsets(topic)) {
      if (high > low) records.push(...(await reader.readRange(topic, partition, low, high)));
    }
    return records;
  } finally {
    await reader.close();
  }
}
