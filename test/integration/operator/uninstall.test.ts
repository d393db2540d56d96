import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { finalizer } from '../../../src/api/v1alpha1/index.js';
import { ignoreNotFound } from '../../../src/kube/client.js';
import { createNamespace, deleteNamespace, uniqueSuffix } from '../../harness/kube.js';
import { OperatorProcess, leaseNamespace, writeCredentialsFile } from '../e2e/support/operator-process.js';
import { CoordinationSide, JobSide, eventually } from './operator-world.js';

// Uninstall against the real API server: the operator runs as a process with the flag the chart
// gives it (--operator-deployment) and the RBAC of manifests/install.yaml; its "Deployment" is an
// object of that name in its namespace, deleted as helm uninstall deletes it.
describe('an operator that is uninstalled, not restarted', () => {
  const deployment = 'streamkeeper-operator';
  const scratch = mkdtempSync(join(tmpdir(), 'sk-uninstall-'));
  let namespace = '';
  let side: CoordinationSide;
  let jobs: JobSide;
  let credentialsFile = '';

  const start = (leaseName: string): Promise<OperatorProcess> =>
    OperatorProcess.start({
      identity: `uninstall-${uniqueSuffix()}`,
      namespaces: [namespace],
      zkRoot: side.root,
      credentialsFile,
      leaseName,
      logFile: join(scratch, `${leaseName}.log`),
      extraArgs: [`--operator-deployment=${deployment}`],
    });
  const createDeployment = async (): Promise<void> => {
    await jobs.admin.create('Deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: deployment, namespace: leaseNamespace },
      spec: { replicas: 0, selector: { matchLabels: { 'test.streamkeeper.io/uninstall': 'true' } }, template: { metadata: { labels: { 'test.streamkeeper.io/uninstall': 'true' } }, spec: { containers: [{ name: 'operator', image: 'streamkeeper:test' }] } } },
    });
  };
  const finalizersOf = async (name: string): Promise<string[]> => (await jobs.admin.get('StreamingJob', { namespace, name })).metadata.finalizers ?? [];

  beforeAll(async () => {
    namespace = await createNamespace('uninstall');
    side = new CoordinationSide();
    jobs = new JobSide(side, namespace);
    credentialsFile = writeCredentialsFile(join(scratch, 'credentials'), side.operatorCredential);
    await ignoreNotFound(jobs.admin.delete('Deployment', { namespace: leaseNamespace, name: deployment }));
  });

  afterAll(async () => {
    await ignoreNotFound(jobs.admin.delete('Deployment', { namespace: leaseNamespace, name: deployment }));
    for (const job of (await jobs.admin.list('StreamingJob', { namespace })).items) {
      await ignoreNotFound(jobs.admin.patch('StreamingJob', { namespace, name: job.metadata.name }, { metadata: { finalizers: null } }));
    }
    await deleteNamespace(namespace);
    await side.closeAll();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps its finalizer and Lease when stopped while its Deployment exists (a restart)', async () => {
    await createDeployment();
    const leaseName = `restart-${uniqueSuffix()}`;
    const operator = await start(leaseName);
    await jobs.createJob('kept');
    await eventually(async () => { expect(await finalizersOf('kept')).toContain(finalizer); }, 'the operator puts its finalizer on');
    await operator.stop();
    expect(await finalizersOf('kept')).toContain(finalizer);
    expect(await jobs.admin.get('Lease', { namespace: leaseNamespace, name: leaseName })).toBeDefined();
    await jobs.admin.delete('Lease', { namespace: leaseNamespace, name: leaseName });
    await jobs.admin.delete('Deployment', { namespace: leaseNamespace, name: deployment });
  });

  it('releases every job and deletes its Lease when its Deployment is gone; kubectl delete sj then completes', async () => {
    const leaseName = `uninstall-${uniqueSuffix()}`;
    const operator = await start(leaseName);
    await jobs.createJob('released');
    await eventually(async () => {
      expect(await finalizersOf('released')).toContain(finalizer);
      expect((await jobs.pods('released')).length).toBeGreaterThan(0);
    }, 'the operator runs the job');
    // helm uninstall: the Deployment goes, then its pods get SIGTERM.
    await ignoreNotFound(jobs.admin.delete('Deployment', { namespace: leaseNamespace, name: deployment }));
    await operator.stop();
    expect(await finalizersOf('released')).toEqual([]);
    expect(await finalizersOf('kept')).toEqual([]);
    expect(await ignoreNotFound(jobs.admin.get('Lease', { namespace: leaseNamespace, name: leaseName }))).toBeUndefined();

    await jobs.admin.delete('StreamingJob', { namespace, name: 'released' });
    await eventually(async () => { expect(await ignoreNotFound(jobs.admin.get('StreamingJob', { namespace, name: 'released' }))).toBeUndefined(); }, 'the deleted job is gone with no operator running');
    // The garbage collector takes the job's pods through their owner references.
    await eventually(async () => { expect(await jobs.pods('released')).toEqual([]); }, 'the job\'s pods are garbage-collected');
  });
});
