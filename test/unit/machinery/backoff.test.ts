import { describe, expect, it } from '@jest/globals';
import { backoffDelay, validateBackoff } from '../../../src/machinery/backoff.js';

describe('retry backoff', () => {
  const policy = { initialMs: 100, maxMs: 1000, multiplier: 2 };

  it.each([
    [0, 0, 50],
    [0, 0.999, 100],
    [1, 0.5, 150],
    [2, 0.5, 300],
    [3, 0, 400],
    [4, 0.5, 750], // capped at maxMs
    [30, 1, 1000],
  ])('waits for retry %i with random %f: %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, policy, () => random)).toBe(expected);
  });

  it('never waits less than half a step, so retries never come back in lockstep at zero', () => {
    for (let attempt = 0; attempt < 10; attempt += 1) expect(backoffDelay(attempt, policy, () => 0)).toBeGreaterThanOrEqual(50);
  });

  it('doubles each attempt when no multiplier is given', () => {
    const reconnect = { initialMs: 1000, maxMs: 30_000 };
    expect([0, 1, 4, 5, 50].map((attempt) => backoffDelay(attempt, reconnect, () => 1))).toEqual([1000, 2000, 16_000, 30_000, 30_000]);
    expect(backoffDelay(0, reconnect, () => 0)).toBe(500);
    expect(backoffDelay(3, reconnect, () => 0.5)).toBe(6000);
  });

  it.each([
    [{ initialMs: 0, maxMs: 10, multiplier: 2 }, /initialMs must be greater than 0/],
    [{ initialMs: 10, maxMs: 5, multiplier: 2 }, /maxMs must be at least initialMs/],
    [{ initialMs: 10, maxMs: 50, multiplier: 0.5 }, /multiplier/],
    [{ initialMs: 0, maxMs: 1 }, /initialMs must be greater than 0/],
  ])('refuses %p', (bad, message) => {
    expect(() => validateBackoff(bad)).toThrow(message);
  });
});
