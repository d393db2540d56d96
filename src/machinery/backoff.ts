/**
 * Capped exponential backoff with jitter for every retry loop (informer re-lists, leader
 * retries, ZooKeeper reconnects), so that clients recovering from the same outage do not retry
 * in lockstep.
 */
import type { Random } from './random.js';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per attempt; default 2. */
  readonly multiplier?: number;
}

export function validateBackoff<P extends BackoffPolicy>(policy: P): P {
  if (!(policy.initialMs > 0)) throw new RangeError(`backoff initialMs must be greater than 0 (got ${policy.initialMs})`);
  if (!(policy.maxMs >= policy.initialMs)) throw new RangeError(`backoff maxMs must be at least initialMs (got ${policy.maxMs} < ${policy.initialMs})`);
  if (policy.multiplier !== undefined && !(policy.multiplier >= 1)) throw new RangeError(`backoff multiplier must be at least 1 (got ${policy.multiplier})`);
  return policy;
}

/**
 * The wait before retry number `attempt` (0-based): initial · multiplier^attempt capped at max,
 * then "equal jitter" — half of the step is fixed and half random, so a delay never collapses
 * to zero.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: Random): number {
  const step = Math.min(policy.maxMs, policy.initialMs * (policy.multiplier ?? 2) ** Math.max(0, attempt));
  return Math.round(step / 2 + (step / 2) * Math.min(1, Math.max(0, random())));
}
