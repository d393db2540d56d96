/**
 * `status.restarts` — how many times the driver was recreated after failing — derived from the
 * cluster, so that an operator stopping mid-pass neither loses a failure nor counts one twice.
 * Each driver pod carries the count at its creation (an annotation); a failed driver means one
 * more. The stored status is the record of that failure: the failed pod is deleted only once the
 * stored status counts it, so the evidence outlives every crash window.
 */
import type { ObservedPod } from './observed-pods.js';

export interface DriverRestartFacts {
  /** `status.restarts` as stored before this pass (0 when unset). */
  readonly recorded: number;
  readonly driver: ObservedPod | undefined;
  /** This pass retires the driver because it failed (not for a suspend or a revoked credential). */
  readonly failed: boolean;
}

export interface DriverRestarts {
  /** `status.restarts` after this pass; a driver pod created now is annotated with it. */
  readonly restarts: number;
  /**
   * The stored status already counts the failed driver, so it may be deleted now; otherwise it is
   * deleted only after this pass has written the status.
   */
  readonly failureRecorded: boolean;
}

export function driverRestarts(facts: DriverRestartFacts): DriverRestarts {
  // A driver pod without the annotation (made before it existed) is taken to be the stored count.
  const atCreation = facts.driver?.driverRestarts ?? facts.recorded;
  const counted = facts.failed ? atCreation + 1 : atCreation;
  return { restarts: Math.max(facts.recorded, counted), failureRecorded: facts.recorded >= counted };
}
