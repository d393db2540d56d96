/**
 * Waiting for the system to reach a state, with messages that say what was awaited and what was
 * seen last: end-to-end steps take seconds on a loaded machine, so tests poll with generous
 * deadlines instead of asserting on time.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Default deadline of an end-to-end wait: far beyond what any step needs on an idle machine. */
export const defaultWaitMs = 90_000;

/**
 * Runs `check` until it returns without throwing (jest `expect` inside it gives precise
 * messages), then returns its result. Past the deadline, fails with `what` and the last error.
 */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = defaultWaitMs, pollMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : String(last);
      throw new Error(`${what}: not reached within ${timeoutMs / 1000} s; last check said:\n${detail}`);
    }
    await sleep(pollMs);
  }
}
