import { describe, expect, it } from '@jest/globals';
import { parseDuration, parseQuantity } from '../../../src/api/v1alpha1/quantities.js';

describe('parseDuration', () => {
  it.each([
    ['100ms', 100],
    ['250ms', 250],
    ['5s', 5000],
    ['0.1s', 100],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1h1m1s1ms', 3_661_001],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', '5x', 's', '1.s', '-1s', '1 s', '1us', '1d'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('parseQuantity', () => {
  it.each([
    ['500m', 0.5],
    ['2', 2],
    [3, 3],
    ['1k', 1000],
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1G', 1e9],
    ['1e3', 1000],
    ['2.5E-3', 0.0025],
    ['.5', 0.5],
    ['-1Gi', -(2 ** 30)],
    ['100u', 1e-4],
  ])('reads %j as %d', (quantity, value) => {
    expect(parseQuantity(quantity)).toBeCloseTo(value, 12);
  });

  it('compares binary and decimal suffixes by value', () => {
    expect((parseQuantity('1Gi') ?? 0) > (parseQuantity('1G') ?? 0)).toBe(true);
    expect(parseQuantity('1024Mi')).toBe(parseQuantity('1Gi'));
  });

  it.each(['', 'lots', '1KB', '1 Gi', 'Gi', '1.2.3'])('refuses %j', (quantity) => {
    expect(parseQuantity(quantity)).toBeUndefined();
  });
});
