/**
 * Time as a dependency: the queue, informers, leader election, ZooKeeper sessions and the
 * runtime read the time and start timers only through a Clock, so tests drive them with
 * ManualClock and never wait for real time.
 */

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimer(delayMs: number, callback: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, callback) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return {
      cancel: () => {
        clearTimeout(handle);
      },
    };
  },
};

/**
 * Whether `signal` has aborted. A function rather than `signal.aborted` inline because the type
 * checker narrows the property across an `await` that may well have aborted it.
 */
export function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Resolves after `delayMs` on `clock`, or at once when `signal` aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimer(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface ScheduledTimer {
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** Lets every pending promise continuation run (the in-memory fakes resolve in microtasks). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
  }
}

/**
 * A clock that moves only when told to. `advance` fires due timers in time order and lets the
 * async work each one starts settle before the next, so a test reads like a timeline.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ScheduledTimer[] = [];

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, callback: () => void): Timer {
    const timer: ScheduledTimer = { due: this.current + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    if (ms < 0) throw new RangeError('a clock cannot go back');
    const target = this.current + ms;
    await settle();
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      const next = this.timers.filter((timer) => timer.due <= target).sort((a, b) => a.due - b.due || a.seq - b.seq)[0];
      if (next === undefined) break;
      this.current = Math.max(this.current, next.due);
      next.cancelled = true;
      next.callback();
      await settle();
    }
    this.current = target;
    await settle();
  }

  /** Advances in steps of `stepMs` until `condition` holds or `maxMs` have passed. */
  async advanceUntil(condition: () => boolean, maxMs: number, stepMs = 100): Promise<boolean> {
    let waited = 0;
    while (!condition()) {
      if (waited >= maxMs) return false;
      await this.advance(stepMs);
      waited += stepMs;
    }
    return true;
  }
}
