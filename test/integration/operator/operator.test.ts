import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { finalizer } from '../../../src/api/v1alpha1/index.js';
import { createNamespace, deleteNamespace, uniqueSuffix } from '../../harness/kube.js';
import { CoordinationSide, JobSide, eventually, sampleSpec, startOperator, type RunningOperator } from './operator-world.js';

describe('streamkeeper operator on a real API server and ZooKeeper', () => {
  let namespace: string;
  let side: CoordinationSide;
  let jobs: JobSide;
  let operator: RunningOperator;

  beforeAll(async () => {
    namespace = await createNamespace('operator');
    side = new CoordinationSide();
    jobs = new JobSide(side, namespace);
    operator = startOperator(side, namespace, `test-${uniqueSuffix()}`);
    await eventually(() => {
      if (!operator.operator.isLeading) throw new Error('not leading yet');
    }, 'the operator leading');
  });

  afterAll(async () => {
    await operator.stop();
    await side.closeAll();
    await deleteNamespace(namespace);
  });

  const condition = async (job: string, type: string) => (await jobs.status(job))?.conditions?.find((c) => c.type === type);

  it('creates a job\'s pods, Service and credential Secret under its own RBAC, and reports Pending', async () => {
    await jobs.createJob('wordcount');
    await eventually(async () => { expect(await jobs.podNames('wordcount')).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1']); }, 'pods created');
    const job = await jobs.admin.get('StreamingJob', { namespace, name: 'wordcount' });
    expect(job.metadata.finalizers).toEqual([finalizer]);
    const service = await jobs.admin.get('Service', { namespace, name: 'wordcount-driver' });
    expect(service.spec?.clusterIP).toBe('None');
    const credential = await jobs.credential('wordcount');
    expect(credential.user).toBe(`job.${namespace}.wordcount`);
    await eventually(async () => {
      const status = await jobs.status('wordcount');
      expect(status).toMatchObject({ phase: 'Pending', observedGeneration: 1, executors: { desired: 2, ready: 0, summary: '0/2' } });
      expect(status?.conditions?.find((c) => c.type === 'ConfigSynced')).toMatchObject({ status: 'True', reason: 'Synced' });
    }, 'a Pending status');
    const events = (await jobs.admin.list('Event', { namespace })).items;
    expect(events.map((e) => e.reason)).toContain('CreatedPods');
    // The subtree is locked: the job's credential gets in, the pods run as non-root under the restricted profile.
    const pod = (await jobs.pods('wordcount'))[0];
    expect(pod?.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532 });
    expect(pod?.spec?.containers[0]?.command).toBeUndefined();
  });

  it('reports Running and Ready once the pods run and the executors and driver register in ZooKeeper', async () => {
    await jobs.bringUp('wordcount');
    await eventually(async () => {
      expect(await jobs.status('wordcount')).toMatchObject({ phase: 'Running', replicas: 2, executors: { ready: 2, summary: '2/2' } });
      expect(await condition('wordcount', 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 });
    }, 'Running');
  });

  it('replaces a deleted pod', async () => {
    const before = (await jobs.pods('wordcount')).find((pod) => pod.metadata.name === 'wordcount-executor-1');
    await jobs.admin.delete('Pod', { namespace, name: 'wordcount-executor-1' }, { gracePeriodSeconds: 0 });
    await eventually(async () => {
      const after = (await jobs.pods('wordcount')).find((pod) => pod.metadata.name === 'wordcount-executor-1');
      expect(after?.metadata.uid).toBeDefined();
      expect(after?.metadata.uid).not.toBe(before?.metadata.uid);
    }, 'the replacement');
    await jobs.bringUp('wordcount');
  });

  it('replaces an executor whose pod terminated', async () => {
    const before = (await jobs.pods('wordcount')).find((pod) => pod.metadata.name === 'wordcount-executor-0');
    await jobs.terminatePod('wordcount-executor-0', 137);
    await eventually(async () => {
      const after = (await jobs.pods('wordcount')).find((pod) => pod.metadata.name === 'wordcount-executor-0');
      expect(after?.metadata.uid).not.toBe(before?.metadata.uid);
      expect(after?.status?.phase).toBe('Pending');
    }, 'the replacement');
    const warnings = (await jobs.admin.list('Event', { namespace })).items.filter((e) => e.reason === 'ExecutorFailed');
    expect(warnings[0]?.note).toContain('exit code 137');
    await jobs.bringUp('wordcount');
  });

  it('scales up, and scales down by draining the highest ordinals first', async () => {
    await jobs.updateSpec('wordcount', (spec) => ({ ...spec, executors: { ...spec.executors, replicas: 3 } }));
    await eventually(async () => { expect(await jobs.podNames('wordcount')).toContain('wordcount-executor-2'); }, 'scale-up');
    await jobs.bringUp('wordcount');
    await eventually(async () => { expect((await jobs.status('wordcount'))?.executors?.summary).toBe('3/3'); }, 'three ready executors');

    await jobs.updateSpec('wordcount', (spec) => ({ ...spec, executors: { ...spec.executors, replicas: 1 } }));
    await eventually(async () => { expect(await jobs.podNames('wordcount')).toEqual(['wordcount-driver', 'wordcount-executor-0']); }, 'scale-down');
    await jobs.reapExecutors('wordcount');
    await eventually(async () => { expect((await jobs.status('wordcount'))?.executors).toMatchObject({ desired: 1, ready: 1 }); }, 'the scaled-down status');
    const drains = (await jobs.admin.list('Event', { namespace })).items.filter((e) => e.reason === 'DrainingExecutor');
    const drained = drains.map((e) => e.note).join('\n');
    expect(drained).toContain('wordcount-executor-2');
    expect(drained).toContain('wordcount-executor-1');
  });

  it('suspends (driver first, then the executors, ZooKeeper state kept) and resumes', async () => {
    await jobs.updateSpec('wordcount', (spec) => ({ ...spec, suspend: true }));
    await eventually(async () => { expect(await jobs.podNames('wordcount')).toEqual([]); }, 'all pods stopped', 90_000);
    await jobs.reapExecutors('wordcount');
    await eventually(async () => { expect((await jobs.status('wordcount'))?.phase).toBe('Suspended'); }, 'Suspended');
    const operatorSession = await side.open(side.operatorCredential);
    expect(await operatorSession.exists(side.layout.config({ namespace, name: 'wordcount' }))).not.toBeNull();

    await jobs.updateSpec('wordcount', (spec) => ({ ...spec, suspend: false }));
    await eventually(async () => { expect(await jobs.podNames('wordcount')).toEqual(['wordcount-driver', 'wordcount-executor-0']); }, 'pods back');
  });

  it('reports an invalid spec as Failed with InvalidSpec and a Warning Event, and creates no pods', async () => {
    await jobs.createJob('broken', sampleSpec({ processor: { builtin: 'filter', params: { regex: '(' } } }));
    await eventually(async () => {
      expect((await jobs.status('broken'))?.phase).toBe('Failed');
      expect(await condition('broken', 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: expect.stringContaining('spec.processor.params[regex]') as unknown });
    }, 'the InvalidSpec condition');
    const warning = (await jobs.admin.list('Event', { namespace })).items.find((e) => e.reason === 'InvalidSpec' && e.regarding?.name === 'broken');
    expect(warning?.type).toBe('Warning');
    expect(await jobs.podNames('broken')).toEqual([]);
  });

  it('removes the job\'s ZooKeeper subtree before letting the job go; its pods go by garbage collection', async () => {
    const ref = { namespace, name: 'wordcount' };
    const operatorSession = await side.open(side.operatorCredential);
    expect(await operatorSession.exists(side.layout.job(ref))).not.toBeNull();
    await jobs.admin.delete('StreamingJob', ref);
    await eventually(async () => {
      await expect(jobs.admin.get('StreamingJob', ref)).rejects.toMatchObject({ code: 'SK_KUBE_NOT_FOUND' });
    }, 'the job gone');
    expect(await operatorSession.exists(side.layout.job(ref))).toBeNull();
    await eventually(async () => { expect(await jobs.podNames('wordcount')).toEqual([]); }, 'pods collected');
  });
});
