import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ignoreNotFound } from '../../../src/kube/client.js';
import type { Lease, Stored } from '../../../src/kube/objects.js';
import { createNamespace, deleteNamespace, uniqueSuffix } from '../../harness/kube.js';
import { OperatorProcess, leaseNamespace, shortLease, writeCredentialsFile } from '../e2e/support/operator-process.js';
import { CoordinationSide, JobSide, eventually } from './operator-world.js';

/** A Lease time in ms, and how coarse it is: a time without a fraction is only good to the second. */
function leaseTime(value: string | undefined, field: string): { ms: number; granularityMs: number } {
  const ms = Date.parse(value ?? '');
  if (Number.isNaN(ms)) throw new Error(`the Lease has no ${field}: ${String(value)}`);
  return { ms, granularityMs: value?.includes('.') === true ? 0 : 1000 };
}

describe('operator replicas as processes, the leader killed', () => {
  const leaseName = `failover-${uniqueSuffix()}`;
  const replicas: OperatorProcess[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'sk-operator-failover-'));
  let namespace: string;
  let side: CoordinationSide;
  let jobs: JobSide;
  let credentialsFile: string;

  const lease = (): Promise<Stored<Lease>> => jobs.admin.get('Lease', { namespace: leaseNamespace, name: leaseName });
  const start = async (identity: string): Promise<OperatorProcess> => {
    const replica = await OperatorProcess.start({ identity, namespaces: [namespace], zkRoot: side.root, credentialsFile, leaseName, logFile: join(scratch, `${identity}.log`), extraArgs: ['--workers=2'] });
    replicas.push(replica);
    return replica;
  };

  beforeAll(async () => {
    namespace = await createNamespace('operator-failover');
    side = new CoordinationSide();
    jobs = new JobSide(side, namespace);
    credentialsFile = writeCredentialsFile(join(scratch, 'credentials'), side.operatorCredential);
  });

  afterAll(async () => {
    // The jobs carry the finalizer: a live leader removes their ZooKeeper data and lets them go.
    if (replicas.some((replica) => replica.running)) {
      const names = (await jobs.admin.list('StreamingJob', { namespace })).items.map((job) => job.metadata.name);
      for (const name of names) await ignoreNotFound(jobs.admin.delete('StreamingJob', { namespace, name }));
      await eventually(async () => { expect((await jobs.admin.list('StreamingJob', { namespace })).items).toEqual([]); }, 'the jobs finalized').catch(() => undefined);
    }
    for (const replica of replicas) if (replica.running) await replica.kill();
    rmSync(scratch, { recursive: true, force: true });
    await ignoreNotFound(jobs.admin.delete('Lease', { namespace: leaseNamespace, name: leaseName }));
    await side.closeAll();
    await deleteNamespace(namespace);
  });

  it('lets the standby take the Lease only after the dead leader\'s lease expired; the standby then leads and reconciles', async () => {
    const a = await start('replica-a');
    await eventually(async () => { expect(await a.metric('streamkeeper_leader')).toBe(1); }, 'replica a leading');
    const b = await start('replica-b');
    expect(await b.metric('streamkeeper_leader')).toBe(0);
    expect((await lease()).spec?.holderIdentity).toBe('replica-a');
    await jobs.createJob('before');
    await eventually(async () => { expect(await jobs.podNames('before')).toHaveLength(3); }, 'the leader reconciling');

    expect(await a.kill()).toMatchObject({ signal: 'SIGKILL' });
    // The dead leader's last renewal: read after its death, and again while it still shows (a
    // request it sent just before dying may still land).
    let lastOfA = await lease();
    expect(lastOfA.spec?.holderIdentity).toBe('replica-a');
    await jobs.createJob('after');
    const taken = await eventually(async () => {
      const current = await lease();
      if (current.spec?.holderIdentity === 'replica-a') lastOfA = current;
      expect(current.spec?.holderIdentity).toBe('replica-b');
      return current;
    }, 'replica b holding the Lease', 110_000);

    const renewed = leaseTime(lastOfA.spec?.renewTime, 'renewTime');
    const acquired = leaseTime(taken.spec?.acquireTime, 'acquireTime');
    const expiredAt = renewed.ms + (lastOfA.spec?.leaseDurationSeconds ?? 0) * 1000;
    // The replicas run with the e2e Lease timings (`--leader-election-lease-duration`, whole seconds).
    expect(lastOfA.spec?.leaseDurationSeconds).toBe(Number.parseInt(shortLease.leaseDuration, 10));
    expect(acquired.ms + Math.max(renewed.granularityMs, acquired.granularityMs)).toBeGreaterThanOrEqual(expiredAt);
    expect(taken.spec?.leaseTransitions).toBe((lastOfA.spec?.leaseTransitions ?? 0) + 1);

    await eventually(async () => { expect(await b.metric('streamkeeper_leader')).toBe(1); }, 'replica b reporting itself leader');
    await eventually(async () => { expect(await jobs.podNames('after')).toEqual(['after-driver', 'after-executor-0', 'after-executor-1']); }, 'the new leader reconciling a job created after the kill');
    expect(await jobs.podNames('before')).toHaveLength(3);
  });
});
