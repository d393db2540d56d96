/**
 * Pod-level causes in the job's status: a driver or executor pod that cannot run (a Secret or
 * ConfigMap missing, an image that cannot be pulled, a container that keeps crashing, no node to
 * run on) makes the job not Ready with a reason of its own, and a message naming the pod and
 * what the kubelet or scheduler says — what a Deployment's user reads in `kubectl describe`.
 */
import type { ObservedPod, PodStuck } from './observed-pods.js';

export const podStuckReasons = ['PodConfigError', 'ImagePullFailed', 'CrashLoopBackOff', 'Unschedulable'] as const;
export type PodStuckReason = (typeof podStuckReasons)[number];

/** The job's Ready reason for a kubelet or scheduler reason. */
export function podStuckReason(stuck: PodStuck): PodStuckReason {
  switch (stuck.reason) {
    case 'ErrImagePull':
    case 'ImagePullBackOff':
    case 'InvalidImageName':
    case 'ErrImageNeverPull':
      return 'ImagePullFailed';
    case 'CrashLoopBackOff':
      return 'CrashLoopBackOff';
    case 'Unschedulable':
      return 'Unschedulable';
    default:
      return 'PodConfigError';
  }
}

/** Only a change by the user (a Secret, a ConfigMap, the pod template) makes such a pod start. */
export function podStuckNeedsUser(reason: PodStuckReason): boolean {
  return reason === 'PodConfigError';
}

export function isPodStuckReason(reason: string | undefined): boolean {
  return reason !== undefined && (podStuckReasons as readonly string[]).includes(reason);
}

/** `pod job-driver cannot run: CreateContainerConfigError: secret "kafka-sasl" not found` */
export function describeStuckPod(pod: ObservedPod & { readonly stuck: PodStuck }): string {
  return `pod ${pod.name} cannot run: ${pod.stuck.reason}${pod.stuck.message === '' ? '' : `: ${pod.stuck.message}`}`;
}

/** The first stuck pod among `pods` (driver first), if any. */
export function firstStuck(pods: readonly (ObservedPod | undefined)[]): (ObservedPod & { readonly stuck: PodStuck }) | undefined {
  for (const pod of pods) if (pod?.stuck !== undefined && !pod.terminating) return pod as ObservedPod & { readonly stuck: PodStuck };
  return undefined;
}
