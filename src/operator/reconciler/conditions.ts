/**
 * Conditions as the Kubernetes API conventions define them (metav1.Condition): one per type,
 * status True/False/Unknown, a CamelCase reason, a message, the generation they were computed
 * from, and a lastTransitionTime that moves only when the status does.
 */
import type { JobCondition } from '../../api/v1alpha1/index.js';

export type ConditionStatus = JobCondition['status'];

/** A condition as a pass decides it; the time is added by `mergeConditions`. */
export interface ConditionDecision {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

/** Condition messages are kept short: status stays small, and `kubectl describe` readable. */
export const maxConditionMessage = 1024;

/** At most `max` characters (UTF-16 units), ending in `…` when cut; never half a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * A list for a message that stays short however long the list: the first `shown` items and how
 * many more (`4, 9, 12 and 40 more`).
 */
export function someOf(items: readonly string[], shown = 3): string {
  const head = items.slice(0, shown).join(', ');
  return items.length > shown ? `${head} and ${items.length - shown} more` : head;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The conditions to write: `decided`, in that order, each keeping its previous
 * lastTransitionTime when its status did not change. Conditions of other types (written by
 * someone else) are kept unless listed in `owned` (types this controller manages, which are
 * dropped when not decided — the "abnormal-true" ones that exist only while true).
 */
export function mergeConditions(
  previous: readonly JobCondition[] | undefined,
  decided: readonly ConditionDecision[],
  options: { readonly generation: number; readonly now: number; readonly owned: readonly string[] },
): JobCondition[] {
  const before = new Map((previous ?? []).map((condition) => [condition.type, condition]));
  const merged: JobCondition[] = decided.map((decision) => {
    const old = before.get(decision.type);
    return {
      type: decision.type,
      status: decision.status,
      observedGeneration: options.generation,
      lastTransitionTime: old !== undefined && old.status === decision.status ? old.lastTransitionTime : rfc3339(options.now),
      reason: decision.reason,
      message: truncate(decision.message, maxConditionMessage),
    };
  });
  const decidedTypes = new Set(decided.map((decision) => decision.type));
  const kept = (previous ?? []).filter((condition) => !decidedTypes.has(condition.type) && !options.owned.includes(condition.type));
  return [...merged, ...kept];
}

export function findCondition(conditions: readonly JobCondition[] | undefined, type: string): JobCondition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
