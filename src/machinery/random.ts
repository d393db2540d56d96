/**
 * Chance as a dependency: jitter and randomised choices read a Random that tests replace with a
 * fixed or seeded one, so a schedule can be replayed.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

export const systemRandom: Random = () => Math.random();

/**
 * A repeatable Random (mulberry32): the same seed gives the same sequence, so generated
 * workloads and test schedules can be replayed. Not for anything secret.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
