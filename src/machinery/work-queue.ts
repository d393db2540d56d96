/**
 * The keyed work queue between event sources and reconcilers, with client-go's guarantees: a
 * key waiting twice is handed out once; a key is never processed by two workers at once (one
 * re-added while in flight is handed out again after `done`); failed keys come back after a
 * rate-limited delay; `shutDown` stops handing out keys and waits for in-flight ones to finish.
 *
 * Worker protocol: `const key = await queue.get()` (undefined once shut down), process it, then
 * `forget` / `addRateLimited` / `addAfter` as the outcome says, and always `done(key)`.
 */
import { systemClock, type Clock, type Timer } from './clock.js';
import { noWorkQueueMetrics, type WorkQueueMetrics } from './metrics-hooks.js';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions<K extends string> {
  /** The `name` label of the queue's metrics. */
  readonly name: string;
  readonly clock?: Clock;
  /** Default: 5 ms → 1000 s per key, 10 qps / burst 100 overall. */
  readonly rateLimiter?: RateLimiter<K>;
  /** Where the queue reports; default: nowhere. */
  readonly metrics?: WorkQueueMetrics;
}

export class WorkQueue<K extends string> {
  readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter<K>;
  /** Keys ready to hand out, oldest first. */
  private readonly ready: K[] = [];
  /** Keys that need a pass: waiting in `ready`, or re-added while in flight. */
  private readonly dirty = new Set<K>();
  /** In-flight keys and when they were handed out. */
  private readonly processing = new Map<K, number>();
  /** Keys added with a delay, and when they fall due. */
  private readonly delayed = new Map<K, { readonly due: number; readonly timer: Timer }>();
  private readonly getters: ((key: K | undefined) => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly metrics: WorkQueueMetrics;
  private readonly unregisterMetrics: () => void;

  constructor(options: WorkQueueOptions<K>) {
    if (options.name === '') throw new RangeError('a work queue needs a name (it labels its metrics)');
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter<K>(this.clock);
    this.metrics = options.metrics ?? noWorkQueueMetrics;
    this.unregisterMetrics = this.metrics.queueStarted(this.name, () => this.longestRunningSeconds());
  }

  /** Keys ready to be handed out. */
  get length(): number {
    return this.ready.length;
  }

  /** Keys being processed now. */
  get inFlight(): number {
    return this.processing.size;
  }

  /** Keys waiting for their delay to pass. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  add(key: K): void {
    if (this.shuttingDown) return;
    this.metrics.added(this.name);
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  /** Adds `key` once `delayMs` have passed; an earlier pending add of the same key wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const due = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.due <= due) return;
      pending.timer.cancel();
    }
    const timer = this.clock.setTimer(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { due, timer });
  }

  /** Adds `key` after its backoff (at least `minDelayMs`), counting one more failure. */
  addRateLimited(key: K, minDelayMs = 0): void {
    if (this.shuttingDown) return;
    this.metrics.retried(this.name);
    this.addAfter(key, Math.max(this.rateLimiter.when(key), minDelayMs));
  }

  /** Clears the key's failure history, so its next failure backs off from the base again. */
  forget(key: K): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.rateLimiter.retries(key);
  }

  /** The next key to process; waits for one. `undefined` means the queue is shut down. */
  get(): Promise<K | undefined> {
    const key = this.ready.shift();
    if (key !== undefined) {
      this.startProcessing(key);
      this.updateDepth();
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.getters.push(resolve);
    });
  }

  /** Marks the pass over `key` finished; a key re-added meanwhile becomes ready again. */
  done(key: K): void {
    if (!this.processing.delete(key)) return;
    if (this.shuttingDown) {
      if (this.processing.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
      return;
    }
    if (this.dirty.has(key)) this.enqueue(key);
  }

  /**
   * Stops the queue: adds are ignored, waiting and delayed keys are dropped (a level-based
   * controller loses nothing: whoever runs next lists everything again) and `get` returns
   * undefined. Resolves true once in-flight keys are done, false if `drainTimeoutMs` passes first.
   */
  shutDown(drainTimeoutMs = Infinity): Promise<boolean> {
    if (!this.shuttingDown) {
      this.shuttingDown = true;
      for (const { timer } of this.delayed.values()) timer.cancel();
      this.delayed.clear();
      this.ready.length = 0;
      this.dirty.clear();
      this.updateDepth();
      for (const resolve of this.getters.splice(0)) resolve(undefined);
      this.unregisterMetrics();
    }
    if (this.processing.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = Number.isFinite(drainTimeoutMs)
        ? this.clock.setTimer(drainTimeoutMs, () => {
            resolve(false);
          })
        : undefined;
      this.drainWaiters.push(() => {
        timer?.cancel();
        resolve(true);
      });
    });
  }

  private enqueue(key: K): void {
    const getter = this.getters.shift();
    if (getter !== undefined) {
      this.startProcessing(key);
      getter(key);
      return;
    }
    this.ready.push(key);
    this.updateDepth();
  }

  private startProcessing(key: K): void {
    this.dirty.delete(key);
    this.processing.set(key, this.clock.now());
  }

  private updateDepth(): void {
    this.metrics.depth(this.name, this.ready.length);
  }

  private longestRunningSeconds(): number {
    const now = this.clock.now();
    let longest = 0;
    for (const started of this.processing.values()) longest = Math.max(longest, now - started);
    return longest / 1000;
  }
}
