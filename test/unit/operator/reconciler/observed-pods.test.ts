import { describe, expect, it } from '@jest/globals';
import type { Pod, Stored } from '../../../../src/kube/objects.js';
import { observePod } from '../../../../src/operator/reconciler/observed-pods.js';

function stored(status: Pod['status']): Stored<Pod> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'job-driver', namespace: 'team-a', uid: 'u', resourceVersion: '1', creationTimestamp: '2025-06-01T12:00:00Z', labels: { 'app.kubernetes.io/component': 'driver' } }, spec: { containers: [] }, status } as unknown as Stored<Pod>;
}

describe('a pod that cannot run, as observed', () => {
  it.each([
    ['a missing Secret', { phase: 'Pending', containerStatuses: [{ name: 'driver', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "s" not found' } } }] }, { reason: 'CreateContainerConfigError', message: 'secret "s" not found' }],
    ['an image that cannot be pulled', { phase: 'Pending', containerStatuses: [{ name: 'driver', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }] }, { reason: 'ImagePullBackOff', message: '' }],
    ['no node to run on', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] }, { reason: 'Unschedulable', message: '0/1 nodes are available' }],
  ] as [string, Pod['status'], unknown][])('is stuck with %s', (_what, status, stuck) => {
    expect(observePod(stored(status)).stuck).toEqual(stuck);
  });

  it('is not stuck on the normal way up', () => {
    expect(observePod(stored({ phase: 'Pending', containerStatuses: [{ name: 'driver', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] })).stuck).toBeUndefined();
  });
});
