/**
 * Reading the two kinds of amounts a spec carries as text: Go-style durations (batchInterval) and
 * Kubernetes quantities (resources), so validation and the runtime interpret them the same way.
 */
import { patterns } from './schema.js';
import { quantityPattern } from './kube-schema.js';

const durationUnitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const durationTerm = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const durationShape = new RegExp(patterns.duration);

/** Milliseconds in a duration such as `250ms`, `5s`, `1m30s`; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!durationShape.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(durationTerm)) {
    total += Number(amount) * durationUnitMs[unit as keyof typeof durationUnitMs];
  }
  // Whole nanoseconds, as Go (and CEL's duration()) count them.
  return Math.round(total * 1e6) / 1e6;
}

const quantityShape = new RegExp(quantityPattern);
const quantityParts = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)$/;
const suffixFactor: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes quantity in base units (cores, bytes); undefined when it is not one. */
export function parseQuantity(quantity: number | string): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? quantity : undefined;
  if (!quantityShape.test(quantity)) return undefined;
  const [, amount = '', suffix = ''] = quantityParts.exec(quantity) ?? [];
  const factor = suffixFactor[suffix];
  if (factor !== undefined) return Number(amount) * factor;
  return Number(`${amount}${suffix}`); // a decimal exponent: 1e3, 5E-3
}
