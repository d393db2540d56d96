/**
 * Time and chance as injected dependencies: retries, backoff and "time since death observed"
 * are tested with a virtual clock instead of waiting on the wall clock.
 */

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without error) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolveSleep) => {
      if (signal?.aborted === true) {
        resolveSleep();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolveSleep();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;
