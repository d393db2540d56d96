/**
 * JSON merge patch (RFC 7386), the patch type the kube client speaks. The fake applies patches
 * with this; it is also the way callers compute what they send.
 */

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The target with the patch applied; neither argument is modified. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      // Deleting through a computed key is the RFC's "remove member".
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
      delete result[key];
    } else {
      result[key] = applyMergePatch(result[key], value);
    }
  }
  return result;
}

/** The merge patch that turns `from` into `to` (undefined when they are equal). */
export function createMergePatch(from: unknown, to: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(from) || !isPlainObject(to)) {
    throw new TypeError('a merge patch is computed between two objects');
  }
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(from)) {
    if (!(key in to) || to[key] === undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const before = from[key];
    if (isPlainObject(before) && isPlainObject(value)) {
      const nested = createMergePatch(before, value);
      if (nested !== undefined) patch[key] = nested;
    } else if (!jsonEqual(before, value)) {
      patch[key] = structuredClone(value);
    }
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keysA = Object.keys(a).filter((key) => a[key] !== undefined);
    const keysB = Object.keys(b).filter((key) => b[key] !== undefined);
    return keysA.length === keysB.length && keysA.every((key) => jsonEqual(a[key], b[key]));
  }
  return false;
}
