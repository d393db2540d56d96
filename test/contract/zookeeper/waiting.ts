/**
 * Waiting for asynchronous coordination events in tests without sleeping a fixed time: poll a
 * probe until it holds, or collect listener deliveries and wait for one that matches. The time
 * limits only turn a hang into a readable failure; they assert nothing about speed. Plus
 * `thrown`, to match a synchronous error's fields.
 */
import { pollUntil } from '../../support/poll-until.js';

/** Polls `probe` until `accept` holds of its value (the one polling loop, test/support/poll-until.ts). */
export function eventually<T>(probe: () => Promise<T> | T, accept: (value: T) => boolean, what: string, timeoutMs = 20_000, pollMs = 20): Promise<T> {
  return pollUntil(
    async () => {
      const value = await probe();
      if (!accept(value)) throw new Error(`last: ${describeValue(value)}`);
      return value;
    },
    what,
    { timeoutMs, pollMs },
  );
}

function describeValue(value: unknown): string {
  if (value instanceof Map) return describeValue(Object.fromEntries(value));
  return (JSON.stringify(value) as string | undefined)?.slice(0, 500) ?? String(value);
}

/** Collects what a listener is given; `until` waits for a delivery that matches. */
export class Deliveries<T> {
  readonly values: T[] = [];
  private waiters: { accept: (value: T) => boolean; resolve: (value: T) => void }[] = [];

  readonly listener = (value: T): void => {
    this.values.push(value);
    const matched = this.waiters.filter((w) => w.accept(value));
    this.waiters = this.waiters.filter((w) => !matched.includes(w));
    for (const w of matched) w.resolve(value);
  };

  get last(): T | undefined {
    return this.values.at(-1);
  }

  /** The first delivery from index `from` on (default: any so far) that matches. */
  async until(accept: (value: T) => boolean, what: string, from = 0, timeoutMs = 20_000): Promise<T> {
    const found = this.values.slice(from).find(accept);
    if (found !== undefined) return found;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<T>((resolve) => {
          this.waiters.push({ accept, resolve });
        }),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => {
            reject(new Error(`${what}: no such delivery within ${timeoutMs} ms (got ${this.values.length}: ${JSON.stringify(this.values.slice(-3)).slice(0, 500)})`));
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** What `call` threw (so its code and field can be matched); fails if it did not throw. */
export function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}
