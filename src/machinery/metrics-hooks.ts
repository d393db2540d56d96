/**
 * What the generic machinery reports, as hooks rather than metrics: the machinery knows no
 * registry, so each process decides which families it exports (the operator counts its
 * reconciles; a node agent using the same controller exports nothing).
 */

/** What one reconcile pass ended with (the `result` label). */
export const reconcileResults = ['success', 'error', 'requeue', 'requeue_after'] as const;
export type ReconcileResultLabel = (typeof reconcileResults)[number];

export interface ControllerMetrics {
  /** A controller named `controller` exists: its series should read 0, not "no data". */
  controllerStarted(controller: string): void;
  /** One pass ended; `failure` says whether it failed, and whether as a bug (panic). */
  passFinished(controller: string, result: ReconcileResultLabel, seconds: number, failure: 'none' | 'error' | 'panic'): void;
}

export interface WorkQueueMetrics {
  /**
   * A queue named `name` exists; `longestRunningSeconds` may be read at each scrape until the
   * returned function is called (when the queue shuts down).
   */
  queueStarted(name: string, longestRunningSeconds: () => number): () => void;
  added(name: string): void;
  retried(name: string): void;
  depth(name: string, depth: number): void;
}

export interface LeaderMetrics {
  leading(isLeader: boolean): void;
}

export const noControllerMetrics: ControllerMetrics = {
  controllerStarted: () => undefined,
  passFinished: () => undefined,
};

export const noWorkQueueMetrics: WorkQueueMetrics = {
  queueStarted: () => () => undefined,
  added: () => undefined,
  retried: () => undefined,
  depth: () => undefined,
};

export const noLeaderMetrics: LeaderMetrics = { leading: () => undefined };
