/**
 * The Events that tell a user their job changed state, derived from the status before and after
 * a pass. Because they follow transitions, a job that stays in one state (an invalid spec, a
 * stopped driver) produces one Event, not one per pass.
 */
import { conditionTypes, type StreamingJobStatus } from '../../api/v1alpha1/index.js';
import { findCondition } from './conditions.js';
import { isDataFlowReason } from './data-flow.js';
import { isPodStuckReason } from './stuck-pods.js';

export interface JobEvent {
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, stable: what alerting matches on. */
  readonly reason: string;
  /** What the operator did about it (events.k8s.io/v1 `action`). */
  readonly action: string;
  readonly note: string;
}

export function transitionEvents(previous: StreamingJobStatus | undefined, next: StreamingJobStatus): JobEvent[] {
  const events: JobEvent[] = [];
  const before = findCondition(previous?.conditions, conditionTypes.ready);
  const after = findCondition(next.conditions, conditionTypes.ready);
  const readyChanged = before?.status !== after?.status || before?.reason !== after?.reason;

  if (after?.reason === 'InvalidSpec' && (readyChanged || before?.message !== after.message)) {
    events.push({ type: 'Warning', reason: 'InvalidSpec', action: 'Validate', note: after.message });
  } else if (after?.reason === 'BatchFailed' && readyChanged) {
    events.push({ type: 'Warning', reason: 'BatchFailed', action: 'Reconcile', note: after.message });
  } else if (after !== undefined && (isDataFlowReason(after.reason) || isPodStuckReason(after.reason)) && readyChanged) {
    // Once per cause: a cause that stays (a retry, a new message) announces nothing new.
    events.push({ type: 'Warning', reason: after.reason, action: 'Reconcile', note: after.message });
  } else if (after?.reason === 'CoordinationUnavailable' && readyChanged) {
    events.push({ type: 'Warning', reason: 'CoordinationUnavailable', action: 'Reconcile', note: after.message });
  } else {
    // Running and Suspended are announced when they are complete (Ready turns True), not when the
    // phase is first entered: "running" at 1 of 2 executors, or "pods stopped" while they still
    // drain, would say something that is not true yet.
    const becameReady = after?.status === 'True' && (before?.status !== 'True' || previous?.phase !== next.phase);
    const message = after?.message ?? next.message ?? '';
    if (next.phase === 'Running' && becameReady) {
      events.push({ type: 'Normal', reason: 'Running', action: 'Reconcile', note: `the job is running: ${message}` });
    } else if (next.phase === 'Suspended' && becameReady) {
      events.push({ type: 'Normal', reason: 'Suspended', action: 'Suspend', note: 'the job is suspended; its pods are stopped and ZooKeeper keeps the committed offsets' });
    } else if (previous?.phase !== next.phase) {
      switch (next.phase) {
        case 'Degraded':
          events.push({ type: 'Warning', reason: 'Degraded', action: 'Reconcile', note: message });
          break;
        case 'Pending':
          if (previous?.phase === 'Suspended') events.push({ type: 'Normal', reason: 'Resumed', action: 'Resume', note: 'the job resumes from its committed offsets' });
          break;
        case 'Failed':
          events.push({ type: 'Warning', reason: 'Failed', action: 'Reconcile', note: message });
          break;
        default:
          break;
      }
    }
  }

  if (previous?.configHash !== undefined && next.configHash !== undefined && previous.configHash !== next.configHash) {
    events.push({ type: 'Normal', reason: 'ConfigUpdated', action: 'MirrorConfig', note: `configuration ${next.configHash.slice(0, 19)} written to ZooKeeper; the driver and executors apply it at the next batch boundary` });
  }
  return events;
}
