/**
 * Waiting for a state instead of asserting on time: `check` runs until it returns without
 * throwing (jest `expect` inside it gives precise messages); past the deadline the wait fails
 * with what it waited for and what the last check said.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function pollUntil<T>(check: () => T | Promise<T>, what: string, timing: { readonly timeoutMs: number; readonly pollMs: number }): Promise<T> {
  const deadline = Date.now() + timing.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? last.message : String(last);
      throw new Error(`${what}: not reached within ${timing.timeoutMs / 1000} s; last check said:\n${detail}`);
    }
    await sleep(timing.pollMs);
  }
}
