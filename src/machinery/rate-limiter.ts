/**
 * How long a key waits before it is retried, as client-go's workqueue rate limiters decide it:
 * per-key exponential backoff (one broken object backs off alone) combined with a global token
 * bucket (a storm of failures cannot hammer the API server). Pure arithmetic over a clock.
 */
import type { Clock } from './clock.js';

export interface RateLimiter<K extends string = string> {
  /** The delay before `key` is retried now; each call counts as one more failure. */
  when(key: K): number;
  /** The key succeeded: its failure history is dropped. */
  forget(key: K): void;
  /** Failures recorded for `key` since it was last forgotten. */
  retries(key: K): number;
}

export interface ExponentialBackoffOptions {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/** base · 2^failures, capped: 5 ms, 10 ms, 20 ms, … 1000 s with the defaults. */
export class ItemExponentialRateLimiter<K extends string = string> implements RateLimiter<K> {
  private readonly failures = new Map<K, number>();

  constructor(private readonly options: ExponentialBackoffOptions = { baseDelayMs: 5, maxDelayMs: 1_000_000 }) {
    if (!(options.baseDelayMs > 0)) throw new RangeError('baseDelayMs must be greater than 0');
    if (!(options.maxDelayMs >= options.baseDelayMs)) throw new RangeError('maxDelayMs must be at least baseDelayMs');
  }

  when(key: K): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long after the cap is reached; min() handles both.
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** failures);
  }

  forget(key: K): void {
    this.failures.delete(key);
  }

  retries(key: K): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface TokenBucketOptions {
  /** Tokens added per second. */
  readonly qps: number;
  /** Bucket size: how many retries may go at once. */
  readonly burst: number;
}

/**
 * A token bucket shared by all keys. A retry takes a token now or reserves the next one, and
 * waits until it is due (golang.org/x/time/rate's reservation semantics).
 */
export class TokenBucketRateLimiter<K extends string = string> implements RateLimiter<K> {
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly options: TokenBucketOptions = { qps: 10, burst: 100 },
  ) {
    if (!(options.qps > 0)) throw new RangeError('qps must be greater than 0');
    if (!Number.isInteger(options.burst) || options.burst < 1) throw new RangeError('burst must be a positive integer');
    this.tokens = options.burst;
    this.last = clock.now();
  }

  when(_key: K): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.last) / 1000) * this.options.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.options.qps) * 1000);
  }

  forget(_key: K): void {
    // The bucket is global; a key's success returns nothing to it.
  }

  retries(_key: K): number {
    return 0;
  }
}

/** The longest delay any of the limiters asks for. */
export class MaxOfRateLimiter<K extends string = string> implements RateLimiter<K> {
  private readonly limiters: readonly RateLimiter<K>[];

  constructor(...limiters: RateLimiter<K>[]) {
    if (limiters.length === 0) throw new RangeError('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(key: K): number {
    // Every limiter must see the failure (each keeps its own state), so no short-circuit.
    return this.limiters.map((limiter) => limiter.when(key)).reduce((a, b) => Math.max(a, b), 0);
  }

  forget(key: K): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  retries(key: K): number {
    return this.limiters.map((limiter) => limiter.retries(key)).reduce((a, b) => Math.max(a, b), 0);
  }
}

export interface ControllerRateLimiterOptions {
  readonly backoff?: ExponentialBackoffOptions;
  readonly bucket?: TokenBucketOptions;
}

/** client-go's default controller limiter: 5 ms → 1000 s per key, 10 qps / burst 100 overall. */
export function defaultControllerRateLimiter<K extends string>(clock: Clock, options: ControllerRateLimiterOptions = {}): RateLimiter<K> {
  return new MaxOfRateLimiter<K>(
    new ItemExponentialRateLimiter<K>(options.backoff ?? { baseDelayMs: 5, maxDelayMs: 1_000_000 }),
    new TokenBucketRateLimiter<K>(clock, options.bucket ?? { qps: 10, burst: 100 }),
  );
}
