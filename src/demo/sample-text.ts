/**
 * The text the demo feeds the wordcount job: generated from a fixed seed, so every run produces
 * the same lines and a failed verification can be replayed. Mixed case, punctuation and non-ASCII
 * letters exercise the word rules, not just the plumbing.
 */
import { seededRandom } from '../machinery/random.js';

const vocabulary = [
  'the', 'The', 'stream', 'keeper', 'batch', 'Batch', 'executor', 'driver', 'offset', 'kafka',
  'ZooKeeper', 'task', 'ledger', 'exactly', 'once', 'record', 'records', 'partition', 'lag',
  'river', 'flows', 'stone', 'bridge', 'lantern', 'harbour', 'café', 'Straße', 'naïve', 'fjord',
  'über', '2026', 'v1alpha1', 'and', 'of', 'a', 'to', 'in', 'is', 'it', 'watch', 'lease',
] as const;

const punctuation = ['', '', '', ',', '.', ';', '!', '?', ' —', ':'] as const;


function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** `count` lines of 3–12 words each; the same `seed` always gives the same lines. */
export function sampleLines(count: number, seed = 1): string[] {
  const random = seededRandom(seed);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const words = 3 + Math.floor(random() * 10);
    const parts: string[] = [];
    for (let w = 0; w < words; w++) parts.push(`${pick(vocabulary, random)}${pick(punctuation, random)}`);
    lines.push(parts.join(' '));
  }
  return lines;
}
