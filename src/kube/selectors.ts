/**
 * Label and field selectors with the API server's grammar and meaning, for the in-memory fake
 * (which must filter lists and watches exactly as the server does) and for informer caches.
 */
import { StreamkeeperError } from '../errors/index.js';

export type LabelRequirement =
  | { readonly key: string; readonly op: 'exists' | 'notexists' }
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] };

export type Labels = Readonly<Record<string, string>> | undefined;

const keyPattern = /^(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function badSelector(selector: string, why: string): StreamkeeperError {
  return new StreamkeeperError('SK_KUBE_BAD_REQUEST', `unable to parse selector "${selector}": ${why}`);
}

/** Splits on commas outside parentheses. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts;
}

function checkKey(selector: string, key: string): string {
  if (!keyPattern.test(key) || key.length > 316) throw badSelector(selector, `invalid label key "${key}"`);
  return key;
}

function checkValue(selector: string, value: string): string {
  if (!valuePattern.test(value) || value.length > 63) throw badSelector(selector, `invalid label value "${value}"`);
  return value;
}

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`. The empty selector matches everything. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (selector.trim() === '') return [];
  return splitTopLevel(selector).map((raw): LabelRequirement => {
    const part = raw.trim();
    let match = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
    if (match !== null) {
      const values = (match[3] ?? '').split(',').map((value) => checkValue(selector, value.trim()));
      return { key: checkKey(selector, match[1] ?? ''), op: match[2] === 'in' ? 'in' : 'notin', values };
    }
    match = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (match !== null) {
      const key = checkKey(selector, match[1] ?? '');
      const value = checkValue(selector, match[3] ?? '');
      return { key, op: match[2] === '!=' ? 'notin' : 'in', values: [value] };
    }
    match = /^(!?)\s*([^=!\s()]+)$/.exec(part);
    if (match !== null) {
      return { key: checkKey(selector, match[2] ?? ''), op: match[1] === '!' ? 'notexists' : 'exists' };
    }
    throw badSelector(selector, `cannot read requirement "${part}"`);
  });
}

export function matchesLabels(requirements: readonly LabelRequirement[], labels: Labels): boolean {
  return requirements.every((req) => {
    const value = labels?.[req.key];
    switch (req.op) {
      case 'exists':
        return value !== undefined;
      case 'notexists':
        return value === undefined;
      case 'in':
        return value !== undefined && req.values.includes(value);
      case 'notin':
        return value === undefined || !req.values.includes(value);
    }
  });
}

export interface FieldRequirement {
  readonly field: string;
  readonly op: 'eq' | 'ne';
  readonly value: string;
}

/** Parses `spec.nodeName=node-1,status.phase!=Failed`, accepting only the given fields. */
export function parseFieldSelector(selector: string, allowedFields: readonly string[]): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((raw) => {
    const match = /^\s*([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (match === null) throw badSelector(selector, `cannot read requirement "${raw.trim()}"`);
    const field = match[1] ?? '';
    if (!allowedFields.includes(field)) {
      throw new StreamkeeperError('SK_KUBE_BAD_REQUEST', `field label not supported: ${field}`);
    }
    return { field, op: match[2] === '!=' ? 'ne' : 'eq', value: match[3] ?? '' };
  });
}

function fieldValue(object: unknown, path: string): string {
  let current: unknown = object;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null) return '';
    current = (current as Record<string, unknown>)[segment];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  return '';
}

export function matchesFields(requirements: readonly FieldRequirement[], object: unknown): boolean {
  return requirements.every((req) => (fieldValue(object, req.field) === req.value) === (req.op === 'eq'));
}
