import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../../src/machinery/clock.js';
import { ItemExponentialRateLimiter, MaxOfRateLimiter, TokenBucketRateLimiter, defaultControllerRateLimiter } from '../../../src/machinery/rate-limiter.js';

describe('per-key exponential backoff', () => {
  it('doubles from the base for each failure of a key, up to the cap', () => {
    const limiter = new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000 });
    const delays = Array.from({ length: 10 }, () => limiter.when('ns/a'));
    expect(delays).toEqual([5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    expect(limiter.retries('ns/a')).toBe(10);
  });

  it('backs off each key on its own', () => {
    const limiter = new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000 });
    limiter.when('ns/a');
    limiter.when('ns/a');
    expect(limiter.when('ns/b')).toBe(5);
  });

  it('starts again from the base once a key is forgotten', () => {
    const limiter = new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000 });
    limiter.when('ns/a');
    limiter.when('ns/a');
    limiter.forget('ns/a');
    expect(limiter.retries('ns/a')).toBe(0);
    expect(limiter.when('ns/a')).toBe(5);
  });

  it('stays at the cap after very many failures', () => {
    const limiter = new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 1_000_000 });
    let delay = 0;
    for (let i = 0; i < 2000; i++) delay = limiter.when('ns/a');
    expect(delay).toBe(1_000_000);
  });

  it('explains invalid settings', () => {
    expect(() => new ItemExponentialRateLimiter({ baseDelayMs: 0, maxDelayMs: 10 })).toThrow('baseDelayMs must be greater than 0');
    expect(() => new ItemExponentialRateLimiter({ baseDelayMs: 10, maxDelayMs: 5 })).toThrow('maxDelayMs must be at least baseDelayMs');
  });
});

describe('the global token bucket', () => {
  it('lets a burst through at once, then spaces retries at the rate', () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucketRateLimiter(clock, { qps: 10, burst: 3 });
    expect([bucket.when('a'), bucket.when('b'), bucket.when('c')]).toEqual([0, 0, 0]);
    expect([bucket.when('d'), bucket.when('e')]).toEqual([100, 200]);
  });

  it('refills with time, never beyond the burst', async () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucketRateLimiter(clock, { qps: 10, burst: 2 });
    bucket.when('a');
    bucket.when('b');
    await clock.advance(60_000);
    expect([bucket.when('c'), bucket.when('d'), bucket.when('e')]).toEqual([0, 0, 100]);
  });
});

describe('combined limiters', () => {
  it('waits as long as the slowest limiter says, and every limiter counts the failure', () => {
    const clock = new ManualClock(0);
    const limiter = new MaxOfRateLimiter(new ItemExponentialRateLimiter({ baseDelayMs: 5, maxDelayMs: 10_000 }), new TokenBucketRateLimiter(clock, { qps: 1, burst: 1 }));
    expect(limiter.when('ns/a')).toBe(5);
    expect(limiter.when('ns/b')).toBe(1000);
    expect(limiter.retries('ns/a')).toBe(1);
  });

  it('defaults to client-go\'s controller limiter: 5 ms per key doubling, 10 qps burst 100 overall', () => {
    const clock = new ManualClock(0);
    const limiter = defaultControllerRateLimiter<string>(clock);
    expect(limiter.when('ns/a')).toBe(5);
    expect(limiter.when('ns/a')).toBe(10);
    for (let i = 0; i < 98; i++) limiter.when(`ns/k${i}`);
    expect(limiter.when('ns/new')).toBe(100);
  });
});
