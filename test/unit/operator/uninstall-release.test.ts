import { describe, expect, it } from '@jest/globals';
import { finalizer } from '../../../src/api/v1alpha1/index.js';
import { FakeKubeClient } from '../../../src/kube/fake.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { releaseIfUninstalled } from '../../../src/operator/uninstall-release.js';

const system = 'streamkeeper-system';

async function world(withDeployment: boolean): Promise<FakeKubeClient> {
  const kube = new FakeKubeClient();
  if (withDeployment) {
    await kube.create('Deployment', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'streamkeeper-operator', namespace: system }, spec: { selector: {}, template: {} } });
  }
  await kube.create('Lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'streamkeeper-operator', namespace: system }, spec: { holderIdentity: 'op-0' } });
  for (const [namespace, name, finalizers] of [
    ['team-a', 'wordcount', [finalizer]],
    ['team-a', 'other-finalizer-too', ['example.com/keep', finalizer]],
    ['team-b', 'unwatched', [finalizer]],
  ] as const) {
    await kube.create('StreamingJob', { apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', metadata: { name, namespace, finalizers: [...finalizers] }, spec: {} });
  }
  return kube;
}

const options = (kube: FakeKubeClient) => ({ kube, namespace: system, deployment: 'streamkeeper-operator', lease: 'streamkeeper-operator', namespaces: ['team-a'], logger: silentLogger() });

describe('a stopping operator whose Deployment is gone (uninstall)', () => {
  it('removes its finalizer from every watched job, keeps other finalizers, and deletes its Lease', async () => {
    const kube = await world(false);
    expect(await releaseIfUninstalled(options(kube))).toEqual({ verdict: 'uninstall', released: 2 });
    expect((await kube.get('StreamingJob', { namespace: 'team-a', name: 'wordcount' })).metadata.finalizers ?? []).toEqual([]);
    expect((await kube.get('StreamingJob', { namespace: 'team-a', name: 'other-finalizer-too' })).metadata.finalizers).toEqual(['example.com/keep']);
    expect((await kube.get('StreamingJob', { namespace: 'team-b', name: 'unwatched' })).metadata.finalizers).toEqual([finalizer]);
    await expect(kube.get('Lease', { namespace: system, name: 'streamkeeper-operator' })).rejects.toThrow(/not found/);
  });
});

describe('a stopping operator whose Deployment is still there (restart, upgrade)', () => {
  it('releases nothing and keeps its Lease', async () => {
    const kube = await world(true);
    expect(await releaseIfUninstalled(options(kube))).toEqual({ verdict: 'restart', released: 0 });
    expect((await kube.get('StreamingJob', { namespace: 'team-a', name: 'wordcount' })).metadata.finalizers).toEqual([finalizer]);
    expect(await kube.get('Lease', { namespace: system, name: 'streamkeeper-operator' })).toBeDefined();
  });
});
