import { describe, expect, it } from '@jest/globals';
import { finalizer } from '../../../src/api/v1alpha1/index.js';
import { FakeKubeClient } from '../../../src/kube/fake.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { releaseIfUninstalled, stopOperatorForUninstall } from '../../../src/operator/uninstall-release.js';

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

describe("helm's pre-delete hook: stopping the operator for an uninstall", () => {
  const stopOptions = (kube: FakeKubeClient, clock: { t: number }) => ({
    kube,
    namespace: system,
    deployment: 'streamkeeper-operator',
    timeoutMs: 10_000,
    pollMs: 1000,
    sleep: (ms: number) => {
      clock.t += ms;
      return Promise.resolve();
    },
    now: () => clock.t,
    logger: silentLogger(),
  });

  it('deletes the Deployment and returns once it is gone', async () => {
    const kube = await world(true);
    expect(await stopOperatorForUninstall(stopOptions(kube, { t: 0 }))).toBe(true);
    await expect(kube.get('Deployment', { namespace: system, name: 'streamkeeper-operator' })).rejects.toThrow(/not found/);
  });

  it('is done at once when there is no Deployment (already stopped)', async () => {
    expect(await stopOperatorForUninstall(stopOptions(await world(false), { t: 0 }))).toBe(true);
  });

  it('gives up after the timeout while the Deployment is still being deleted (its pods have not stopped)', async () => {
    const kube = new FakeKubeClient();
    await kube.create('Deployment', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'streamkeeper-operator', namespace: system, finalizers: ['foregroundDeletion'] }, spec: { selector: {}, template: {} } });
    const clock = { t: 0 };
    expect(await stopOperatorForUninstall(stopOptions(kube, clock))).toBe(false);
    expect(clock.t).toBeGreaterThanOrEqual(10_000);
    expect((await kube.get('Deployment', { namespace: system, name: 'streamkeeper-operator' })).metadata.deletionTimestamp).toBeDefined();
  });
});
