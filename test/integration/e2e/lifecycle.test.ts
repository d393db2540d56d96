/**
 * A wordcount job's life, end to end: created with kubectl, run by the operator (a real process
 * under its own RBAC) as a driver and executors (real processes on the test's node agent), fed
 * text through Kafka, checked exactly once in its output, and deleted without leaving anything
 * behind in Kubernetes or ZooKeeper.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { apiVersion, conditionTypes, finalizer, jobLabels, kind, labelKeys } from '../../../src/api/v1alpha1/index.js';
import { ignoreNotFound } from '../../../src/kube/client.js';
import type { Pod, Stored } from '../../../src/kube/objects.js';
import { isAlive } from '../../../src/local/supervised-process.js';
import { podTemplateHashLabel } from '../../../src/operator/reconciler/naming.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import type { WordcountJob } from './support/wordcount-job.js';

const executors = 2;

/** The command line of a process, as /proc shows it. */
function commandLine(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
}

describe('a StreamingJob from kubectl apply to kubectl delete', () => {
  const e2e = e2eSuite({ name: 'lifecycle' });
  let job: WordcountJob;
  let pids: number[] = [];

  it('runs a created job: Running with its conditions, a driver and executor processes registered in ZooKeeper', e2e.scenario(async (world) => {
    job = await world.wordcountJob('wordcount', { executors });
    await job.produceSample(150); // waiting in the topic before the job exists: startingOffsets earliest
    await job.apply();

    const running = await job.waitForRunning(executors);
    const generation = running.metadata.generation;
    expect(running.metadata.finalizers).toEqual([finalizer]);
    const status = await job.status();
    expect(status).toMatchObject({
      phase: 'Running',
      observedGeneration: generation,
      replicas: executors,
      executors: { desired: executors, ready: executors, draining: 0, summary: `${executors}/${executors}` },
    });
    // The scale subresource's selector: exactly the executors' labels.
    expect(status?.selector?.split(',').sort()).toEqual(Object.entries(jobLabels('wordcount', 'executor')).map(([key, value]) => `${key}=${value}`).sort());
    expect(status?.configHash).toEqual(expect.any(String));
    const conditions = Object.fromEntries((status?.conditions ?? []).map((c) => [c.type, c]));
    expect(conditions[conditionTypes.ready]).toMatchObject({ status: 'True', reason: 'Running', observedGeneration: generation });
    expect(conditions[conditionTypes.progressing]).toMatchObject({ status: 'False', reason: 'UpToDate', observedGeneration: generation });
    expect(conditions[conditionTypes.configSynced]).toMatchObject({ status: 'True', reason: 'Synced', observedGeneration: generation });
    expect(conditions[conditionTypes.executorsAvailable]).toMatchObject({ status: 'True', reason: 'ExecutorsReady', observedGeneration: generation });
    expect(conditions.Stalled).toBeUndefined();

    const pods = await job.waitForPodsReady(executors);
    const owner = { apiVersion, kind, name: 'wordcount', uid: running.metadata.uid, controller: true, blockOwnerDeletion: true };
    const check = (pod: Stored<Pod> | undefined, component: 'driver' | 'executor'): void => {
      expect(pod?.metadata.labels).toMatchObject({ ...jobLabels('wordcount', component), [podTemplateHashLabel]: expect.any(String) });
      expect(pod?.metadata.ownerReferences).toEqual([owner]);
      expect(pod?.spec).toMatchObject({
        nodeName: world.nodeAgent.nodeName,
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      });
      const container = pod?.spec?.containers[0];
      expect(container?.command).toBeUndefined();
      expect(container?.args).toEqual([component, '--log-format=json']);
      expect(container?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    };
    check(pods.driver, 'driver');
    for (const pod of pods.executors) check(pod, 'executor');

    // Each pod is a live `streamkeeper driver|executor` process run by the node agent.
    pids = [];
    for (const pod of pods.all) {
      const pid = await job.processOf(pod.metadata.name);
      const component = pod.metadata.labels?.[labelKeys.component] ?? '';
      expect(isAlive(pid)).toBe(true);
      expect(commandLine(pid)).toEqual(expect.arrayContaining([expect.stringMatching(/streamkeeper\.js$/), component]));
      pids.push(pid);
    }

    const registered = await job.registeredExecutors();
    expect([...registered.keys()].sort()).toEqual(pods.executors.map((pod) => pod.metadata.name));
    expect([...registered.values()].map((executor) => executor.state)).toEqual(Array(executors).fill('active'));
    expect(await job.driverRegistered()).toBe(true);

    // The operator that did it: healthy, leading, and counting what it made.
    const operator = await world.leader();
    expect(await operator.answers('/healthz')).toBe(true);
    expect(await operator.metric('streamkeeper_pods_created_total{component="driver"}')).toBe(1);
    expect(await operator.metric('streamkeeper_pods_created_total{component="executor"}')).toBe(executors);
    expect(await operator.metric('streamkeeper_jobs{phase="Running"}')).toBe(1);
  }), e2eTimeoutMs);

  it('counts every word produced before and while it runs exactly once, and reports no lag', e2e.scenario(async (world) => {
    for (let burst = 0; burst < 3; burst++) await job.produceSample(100);
    const offsets = await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();

    expect(offsets.progress).toMatchObject({ totalLag: 0 });
    const status = await job.status();
    expect(status).toMatchObject({ phase: 'Running', totalLag: 0, lastCommittedBatch: { id: expect.any(Number), committedAt: expect.any(String) } });
    expect(status?.lastCommittedBatch?.id).toBeGreaterThanOrEqual(Number(offsets.batch));
    expect(Number.isNaN(Date.parse(status?.lastCommittedBatch?.committedAt ?? ''))).toBe(false);

    // What `kubectl get` shows a user, through the CRD's printer columns.
    const table = (await world.kubectl.run(['get', 'streamingjob', 'wordcount', '-n', world.namespace])).stdout.trim().split('\n');
    const [header = [], row = []] = table.map((line) => line.split(/\s{2,}/));
    expect(Object.fromEntries(header.map((column, i) => [column, row[i]]))).toMatchObject({ NAME: 'wordcount', PHASE: 'Running', READY: `${executors}/${executors}`, LAG: '0' });
  }), e2eTimeoutMs);

  it('deletes the job only after its ZooKeeper subtree is gone, and its pods, Service and Secret go with it', e2e.scenario(async (world) => {
    expect(await job.subtreeExists()).toBe(true);
    await job.delete();

    await eventually(async () => {
      expect(await job.get()).toBeUndefined();
    }, 'the StreamingJob gone (the operator removed its finalizer)');
    // The finalizer is removed only once the subtree is deleted, so it is gone by now.
    expect(await job.subtreeExists()).toBe(false);

    await eventually(async () => {
      expect((await job.pods({ includeTerminating: true })).all.map((pod) => pod.metadata.name)).toEqual([]);
    }, 'the pods garbage-collected');
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    const { namespace } = world;
    await eventually(async () => {
      expect(await ignoreNotFound(world.admin.get('Service', { namespace, name: 'wordcount-driver' }))).toBeUndefined();
      expect(await ignoreNotFound(world.admin.get('Secret', { namespace, name: 'wordcount-zookeeper' }))).toBeUndefined();
    }, 'the driver Service and the credential Secret garbage-collected');
  }), e2eTimeoutMs);
});
