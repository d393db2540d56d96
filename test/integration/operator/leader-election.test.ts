import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { createNamespace, deleteNamespace, uniqueSuffix } from '../../harness/kube.js';
import { CoordinationSide, JobSide, eventually, startOperator, type RunningOperator } from './operator-world.js';

describe('two operator replicas', () => {
  let namespace: string;
  let side: CoordinationSide;
  const replicas: RunningOperator[] = [];

  beforeAll(async () => {
    namespace = await createNamespace('operator-ha');
    side = new CoordinationSide();
  });

  afterAll(async () => {
    for (const replica of replicas) await replica.stop();
    await side.closeAll();
    await deleteNamespace(namespace);
  });

  it('run one leader; the standby takes over when the leader stops, and carries on reconciling', async () => {
    const lease = `test-${uniqueSuffix()}`;
    const a = startOperator(side, namespace, lease, 'replica-a');
    replicas.push(a);
    await eventually(() => { expect(a.operator.isLeading).toBe(true); }, 'replica a leading');
    const b = startOperator(side, namespace, lease, 'replica-b');
    replicas.push(b);
    await eventually(() => { expect(b.operator.cache.hasSynced()).toBe(true); }, 'replica b warm');
    await sleep(3000);
    expect([a.operator.isLeading, b.operator.isLeading]).toEqual([true, false]);

    const jobs = new JobSide(side, namespace);
    await jobs.createJob('before');
    await eventually(async () => { expect(await jobs.podNames('before')).toHaveLength(3); }, 'the leader reconciling');

    expect(await a.stop()).toBe(0);
    replicas.shift();
    // A stopping leader releases the Lease, so the standby need not wait out the lease duration.
    const released = await jobs.admin.get('Lease', { namespace: 'streamkeeper-system', name: lease });
    expect(['', 'replica-b']).toContain(released.spec?.holderIdentity);
    await eventually(() => { expect(b.operator.isLeading).toBe(true); }, 'replica b leading');

    await jobs.createJob('after');
    await eventually(async () => { expect(await jobs.podNames('after')).toHaveLength(3); }, 'the new leader reconciling');
  });
});
