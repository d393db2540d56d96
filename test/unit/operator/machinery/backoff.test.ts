import { describe, expect, it } from '@jest/globals';
import { backoffDelay, validateBackoff } from '../../../../src/operator/machinery/backoff.js';

describe('reconnect backoff', () => {
  const options = { initialMs: 1000, maxMs: 30_000 };

  it.each([
    [0, 1, 1000],
    [1, 1, 2000],
    [4, 1, 16_000],
    [5, 1, 30_000],
    [50, 1, 30_000],
    [0, 0, 500],
    [3, 0.5, 6000],
  ])('attempt %i with random %d waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, options, () => random)).toBe(expected);
  });

  it('explains invalid settings', () => {
    expect(() => validateBackoff({ initialMs: 0, maxMs: 1 })).toThrow('initialMs must be greater than 0');
    expect(() => validateBackoff({ initialMs: 10, maxMs: 1 })).toThrow('maxMs must be at least initialMs');
  });
});
