/**
 * Retry delays: capped exponential backoff with jitter, so that many clients losing the same
 * ZooKeeper server do not come back in lockstep.
 */
import type { Random } from './clock.js';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
}

export const defaultBackoff: BackoffPolicy = { initialMs: 100, maxMs: 5000, multiplier: 2 };

export function validateBackoff(policy: BackoffPolicy): BackoffPolicy {
  if (!(policy.initialMs > 0)) throw new RangeError(`backoff initialMs must be greater than 0 (got ${policy.initialMs})`);
  if (!(policy.maxMs >= policy.initialMs)) throw new RangeError(`backoff maxMs must be at least initialMs (got ${policy.maxMs} < ${policy.initialMs})`);
  if (!(policy.multiplier >= 1)) throw new RangeError(`backoff multiplier must be at least 1 (got ${policy.multiplier})`);
  return policy;
}

/**
 * The delay before retry number `attempt` (0-based): half of the capped exponential step is
 * fixed and half is random ("equal jitter"), so a delay never collapses to zero.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: Random): number {
  const step = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt));
  return Math.round(step / 2 + random() * (step / 2));
}
