/**
 * Waiting for the system to reach a state, with messages that say what was awaited and what was
 * seen last: end-to-end steps take seconds on a loaded machine, so tests poll with generous
 * deadlines instead of asserting on time.
 */
import { pollUntil } from '../../../support/poll-until.js';

/** Default deadline of an end-to-end wait: far beyond what any step needs on an idle machine. */
export const defaultWaitMs = 90_000;

/**
 * Runs `check` until it returns without throwing (jest `expect` inside it gives precise
 * messages), then returns its result. Past the deadline, fails with `what` and the last error.
 */
export function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = defaultWaitMs, pollMs = 200): Promise<T> {
  return pollUntil(check, what, { timeoutMs, pollMs });
}
