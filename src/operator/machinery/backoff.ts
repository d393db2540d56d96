/**
 * Exponential backoff with jitter for reconnect loops (informer re-lists, leader retries), so
 * that replicas recovering from the same outage do not retry in lockstep.
 */

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export function validateBackoff(options: BackoffOptions): BackoffOptions {
  if (!(options.initialMs > 0)) throw new RangeError('backoff initialMs must be greater than 0');
  if (!(options.maxMs >= options.initialMs)) throw new RangeError('backoff maxMs must be at least initialMs');
  return options;
}

/**
 * The wait before retry number `attempt` (0-based): initial · 2^attempt capped at max, then
 * "equal jitter" — somewhere in its upper half, by `random()` in [0, 1).
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(1, Math.max(0, random())));
}
