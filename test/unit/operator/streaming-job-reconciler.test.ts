import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { finalizer } from '../../../src/api/v1alpha1/index.js';
import { StreamkeeperError } from '../../../src/errors/index.js';
import type { Pod, Stored } from '../../../src/kube/objects.js';
import { credentialAnnotation, driverRestartsAnnotation, podTemplateHashLabel } from '../../../src/operator/reconciler/naming.js';
import { credentialCheckIntervalMs } from '../../../src/operator/streaming-job-reconciler.js';
import { requeueIntervals } from '../../../src/operator/reconciler/requeue.js';
import { ReconcilerWorld, namespace, sampleSpec } from './support/reconciler-world.js';

let world: ReconcilerWorld;
const job = { namespace, name: 'wordcount' };

beforeEach(async () => {
  world = new ReconcilerWorld();
  await world.start();
});

afterEach(async () => {
  await world.stop();
});

const hashOf = (pod: Stored<Pod>): string | undefined => pod.metadata.labels?.[podTemplateHashLabel];

/** Runs passes, bringing up whatever the operator created, until the job is Running. */
async function runningJob(name = 'wordcount', spec = sampleSpec()): Promise<void> {
  await world.createJob(name, spec);
  await world.pass(name);
  await world.bringUp(name);
  await world.pass(name);
  expect((await world.status(name)).phase).toBe('Running');
}

describe('a new job', () => {
  it('gets the finalizer, its credential Secret, the driver Service and its pods, and a Pending status', async () => {
    await world.createJob('wordcount');
    const result = await world.pass('wordcount');

    const stored = await world.job('wordcount');
    expect(stored.metadata.finalizers).toEqual([finalizer]);
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1']);
    const secret = await world.kube.get('Secret', { namespace, name: 'wordcount-zookeeper' });
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['password', 'user']);
    const service = await world.kube.get('Service', { namespace, name: 'wordcount-driver' });
    expect(service.spec?.clusterIP).toBe('None');
    expect(world.coordination.mirroredConfig(job)?.generation).toBe(1);

    const status = await world.status('wordcount');
    expect(status.phase).toBe('Pending');
    expect(status.observedGeneration).toBe(1);
    expect(status.executors).toEqual({ desired: 2, ready: 0, draining: 0, summary: '0/2' });
    expect(status.selector).toBe('app.kubernetes.io/component=executor,app.kubernetes.io/instance=wordcount,app.kubernetes.io/managed-by=streamkeeper-operator,app.kubernetes.io/name=streamkeeper');
    expect(status.configHash).toMatch(/^sha256:/);
    // The status tells the state after the pass: the pods exist and start.
    expect(await world.condition('wordcount', 'Progressing')).toMatchObject({ status: 'True', reason: 'WaitingForPods' });
    expect(await world.condition('wordcount', 'ConfigSynced')).toMatchObject({ status: 'True', reason: 'Synced', observedGeneration: 1 });
    expect(world.statusWrites()).toBe(1);
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(await world.eventReasons()).toEqual(['CreatedPods']);
  });

  it('labels and owns everything it creates', async () => {
    await world.createJob('wordcount');
    await world.pass('wordcount');
    const uid = (await world.job('wordcount')).metadata.uid;
    const objects = [...(await world.pods()), await world.kube.get('Service', { namespace, name: 'wordcount-driver' }), await world.kube.get('Secret', { namespace, name: 'wordcount-zookeeper' })];
    for (const object of objects) {
      expect(object.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'streamkeeper', 'app.kubernetes.io/instance': 'wordcount', 'app.kubernetes.io/managed-by': 'streamkeeper-operator' });
      expect(object.metadata.ownerReferences).toEqual([{ apiVersion: 'streamkeeper.io/v1alpha1', kind: 'StreamingJob', name: 'wordcount', uid, controller: true, blockOwnerDeletion: true }]);
    }
    const driver = await world.pod('wordcount-driver');
    expect(driver.metadata.labels?.['app.kubernetes.io/component']).toBe('driver');
    expect((await world.pod('wordcount-executor-0')).metadata.labels?.['app.kubernetes.io/component']).toBe('executor');
  });

  it('issues the credential once, and never reads a Secret', async () => {
    await world.createJob('wordcount');
    await world.pass('wordcount');
    await world.pass('wordcount');
    const secretCreates = world.kube.actions.filter((a) => a.kind === 'Secret' && a.verb === 'create');
    expect(secretCreates).toHaveLength(1);
    expect(world.kube.actions.some((a) => a.kind === 'Secret' && (a.verb === 'get' || a.verb === 'list' || a.verb === 'watch'))).toBe(false);
  });

  it('replaces a credential Secret left by an interrupted attempt', async () => {
    await world.kube.create('Secret', { metadata: { namespace, name: 'wordcount-zookeeper' }, stringData: { user: 'stale', password: 'stale' } });
    await world.createJob('wordcount');
    await world.pass('wordcount');
    const secret = await world.kube.get('Secret', { namespace, name: 'wordcount-zookeeper' });
    expect(Buffer.from(secret.data?.user ?? '', 'base64').toString()).toBe('job.team-a.wordcount');
    expect(secret.metadata.ownerReferences?.[0]?.name).toBe('wordcount');
  });

  it('writes the status once for a new job: the second pass, after the pod events, has nothing to add', async () => {
    await world.createJob('wordcount');
    await world.pass('wordcount');
    await world.pass('wordcount');
    expect(world.statusWrites()).toBe(1);
  });

  it('becomes Running and Ready once the driver and the executors are up and registered', async () => {
    await runningJob();
    const status = await world.status('wordcount');
    expect(status.executors?.summary).toBe('2/2');
    expect(status.replicas).toBe(2);
    expect(await world.condition('wordcount', 'Ready')).toMatchObject({ status: 'True', reason: 'Running', observedGeneration: 1 });
    expect(await world.condition('wordcount', 'ExecutorsAvailable')).toMatchObject({ status: 'True' });
    expect(await world.condition('wordcount', 'Progressing')).toMatchObject({ status: 'False', reason: 'UpToDate' });
    expect(await world.condition('wordcount', 'Stalled')).toBeUndefined();
    expect(world.phases.counts()).toEqual({ Running: 1 });
    expect(await world.eventReasons()).toContain('Running');
  });
});

describe('writing the status', () => {
  it('writes once per pass, and not at all when nothing changed', async () => {
    await runningJob();
    const writes = world.statusWrites();
    await world.pass('wordcount');
    await world.pass('wordcount');
    expect(world.statusWrites()).toBe(writes);
  });

  it('keeps a condition\'s lastTransitionTime while its status stays', async () => {
    await runningJob();
    const before = await world.condition('wordcount', 'Ready');
    world.now += 60_000;
    world.coordination.commitBatch(job, 7, '2025-06-01T12:01:00Z');
    await world.pass('wordcount');
    const after = await world.condition('wordcount', 'Ready');
    expect(after?.lastTransitionTime).toBe(before?.lastTransitionTime);
    expect((await world.status('wordcount')).lastCommittedBatch).toEqual({ id: 7, committedAt: '2025-06-01T12:01:00Z' });
  });

  it('fails the pass on a conflicting status write, so the queue retries it', async () => {
    await world.createJob('wordcount');
    world.kube.injectFault({ verbs: ['updateStatus'], error: new StreamkeeperError('SK_KUBE_CONFLICT', 'stale') });
    const err = await world.failingPass('wordcount');
    expect(err).toMatchObject({ code: 'SK_KUBE_CONFLICT' });
  });
});

describe('a job with a standby driver', () => {
  const job = { namespace: 'team-a', name: 'wordcount' };

  it('creates the standby once the driver registered, lets it take over a failed driver, and makes the failed pod\'s name the new standby', async () => {
    await world.createJob('wordcount', sampleSpec({ driver: { standby: true } }));
    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1']);
    await world.bringUp('wordcount');
    await world.pass('wordcount');
    expect(await world.podNames()).toContain('wordcount-driver-1');
    await world.runPod('wordcount-driver-1');
    world.coordination.setStandbyRegistered(job, 'wordcount-driver-1');
    await world.pass('wordcount');
    expect((await world.condition('wordcount', 'Ready'))?.message).toBe('the driver, its standby and 2/2 executors ready');

    const failed = (await world.pod('wordcount-driver')).metadata.uid;
    await world.terminatePod('wordcount-driver', 137);
    await world.pass('wordcount');
    expect(world.coordination.callsOf('driverGone')).toEqual([{ method: 'driverGone', job: 'team-a/wordcount', pod: 'wordcount-driver' }]);
    expect((await world.status('wordcount')).restarts).toBe(1);
    // The standby sees the node go and takes it.
    world.coordination.setStandbyRegistered(job, undefined);
    world.coordination.setDriverRegistered(job, true, undefined, 'wordcount-driver-1');
    await world.pass('wordcount');
    await world.pass('wordcount');
    const standby = await world.pod('wordcount-driver');
    expect(standby.metadata.uid).not.toBe(failed);
    expect(standby.status?.phase).not.toBe('Failed');
    expect((await world.status('wordcount')).restarts).toBe(1);

    // A standby that fails never drove: no restart, no driverGone, its own Event.
    await world.runPod('wordcount-driver');
    await world.terminatePod('wordcount-driver', 1);
    await world.pass('wordcount');
    expect(await world.eventReasons()).toContain('StandbyDriverFailed');
    expect((await world.status('wordcount')).restarts).toBe(1);
    expect(world.coordination.callsOf('driverGone')).toHaveLength(1);
  });
});

describe('replacing pods', () => {
  it('recreates a deleted pod under its name', async () => {
    await runningJob();
    await world.kube.delete('Pod', { namespace, name: 'wordcount-executor-1' });
    await world.pass('wordcount');
    expect(await world.podNames()).toContain('wordcount-executor-1');
  });

  it('tells the failure detector about a terminated executor before deleting it, then replaces it', async () => {
    await runningJob();
    world.coordination.setHolding(job, 'wordcount-executor-1', 3);
    await world.terminatePod('wordcount-executor-1', 137);
    await world.pass('wordcount');

    expect(world.coordination.callsOf('executorGone')).toEqual([{ method: 'executorGone', job: 'team-a/wordcount', pod: 'wordcount-executor-1' }]);
    expect(world.coordination.holding(job, 'wordcount-executor-0')).toBe(3);
    expect(await world.podNames()).not.toContain('wordcount-executor-1');
    const failed = (await world.events()).find((e) => e.reason === 'ExecutorFailed');
    expect(failed?.note).toContain('exit code 137');

    await world.pass('wordcount');
    expect(await world.podNames()).toContain('wordcount-executor-1');
  });

  it('recreates a driver that terminated and counts the restart', async () => {
    await runningJob();
    await world.terminatePod('wordcount-driver', 1);
    await world.pass('wordcount');
    await world.pass('wordcount');
    expect(await world.podNames()).toContain('wordcount-driver');
    expect((await world.status('wordcount')).restarts).toBe(1);
    expect((await world.pod('wordcount-driver')).metadata.annotations?.[driverRestartsAnnotation]).toBe('1');
    expect(await world.eventReasons()).toContain('DriverFailed');
    expect(world.coordination.callsOf('executorGone')).toEqual([]);
    // Its registration went with it, so the replacement need not wait out the dead session.
    expect(world.coordination.callsOf('driverGone')).toEqual([{ method: 'driverGone', job: 'team-a/wordcount', pod: 'wordcount-driver' }]);
  });

  it('keeps a failed driver until the status counts it, so a failed status write loses no restart', async () => {
    await runningJob();
    await world.terminatePod('wordcount-driver', 1);
    world.kube.injectFault({ verbs: ['updateStatus'], kinds: ['StreamingJob'] });
    await world.failingPass('wordcount');
    expect((await world.pod('wordcount-driver')).status?.phase).toBe('Failed');
    expect((await world.status('wordcount')).restarts).toBeUndefined();

    await world.pass('wordcount');
    expect((await world.status('wordcount')).restarts).toBe(1);
    expect(await world.podNames()).not.toContain('wordcount-driver');
    await world.pass('wordcount');
    expect((await world.pod('wordcount-driver')).metadata.annotations?.[driverRestartsAnnotation]).toBe('1');
    expect((await world.status('wordcount')).restarts).toBe(1);
  });

  it('counts a failed driver once when the operator stops between writing the status and deleting the pod', async () => {
    await runningJob();
    await world.terminatePod('wordcount-driver', 1);
    world.kube.injectFault({ verbs: ['delete'], kinds: ['Pod'] });
    await world.failingPass('wordcount');
    expect((await world.status('wordcount')).restarts).toBe(1);
    expect((await world.pod('wordcount-driver')).status?.phase).toBe('Failed');

    await world.pass('wordcount');
    expect(await world.podNames()).not.toContain('wordcount-driver');
    await world.pass('wordcount');
    expect(await world.podNames()).toContain('wordcount-driver');
    expect((await world.status('wordcount')).restarts).toBe(1);
  });
});

describe('the job\'s ZooKeeper credential', () => {
  const credentialOf = (pod: Stored<Pod>): string | undefined => pod.metadata.annotations?.[credentialAnnotation];
  const secretProbes = (): number => world.kube.actions.filter((a) => a.verb === 'delete' && a.kind === 'Secret').length;
  const secretPassword = async (): Promise<string> => {
    const secret = await world.kube.get('Secret', { namespace, name: 'wordcount-zookeeper' });
    return Buffer.from(secret.data?.password ?? '', 'base64').toString('utf8');
  };

  it('stamps every pod with the fingerprint of the credential it gets, and the driver with the restart count', async () => {
    await world.createJob('wordcount');
    await world.pass('wordcount');
    const fingerprint = world.coordination.credentialOf(job);
    expect(fingerprint).toMatch(/^[0-9a-f]{16}$/);
    for (const pod of await world.pods()) expect(credentialOf(pod)).toBe(fingerprint);
    expect((await world.pod('wordcount-driver')).metadata.annotations?.[driverRestartsAnnotation]).toBe('0');
    expect((await world.pod('wordcount-executor-0')).metadata.annotations?.[driverRestartsAnnotation]).toBeUndefined();
  });

  it('re-issues a credential whose Secret was deleted, and replaces the pods holding the old one', async () => {
    await runningJob();
    const oldPassword = await secretPassword();
    const oldFingerprint = world.coordination.credentialOf(job);
    await world.kube.delete('Secret', { namespace, name: 'wordcount-zookeeper' });
    world.now += credentialCheckIntervalMs;
    await world.pass('wordcount');

    expect(world.coordination.callsOf('revokeCredential')).toHaveLength(1);
    const newPassword = await secretPassword();
    expect(newPassword).not.toBe('');
    expect(newPassword).not.toBe(oldPassword);
    expect(world.coordination.credentialOf(job)).not.toBe(oldFingerprint);
    expect(world.coordination.callsOf('executorGone').map((call) => call.pod).sort()).toEqual(['wordcount-executor-0', 'wordcount-executor-1']);
    expect(await world.podNames()).toEqual([]);
    const warning = (await world.events()).find((e) => e.reason === 'CredentialReissued');
    expect(warning?.type).toBe('Warning');
    expect(warning?.note).toContain('wordcount-zookeeper');

    await world.pass('wordcount');
    const pods = await world.pods();
    expect(pods.map((pod) => pod.metadata.name).sort()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1']);
    for (const pod of pods) expect(credentialOf(pod)).toBe(world.coordination.credentialOf(job));
    // The replacement of a driver for its credential is no failure.
    expect((await world.status('wordcount')).restarts).toBeUndefined();
    const told = JSON.stringify([await world.events(), await world.status('wordcount')]);
    expect(told).not.toContain(oldPassword);
    expect(told).not.toContain(newPassword);
  });

  it('finishes a re-issue the operator stopped in, after revoking and before issuing', async () => {
    await runningJob();
    await world.kube.delete('Secret', { namespace, name: 'wordcount-zookeeper' });
    await world.coordination.revokeCredential({ ...job, uid: (await world.job('wordcount')).metadata.uid });
    world.now += credentialCheckIntervalMs;
    await world.pass('wordcount');
    expect(await secretPassword()).not.toBe('');
    expect(world.coordination.credentialOf(job)).toBeDefined();
    expect(await world.podNames()).toEqual([]);
  });

  it('looks for the Secret at most every 10 s, and not for a job it has just set up', async () => {
    await world.createJob('wordcount');
    await world.pass('wordcount');
    await world.bringUp('wordcount');
    await world.pass('wordcount');
    await world.pass('wordcount');
    expect(secretProbes()).toBe(0);
    world.now += credentialCheckIntervalMs;
    await world.pass('wordcount');
    await world.pass('wordcount');
    expect(secretProbes()).toBe(1);
    expect(world.coordination.callsOf('revokeCredential')).toEqual([]);
    expect(await world.kube.get('Secret', { namespace, name: 'wordcount-zookeeper' })).toBeDefined();
  });

  it('never looks for a Secret with open ACLs', async () => {
    await world.stop();
    world = new ReconcilerWorld({ credentials: 'open' });
    await world.start();
    await runningJob();
    world.now += credentialCheckIntervalMs;
    await world.pass('wordcount');
    expect(secretProbes()).toBe(0);
    expect(credentialOf(await world.pod('wordcount-driver'))).toBeUndefined();
  });

  it('reports a failed look at the Secret and goes on with the pass', async () => {
    await runningJob();
    world.now += credentialCheckIntervalMs;
    world.kube.injectFault({ verbs: ['delete'], kinds: ['Secret'], error: new StreamkeeperError('SK_KUBE_FORBIDDEN', 'secrets "wordcount-zookeeper" is forbidden') });
    await world.pass('wordcount');
    expect((await world.status('wordcount')).message).toContain('checking the credential Secret wordcount-zookeeper');
    expect(world.coordination.callsOf('revokeCredential')).toEqual([]);
    expect(await world.podNames()).toHaveLength(3);
  });
});

describe('scaling', () => {
  it('creates the missing executors on scale-up', async () => {
    await runningJob();
    await world.updateSpec('wordcount', (spec) => ({ ...spec, executors: { ...spec.executors, replicas: 4 } }));
    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1', 'wordcount-executor-2', 'wordcount-executor-3']);
    expect((await world.status('wordcount')).executors?.desired).toBe(4);
  });

  it('drains the highest ordinals on scale-down and deletes them only once they hold no tasks', async () => {
    await runningJob('wordcount', sampleSpec({ executors: { replicas: 3 } }));
    world.coordination.setHolding(job, 'wordcount-executor-2', 2);
    world.coordination.setHolding(job, 'wordcount-executor-1', 1);
    await world.updateSpec('wordcount', (spec) => ({ ...spec, executors: { ...spec.executors, replicas: 1 } }));

    const result = await world.pass('wordcount');
    expect(world.coordination.executorState(job, 'wordcount-executor-2')).toBe('draining');
    expect(world.coordination.executorState(job, 'wordcount-executor-1')).toBe('draining');
    expect(world.coordination.executorState(job, 'wordcount-executor-0')).toBe('active');
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1', 'wordcount-executor-2']);
    expect(result.requeueAfterMs).toBe(2000);
    expect(await world.condition('wordcount', 'Progressing')).toMatchObject({ status: 'True', reason: 'ScalingDown' });

    world.coordination.setHolding(job, 'wordcount-executor-2', 0);
    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1']);

    world.coordination.setHolding(job, 'wordcount-executor-1', 0);
    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0']);
  });
});

describe('a rolling update', () => {
  it('replaces executors one at a time, each drained first and its replacement ready before the next, the driver last', async () => {
    await runningJob();
    const oldHash = hashOf(await world.pod('wordcount-executor-0'));
    const oldDriverHash = hashOf(await world.pod('wordcount-driver'));
    await world.updateSpec('wordcount', (spec) => ({ ...spec, image: 'streamkeeper/streamkeeper:0.2.0' }));
    const log: string[] = [];
    const snapshot = async (): Promise<void> => {
      const pods = await world.pods();
      log.push(pods.map((pod) => `${pod.metadata.name}:${hashOf(pod) === oldHash || hashOf(pod) === oldDriverHash ? 'old' : 'new'}`).join(' '));
    };

    // Pass 1: the highest ordinal is asked to drain; it holds a task, so it stays.
    world.coordination.setHolding(job, 'wordcount-executor-1', 1);
    await world.pass('wordcount');
    expect(world.coordination.executorState(job, 'wordcount-executor-1')).toBe('draining');
    expect(world.coordination.executorState(job, 'wordcount-executor-0')).toBe('active');
    expect(await world.condition('wordcount', 'Progressing')).toMatchObject({ status: 'True', reason: 'RollingUpdate' });
    await snapshot();

    // Pass 2: drained → deleted (its process exits and deregisters); pass 3: the replacement
    // is created on the new template.
    world.coordination.setHolding(job, 'wordcount-executor-1', 0);
    await world.pass('wordcount');
    world.coordination.removeExecutor(job, 'wordcount-executor-1');
    await world.pass('wordcount');
    await snapshot();
    expect(hashOf(await world.pod('wordcount-executor-1'))).not.toBe(oldHash);

    // Executor 0 is not touched until the replacement is ready and registered.
    await world.pass('wordcount');
    expect(world.coordination.executorState(job, 'wordcount-executor-0')).toBe('active');
    await world.bringUp('wordcount');
    await world.pass('wordcount');
    expect(world.coordination.executorState(job, 'wordcount-executor-0')).toBe('draining');
    expect((await world.status('wordcount')).phase).toBe('Running');
    await world.pass('wordcount');
    world.coordination.removeExecutor(job, 'wordcount-executor-0');
    await world.pass('wordcount');
    await snapshot();

    // The driver goes last, once both executors are updated and ready.
    await world.pass('wordcount');
    expect(hashOf(await world.pod('wordcount-driver'))).toBe(oldDriverHash);
    await world.bringUp('wordcount');
    await world.pass('wordcount');
    await world.pass('wordcount');
    await snapshot();

    expect(log).toEqual([
      'wordcount-driver:old wordcount-executor-0:old wordcount-executor-1:old',
      'wordcount-driver:old wordcount-executor-0:old wordcount-executor-1:new',
      'wordcount-driver:old wordcount-executor-0:new wordcount-executor-1:new',
      'wordcount-driver:new wordcount-executor-0:new wordcount-executor-1:new',
    ]);
  });

  it('does not restart pods when only config or params change: the new config goes to ZooKeeper', async () => {
    await runningJob();
    const before = await world.podNames();
    const uids = (await world.pods()).map((pod) => pod.metadata.uid);
    await world.updateSpec('wordcount', (spec) => ({ ...spec, config: { 'window.size': '30' } }));
    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(before);
    expect((await world.pods()).map((pod) => pod.metadata.uid)).toEqual(uids);
    expect(world.coordination.mirroredConfig(job)?.generation).toBe(2);
    expect(await world.eventReasons()).toContain('ConfigUpdated');
  });
});

describe('suspend and resume', () => {
  it('stops the driver first, then drains and stops the executors, keeping ZooKeeper state; resuming brings the pods back', async () => {
    await runningJob();
    world.coordination.setHolding(job, 'wordcount-executor-0', 1);
    await world.updateSpec('wordcount', (spec) => ({ ...spec, suspend: true }));

    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(['wordcount-executor-0', 'wordcount-executor-1']);
    expect(world.coordination.callsOf('drain')).toEqual([]);
    // Executors on their way out are not counted against a desired count of 0 ("2/0").
    expect((await world.status('wordcount')).executors?.summary).toBe('0/0');

    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(['wordcount-executor-0']);
    world.coordination.setHolding(job, 'wordcount-executor-0', 0);
    await world.pass('wordcount');
    expect(await world.podNames()).toEqual([]);
    expect(await world.condition('wordcount', 'Ready')).toMatchObject({ status: 'False', reason: 'Suspending' });
    expect(await world.condition('wordcount', 'Reconciling')).toMatchObject({ status: 'True', reason: 'Suspending' });
    expect(await world.eventReasons()).not.toContain('Suspended');

    // The pass that sees no pod left: suspended is what the user asked for, so Ready (kubectl
    // wait, Flux) and the Suspended Event say so now, not while pods still drained.
    await world.pass('wordcount');
    const status = await world.status('wordcount');
    expect(status.phase).toBe('Suspended');
    expect(status.executors?.summary).toBe('0/0');
    expect(await world.condition('wordcount', 'Ready')).toMatchObject({ status: 'True', reason: 'Suspended' });
    expect(await world.condition('wordcount', 'Reconciling')).toBeUndefined();
    expect(await world.eventReasons()).toContain('Suspended');
    expect(world.coordination.hasJob(job)).toBe(true);
    expect(world.coordination.callsOf('deleteJob')).toEqual([]);
    expect((await world.pass('wordcount')).requeueAfterMs).toBeUndefined();

    await world.updateSpec('wordcount', (spec) => ({ ...spec, suspend: false }));
    await world.pass('wordcount');
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1']);
    expect(await world.eventReasons()).toEqual(expect.arrayContaining(['Suspended', 'Resumed']));
  });
});

describe('an invalid spec', () => {
  const invalid = sampleSpec({ processor: { builtin: 'filter', params: { regex: '(' } } });

  it('is reported as Failed with Ready=False reason InvalidSpec naming the field, a Warning Event, and no pods', async () => {
    await world.createJob('wordcount', invalid);
    const result = await world.pass('wordcount');

    expect(await world.podNames()).toEqual([]);
    expect(world.coordination.calls).toEqual([]);
    const status = await world.status('wordcount');
    expect(status.phase).toBe('Failed');
    const ready = await world.condition('wordcount', 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(ready?.message).toContain('spec.processor.params[regex]');
    expect(await world.condition('wordcount', 'Stalled')).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    const warnings = (await world.events()).filter((e) => e.type === 'Warning' && e.reason === 'InvalidSpec');
    expect(warnings).toHaveLength(1);
    expect(result).toEqual({});
    expect((await world.job('wordcount')).metadata.finalizers).toEqual([finalizer]);
  });

  it('is terminal until the spec changes: later passes write nothing and repeat no Event', async () => {
    await world.createJob('wordcount', invalid);
    await world.pass('wordcount');
    const writes = world.statusWrites();
    const events = (await world.events()).length;
    await world.pass('wordcount');
    await world.pass('wordcount');
    expect(world.statusWrites()).toBe(writes);
    expect((await world.events()).length).toBe(events);

    await world.updateSpec('wordcount', () => sampleSpec());
    await world.pass('wordcount');
    expect((await world.status('wordcount')).phase).toBe('Pending');
    expect(await world.podNames()).toHaveLength(3);
  });

  it('leaves the pods of the last valid spec running untouched', async () => {
    await runningJob();
    const uids = (await world.pods()).map((pod) => pod.metadata.uid);
    await world.updateSpec('wordcount', (spec) => ({ ...spec, processor: { builtin: 'filter', params: { regex: '(' } } }));
    await world.pass('wordcount');
    expect((await world.pods()).map((pod) => pod.metadata.uid)).toEqual(uids);
    expect((await world.status('wordcount')).phase).toBe('Failed');
    expect(world.coordination.mirroredConfig(job)?.generation).toBe(1);
  });
});

describe('ZooKeeper trouble', () => {
  it('reports the coordination as unavailable, creates no pods and fails the pass for a retry', async () => {
    await world.createJob('wordcount');
    world.coordination.failNext('ensureJob', new StreamkeeperError('SK_ZK_CONNECTION_LOSS', 'connection lost'));
    const err = await world.failingPass('wordcount');
    expect(err).toMatchObject({ code: 'SK_ZK_CONNECTION_LOSS' });
    expect(await world.podNames()).toEqual([]);
    expect(await world.condition('wordcount', 'ConfigSynced')).toMatchObject({ status: 'Unknown', reason: 'CoordinationUnavailable' });
    expect(await world.condition('wordcount', 'Ready')).toMatchObject({ status: 'Unknown', reason: 'CoordinationUnavailable' });
  });

  it('says at once that ZooKeeper is out of reach when the operator\'s connection is lost, asks it nothing, and is Ready again once it is back', async () => {
    await runningJob();
    const before = new Set((await world.events()).map((event) => event.metadata.name));
    const newEvents = async (): Promise<string[]> => (await world.events()).filter((event) => !before.has(event.metadata.name)).map((event) => event.reason ?? '');
    world.coordination.setConnectionLost(true);
    const calls = world.coordination.calls.length;

    const result = await world.pass('wordcount');
    expect(world.coordination.calls.length).toBe(calls);
    expect(result.requeueAfterMs).toBe(requeueIntervals.coordinationUnavailable);
    const ready = await world.condition('wordcount', 'Ready');
    expect(ready).toMatchObject({ status: 'Unknown', reason: 'CoordinationUnavailable' });
    expect(ready?.message).toContain('no connection to ZooKeeper at in-memory');
    // One Event for the cause; nothing claims the job runs while ZooKeeper is out of reach.
    expect(await newEvents()).toEqual(['CoordinationUnavailable']);
    await world.pass('wordcount');
    expect(await newEvents()).toEqual(['CoordinationUnavailable']);
    expect(await world.podNames()).toEqual(['wordcount-driver', 'wordcount-executor-0', 'wordcount-executor-1']);

    world.coordination.setConnectionLost(false);
    await world.pass('wordcount');
    expect(await world.condition('wordcount', 'Ready')).toMatchObject({ status: 'True', reason: 'Running' });
    // The Running Event from before counts the recovery, seen after the outage's Event.
    const events = await world.events();
    const running = events.find((event) => event.reason === 'Running');
    const outage = events.find((event) => event.reason === 'CoordinationUnavailable');
    expect(running?.series?.count).toBe(2);
    expect(Date.parse(running?.series?.lastObservedTime ?? '')).toBeGreaterThanOrEqual(Date.parse(outage?.eventTime ?? ''));
  });

  it('refuses a config too large for a znode as an invalid spec, without retrying', async () => {
    await world.createJob('wordcount');
    world.coordination.failNext('ensureJob', new StreamkeeperError('SK_CONFIG_TOO_LARGE', 'the job configuration is 2000000 bytes', { field: 'spec.config' }));
    const result = await world.pass('wordcount');
    expect(result).toEqual({});
    expect((await world.status('wordcount')).phase).toBe('Failed');
    expect(await world.condition('wordcount', 'ConfigSynced')).toMatchObject({ status: 'False', reason: 'ConfigTooLarge' });
    expect(await world.podNames()).toEqual([]);
  });
});

describe('deleting a job', () => {
  it('removes the ZooKeeper subtree, then the finalizer', async () => {
    await runningJob();
    await world.kube.delete('StreamingJob', { namespace, name: 'wordcount' });
    await world.pass('wordcount');
    expect(world.coordination.hasJob(job)).toBe(false);
    await expect(world.job('wordcount')).rejects.toMatchObject({ code: 'SK_KUBE_NOT_FOUND' });
    expect(world.phases.counts()).toEqual({});
  });

  it('keeps the finalizer while ZooKeeper cannot be reached', async () => {
    await runningJob();
    await world.kube.delete('StreamingJob', { namespace, name: 'wordcount' });
    world.coordination.failNext('deleteJob', new StreamkeeperError('SK_ZK_CONNECTION_LOSS', 'lost'));
    await world.failingPass('wordcount');
    expect((await world.job('wordcount')).metadata.finalizers).toEqual([finalizer]);
  });

  it('is done when the job is gone', async () => {
    expect(await world.pass('nothing-here')).toEqual({});
  });
});

describe('Events', () => {
  it('records a repeated error once, counting the repeats on it', async () => {
    await world.createJob('wordcount');
    await world.pass('wordcount');
    await world.kube.delete('Pod', { namespace, name: 'wordcount-executor-0' });
    world.kube.injectFault({ verbs: ['create'], kinds: ['Pod'], error: new StreamkeeperError('SK_KUBE_FORBIDDEN', 'pods is forbidden'), times: 3 });
    await world.pass('wordcount');
    await world.pass('wordcount');
    await world.pass('wordcount');
    const errors = (await world.events()).filter((e) => e.reason === 'ReconcileError');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.series?.count).toBe(3);
    expect(errors[0]?.note).toContain('pods is forbidden');
  });
});
