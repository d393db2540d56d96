/**
 * How soon a job is looked at again when no event arrives, decided in this one place. Pod and
 * ZooKeeper membership changes trigger passes by themselves; polling covers what nothing
 * announces: drains finishing (task completions are not watched), the driver registering,
 * batch progress for the status (every progress refresh period: --progress-refresh-period),
 * and the moment a pod whose registration went missing is due to be judged unresponsive.
 */
import type { JobPhase } from '../../api/v1alpha1/index.js';

export interface RequeueFacts {
  /** Invalid spec: nothing changes until the spec does (a new generation is an event). */
  readonly invalidSpec: boolean;
  readonly phase: JobPhase;
  /**
   * The operator has changes in flight (creating, replacing, rolling, scaling, suspending) —
   * not merely waiting for pods to start, which Pod and membership events announce.
   */
  readonly progressing: boolean;
  /** Executors asked to drain that still hold tasks. */
  readonly draining: number;
  /**
   * The status has no committed batch or no lag yet: `kubectl get` shows LAG and LAST BATCH
   * empty until the next pass, so a running job is looked at soon instead of at the next refresh.
   */
  readonly awaitingProgress?: boolean;
  /**
   * A pod's ZooKeeper registration is missing: in how many ms it has been missing for long enough
   * to be judged unresponsive (unresponsive-pods.ts). Nothing announces that moment, and a hung
   * driver holds the whole job back until it is replaced.
   */
  readonly unresponsiveDueInMs?: number;
  /**
   * ZooKeeper could not be read (a transient failure). The operator's reconnection triggers a
   * pass by itself; this bounds the wait should that be missed.
   */
  readonly coordinationUnavailable?: boolean;
}

/** The default --progress-refresh-period: how often a Running job's status picks up its progress. */
export const defaultProgressRefreshMs = 30_000;

export const requeueIntervals = {
  draining: 2_000,
  firstProgress: 2_000,
  progressing: 10_000,
  pending: 30_000,
  coordinationUnavailable: 10_000,
  degraded: 15_000,
  failed: 60_000,
} as const;

/**
 * Milliseconds until the next pass, or undefined to wait for an event (or the periodic resync).
 * A Running job is refreshed every `progressRefreshMs`; a Degraded one at least that often, and
 * at least every `requeueIntervals.degraded`, to notice its recovery.
 */
export function requeueAfterMs(facts: RequeueFacts, progressRefreshMs: number = defaultProgressRefreshMs): number | undefined {
  if (facts.invalidSpec) return undefined;
  const interval = intervalOf(facts, progressRefreshMs);
  const due = facts.unresponsiveDueInMs;
  if (due === undefined) return interval;
  // A little after the moment, so the pass finds the grace over on its own clock.
  const judge = Math.max(0, due) + unresponsiveJudgeSlackMs;
  return interval === undefined ? judge : Math.min(interval, judge);
}

/** How long after its due moment a missing registration is looked at again. */
export const unresponsiveJudgeSlackMs = 100;

function intervalOf(facts: RequeueFacts, progressRefreshMs: number): number | undefined {
  if (facts.draining > 0) return requeueIntervals.draining;
  if (facts.progressing) return requeueIntervals.progressing;
  if (facts.coordinationUnavailable === true && facts.phase !== 'Suspended') return Math.min(requeueIntervals.coordinationUnavailable, progressRefreshMs);
  switch (facts.phase) {
    case 'Pending':
      return requeueIntervals.pending;
    case 'Degraded':
      return Math.min(facts.awaitingProgress === true ? requeueIntervals.firstProgress : requeueIntervals.degraded, progressRefreshMs);
    case 'Running':
      return facts.awaitingProgress === true ? Math.min(requeueIntervals.firstProgress, progressRefreshMs) : progressRefreshMs;
    case 'Failed':
      return requeueIntervals.failed;
    case 'Suspended':
      return undefined;
  }
}
