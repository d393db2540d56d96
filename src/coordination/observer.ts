/**
 * What the coordination layer reports for metrics. Components call these hooks; the metrics
 * module implements them once (see docs/zookeeper.md, "Metrics"), so coordination code never
 * depends on a metrics library and tests can count events directly.
 */

/** The state of a process's ZooKeeper session as a whole (across replaced clients). */
export type SessionState = 'connecting' | 'connected' | 'expired' | 'closed';
export const sessionStates: readonly SessionState[] = ['connecting', 'connected', 'expired', 'closed'];

export type ExecutorGoneReason = 'znode-gone' | 'pod-terminated';
/** Why a task changed hands: its owner died, a draining owner handed it back, or it failed. */
export type RescheduleReason = 'owner-dead' | 'released' | 'failed';
export type RescheduleOutcome = 'assigned' | 'exhausted';
export type ConfigMirrorOutcome = 'written' | 'unchanged' | 'too-large';

export interface CoordinationObserver {
  sessionState?(state: SessionState): void;
  /** The connection came back: on the same session after a loss, or on a new session after expiry. */
  reconnected?(): void;
  sessionExpired?(): void;
  /** Once per executor death (the second of the two signals is not counted). */
  executorFailed?(reason: ExecutorGoneReason): void;
  tasksRescheduled?(reason: RescheduleReason, outcome: RescheduleOutcome, count: number): void;
  /** From the death being observed to every task of the dead executor being moved. */
  rescheduleDuration?(seconds: number): void;
  configMirror?(outcome: ConfigMirrorOutcome): void;
}

export const noopObserver: CoordinationObserver = {};
