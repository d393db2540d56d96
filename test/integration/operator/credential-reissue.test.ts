import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobRef } from '../../../src/coordination/layout.js';
import type { ZooKeeperSession } from '../../../src/coordination/session.js';
import { digestId } from '../../../src/coordination/zookeeper/digest.js';
import { ignoreNotFound } from '../../../src/kube/client.js';
import { credentialFingerprint } from '../../../src/operator/job-coordination.js';
import { credentialAnnotation } from '../../../src/operator/reconciler/naming.js';
import { createNamespace, deleteNamespace, uniqueSuffix } from '../../harness/kube.js';
import { CoordinationSide, JobSide, eventually, startOperator, type RunningOperator } from './operator-world.js';

/** Every znode of a subtree, parents first. */
async function subtree(session: ZooKeeperSession, path: string): Promise<string[]> {
  const below = await Promise.all((await session.children(path)).map((child) => subtree(session, `${path}/${child}`)));
  return [path, ...below.flat()];
}

describe('a job credential Secret deleted by hand', () => {
  let namespace: string;
  let side: CoordinationSide;
  let jobs: JobSide;
  let operator: RunningOperator;

  beforeAll(async () => {
    namespace = await createNamespace('operator-credential');
    side = new CoordinationSide();
    jobs = new JobSide(side, namespace);
    operator = startOperator(side, namespace, `test-${uniqueSuffix()}`);
    await eventually(() => { expect(operator.operator.isLeading).toBe(true); }, 'the operator leading');
  });

  afterAll(async () => {
    await ignoreNotFound(jobs.admin.delete('StreamingJob', { namespace, name: 'creds' }));
    await eventually(async () => { await expect(jobs.admin.get('StreamingJob', { namespace, name: 'creds' })).rejects.toMatchObject({ code: 'SK_KUBE_NOT_FOUND' }); }, 'the job finalized').catch(() => undefined);
    await operator.stop();
    await side.closeAll();
    await deleteNamespace(namespace);
  });

  it('is re-issued: a new credential, the subtree admitting only it, the pods replaced, and a Warning saying so', async () => {
    const ref: JobRef = { namespace, name: 'creds' };
    await jobs.createJob('creds');
    await eventually(async () => { expect(await jobs.podNames('creds')).toHaveLength(3); }, 'pods created');
    await jobs.bringUp('creds');
    await eventually(async () => { expect((await jobs.status('creds'))?.phase).toBe('Running'); }, 'Running');
    const lost = await jobs.credential('creds');
    const before = new Map((await jobs.pods('creds')).map((pod) => [pod.metadata.name, pod.metadata.uid]));
    for (const pod of await jobs.pods('creds')) expect(pod.metadata.annotations?.[credentialAnnotation]).toBe(credentialFingerprint(digestId(lost)));

    await jobs.admin.delete('Secret', { namespace, name: 'creds-zookeeper' });
    // Nothing announces a deleted Secret to the operator: its next pass (a Running job is looked at every 30 s) finds it.
    const issued = await eventually(async () => {
      const credential = await jobs.credential('creds');
      expect(credential.password).not.toBe(lost.password);
      return credential;
    }, 'a new credential Secret', 110_000);
    expect(issued.user).toBe(lost.user);

    // Every node of the job's subtree admits the new credential and refuses the lost one.
    const operatorSession = await side.open(side.operatorCredential);
    const fresh = await side.open(issued);
    const stale = await side.open(lost);
    await eventually(async () => {
      const paths = await subtree(operatorSession, side.layout.job(ref));
      expect(paths).toContain(side.layout.config(ref));
      for (const path of paths) {
        await expect(fresh.get(path)).resolves.toBeDefined();
        await expect(stale.get(path)).rejects.toMatchObject({ code: 'SK_ZK_NO_AUTH' });
      }
    }, 'the subtree locked to the new credential');

    // The pods held the lost credential: each is replaced by one created for the new one.
    await eventually(async () => {
      const pods = await jobs.pods('creds');
      expect(pods.map((pod) => pod.metadata.name).sort()).toEqual(['creds-driver', 'creds-executor-0', 'creds-executor-1']);
      for (const pod of pods) {
        expect(pod.metadata.uid).not.toBe(before.get(pod.metadata.name));
        expect(pod.metadata.annotations?.[credentialAnnotation]).toBe(credentialFingerprint(digestId(issued)));
      }
    }, 'the pods replaced', 90_000);

    const events = (await jobs.admin.list('Event', { namespace })).items;
    const warning = events.find((e) => e.reason === 'CredentialReissued');
    expect(warning).toMatchObject({ type: 'Warning', regarding: { name: 'creds' } });
    expect(warning?.note).toContain('creds-zookeeper');
    const told = JSON.stringify([events.map((e) => e.note), await jobs.status('creds')]);
    expect(told).not.toContain(lost.password);
    expect(told).not.toContain(issued.password);
  });
});
