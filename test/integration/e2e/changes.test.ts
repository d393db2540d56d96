/**
 * A running wordcount job changed the ways users change it — a config and param edit, a new
 * image, kubectl scale, suspend and resume — while text keeps arriving: each change must reach
 * the pods the way the design promises (hot reload without a restart, one executor at a time and
 * the driver last, drain before delete, the driver stopped before the executors) and the output
 * must stay exactly once across it. One job goes through the changes in order; each scenario
 * checks what its phase added to the sink against the lines produced since the previous one.
 */
import { describe, expect, it } from '@jest/globals';
import { conditionTypes } from '../../../src/api/v1alpha1/index.js';
import { ConfigMirror } from '../../../src/coordination/config-mirror.js';
import type { Event, Pod, Stored } from '../../../src/kube/objects.js';
import type { PodObservation, PodRecorder } from './support/pod-recorder.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import type { OutputMark, WordcountJob } from './support/wordcount-job.js';

/** Executors while the config changes and the image rolls: with two, "one at a time" means one stays ready. */
const executors = 2;
const newImage = 'streamkeeper/streamkeeper:0.1.1';

function uidsByName(pods: readonly Stored<Pod>[]): Record<string, string> {
  return Object.fromEntries(pods.map((pod) => [pod.metadata.name, pod.metadata.uid]));
}

function restartCounts(pods: readonly Stored<Pod>[]): Record<string, number> {
  return Object.fromEntries(pods.map((pod) => [pod.metadata.name, pod.status?.containerStatuses?.[0]?.restartCount ?? 0]));
}

/** Where in the recorder's observations something first happened (-1: never). */
function firstIndex(recorder: PodRecorder, happened: (observation: PodObservation) => boolean): number {
  return recorder.observations.findIndex(happened);
}

/** An incarnation starts leaving when it is first seen terminating or deleted. */
function leaves(uid: string): (observation: PodObservation) => boolean {
  return (o) => o.uid === uid && (o.terminating || o.type === 'DELETED');
}

function readyAs(uid: string): (observation: PodObservation) => boolean {
  return (o) => o.uid === uid && o.ready && !o.terminating && o.type !== 'DELETED';
}

function notesOf(events: readonly Stored<Event>[], reason: string): string[] {
  return events.filter((e) => e.reason === reason).map((e) => e.note ?? '');
}

/** When an Event was first observed (microseconds, fixed width: comparable as text). */
function firstObserved(event: Stored<Event> | undefined): string {
  return event?.eventTime ?? '';
}

/**
 * The operator asked `pod` to hand back its tasks, and deleted it no earlier: once it reported
 * itself drained ("deleted drained executor pod"), or once its registration was gone because it
 * finished draining and ended its session ("deleted pod").
 */
/**
 * Deliberate changes are no failures: no ExecutorFailed or DriverFailed Event, no driver restart
 * counted, and every pod that was asked to stop (SIGTERM) exited 0.
 */
function expectNoFailureReported(events: readonly Stored<Event>[], recorder: { exitCodes(): Map<string, number> }, restarts: number | undefined): void {
  expect({ failures: [...notesOf(events, 'ExecutorFailed'), ...notesOf(events, 'DriverFailed')], restarts }).toEqual({ failures: [], restarts: undefined });
  expect(Object.fromEntries([...recorder.exitCodes()].filter(([, code]) => code !== 0))).toEqual({});
}

function expectDrainedBeforeDeleted(events: readonly Stored<Event>[], pod: string, why: string): void {
  const drain = events.find((e) => e.reason === 'DrainingExecutor' && e.note === `asked executor ${pod} to hand back its tasks before it stops (${why})`);
  const deleted = events.find((e) => e.reason === 'DeletedPod' && (e.note === `deleted drained executor pod ${pod} (${why})` || e.note === `deleted pod ${pod} (${why})`));
  expect({ pod, drain: drain?.note, deleted: deleted?.note }).toEqual({ pod, drain: expect.any(String), deleted: expect.any(String) });
  expect({ pod, deletedAfterDrain: firstObserved(deleted) >= firstObserved(drain) }).toEqual({ pod, deletedAfterDrain: true });
}

describe('changing a running StreamingJob', () => {
  const e2e = e2eSuite({ name: 'changes' });
  let job: WordcountJob;
  /** Where the previous scenario left the input and the sink: each scenario checks what it added. */
  let mark: OutputMark;

  it('applies a config and processor-param change at the next batch boundary, without replacing or restarting a pod', e2e.scenario(async (world) => {
    job = await world.wordcountJob('wordcount', { executors });
    await job.produceSample(100);
    await job.apply();
    const running = await job.waitForRunning(executors);
    const before = await job.waitForPodsReady(executors);
    const pids = await Promise.all(before.all.map((pod) => job.processOf(pod.metadata.name)));
    const hashBefore = (await job.status())?.configHash;
    expect(hashBefore).toEqual(expect.any(String));
    const generation = (running.metadata.generation ?? 0) + 1;

    const recorder = await job.recordPods();
    const input = job.startProducing(30, 300);
    await job.patchSpec({ config: { greeting: 'hello' }, processor: { builtin: 'wordcount', params: { lowercase: 'false' } } });

    const synced = await job.waitFor((stored, status) => {
      expect(stored.metadata.generation).toBe(generation);
      expect(status.observedGeneration).toBe(generation);
      expect(status.configHash).toEqual(expect.any(String));
      expect(status.configHash).not.toBe(hashBefore);
      expect(status.conditions?.find((c) => c.type === conditionTypes.configSynced)).toMatchObject({ status: 'True', observedGeneration: generation });
    }, 'the new configuration mirrored (ConfigSynced for the new generation, a new configHash)');
    const hash = (synced.status as { configHash?: string } | undefined)?.configHash ?? '';

    // What the driver and executors watch: the config znode, with the new generation and content.
    const document = await new ConfigMirror(await world.zookeeper(), world.layout).read(job.ref);
    expect(document).toMatchObject({ generation, hash, content: { config: { greeting: 'hello' }, processor: { name: 'wordcount', params: { lowercase: 'false' } } } });
    await eventually(async () => {
      expect(notesOf(await world.events('wordcount'), 'ConfigUpdated')).toEqual([expect.stringContaining(hash.slice(0, 19))]);
    }, 'a ConfigUpdated Event naming the new configuration');

    // The params apply from the next batch planned: once a word counted case-sensitively is in
    // the sink, a batch planned with them committed, and every later batch is planned with them.
    await eventually(async () => {
      const cased = [...(await job.sinkCounts()).keys()].filter((word) => word !== word.toLowerCase());
      if (cased.length === 0) throw new Error('every word in the sink is still lower-cased');
    }, 'a word counted case-sensitively in the sink');
    await input.stop();
    await job.waitForAllInputCommitted({ status: false });
    // Lines produced around the change were counted under one rule or the other, each exactly once.
    await job.verifyExactlyOnce({ foldCase: true });

    const afterChange = await job.outputMark();
    await job.produceSample(150);
    expect(job.produced.slice(afterChange.lines).some((line) => /\bThe\b/.test(line))).toBe(true);
    await job.waitForAllInputCommitted({ status: false });
    await job.verifyExactlyOnceSince(afterChange, { lowercase: false });
    await job.verifyExactlyOnce({ foldCase: true });
    await recorder.stop();

    // Nothing restarted: the same pods (uids), the same processes, no container restart, and the
    // watch never saw a pod go or a new one come.
    const after = await job.waitForPodsReady(executors);
    expect(uidsByName(after.all)).toEqual(uidsByName(before.all));
    expect(await Promise.all(after.all.map((pod) => job.processOf(pod.metadata.name)))).toEqual(pids);
    expect(restartCounts(after.all)).toEqual(Object.fromEntries(after.all.map((pod) => [pod.metadata.name, 0])));
    expect(recorder.observations.filter((o) => o.type === 'DELETED' || o.terminating).map((o) => o.name)).toEqual([]);
    expect([...recorder.incarnations().values()].map((uids) => uids.length)).toEqual(after.all.map(() => 1));
    expect(await job.status()).toMatchObject({ phase: 'Running', observedGeneration: generation, configHash: hash });
    mark = await job.outputMark();
  }), e2eTimeoutMs);

  it('rolls an image change through the executors one at a time, highest ordinal first, and the driver last', e2e.scenario(async (world) => {
    const before = await job.waitForPodsReady(executors);
    const oldImage = before.driver?.spec?.containers[0]?.image;
    expect(oldImage).not.toBe(newImage);
    const recorder = await job.recordPods();
    const input = job.startProducing(30, 300);
    await job.patchSpec({ image: newImage });

    await eventually(async () => {
      const pods = await job.pods({ includeTerminating: true });
      const describe = pods.all.map((p) => `${p.metadata.name} ${p.spec?.containers[0]?.image ?? '-'}${p.metadata.deletionTimestamp === undefined ? '' : ' terminating'}`).join(', ');
      const rolled = pods.all.length === executors + 1 && pods.all.every((p) => p.spec?.containers[0]?.image === newImage && p.metadata.deletionTimestamp === undefined);
      if (!rolled) throw new Error(`want the driver and ${executors} executors on ${newImage}; have ${describe}`);
    }, `every pod replaced by one on ${newImage}`);
    const after = await job.waitForPodsReady(executors);
    const rolledJob = await job.waitForRunning(executors);
    expect(await job.condition(conditionTypes.progressing)).toMatchObject({ status: 'False', reason: 'UpToDate', observedGeneration: rolledJob.metadata.generation });
    await input.stop();
    await job.waitForAllInputCommitted({ status: false });
    await job.verifyExactlyOnceSince(mark, { lowercase: false });
    await recorder.stop();

    // Every pod replaced exactly once, by one on the new image.
    const incarnations = recorder.incarnations();
    for (const pod of before.all) {
      const replacement = after.all.find((p) => p.metadata.name === pod.metadata.name);
      expect({ pod: pod.metadata.name, incarnations: incarnations.get(pod.metadata.name) }).toEqual({ pod: pod.metadata.name, incarnations: [pod.metadata.uid, replacement?.metadata.uid] });
      expect(replacement?.spec?.containers[0]?.image).toBe(newImage);
    }
    // One executor at a time: never fewer than all but one ready, never more than asked for.
    expect(recorder.lowestReady('executor')).toBeGreaterThanOrEqual(executors - 1);
    expect(recorder.peak('executor')).toBe(executors);
    // Highest ordinal first; each next executor goes only once the previous replacement is ready.
    const byOrdinal = [...before.executors].sort((a, b) => b.metadata.name.localeCompare(a.metadata.name));
    const newUid = (name: string): string => after.all.find((p) => p.metadata.name === name)?.metadata.uid ?? '';
    let previousReady = -1;
    for (const pod of byOrdinal) {
      const left = firstIndex(recorder, leaves(pod.metadata.uid));
      const ready = firstIndex(recorder, readyAs(newUid(pod.metadata.name)));
      expect({ pod: pod.metadata.name, leftAfterPreviousReady: left > previousReady, readyAfterLeaving: ready > left }).toEqual({ pod: pod.metadata.name, leftAfterPreviousReady: true, readyAfterLeaving: true });
      previousReady = ready;
    }
    // The driver last: its old pod goes only after every executor runs the new image and is ready.
    const driverLeft = firstIndex(recorder, leaves(before.driver?.metadata.uid ?? ''));
    expect(driverLeft).toBeGreaterThan(previousReady);

    const events = await world.events('wordcount');
    for (const pod of byOrdinal) expectDrainedBeforeDeleted(events, pod.metadata.name, 'rolling update to the new pod template');
    await job.waitForRunning(executors);
    expectNoFailureReported(events, recorder, (await job.status())?.restarts);
    mark = await job.outputMark();
  }), e2eTimeoutMs);

  it('scales 2 → 4 → 1 with the scale subresource, draining the highest ordinals, without losing or doubling output', e2e.scenario(async (world) => {
    const recorder = await job.recordPods();
    const input = job.startProducing(30, 300);

    await job.scale(4);
    const four = await job.waitForPodsReady(4);
    await job.waitForRunning(4);
    expect(await job.status()).toMatchObject({ replicas: 4, executors: { desired: 4, ready: 4, summary: '4/4' } });
    const scale = async (): Promise<unknown> => JSON.parse((await world.kubectl.run(['get', 'streamingjob', 'wordcount', '-n', world.namespace, '--subresource=scale', '-o', 'json'])).stdout);
    expect(await scale()).toMatchObject({ kind: 'Scale', spec: { replicas: 4 }, status: { replicas: 4 } });
    const registered = await job.registeredExecutors();
    expect([...registered.keys()].sort()).toEqual(four.executors.map((pod) => pod.metadata.name));
    expect([...registered.values()].map((executor) => executor.state)).toEqual(Array(4).fill('active'));

    await job.scale(1);
    const one = await job.waitForPodsReady(1);
    await job.waitForRunning(1);
    expect(await job.status()).toMatchObject({ replicas: 1, executors: { desired: 1, ready: 1, draining: 0, summary: '1/1' } });
    expect(await scale()).toMatchObject({ kind: 'Scale', spec: { replicas: 1 }, status: { replicas: 1 } });
    await eventually(async () => {
      expect([...(await job.registeredExecutors()).entries()].map(([pod, executor]) => [pod, executor.state])).toEqual([['wordcount-executor-0', 'active']]);
    }, 'only executor-0 registered in ZooKeeper');

    await input.stop();
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnceSince(mark, { lowercase: false });
    await job.verifyExactlyOnce({ foldCase: true });
    await recorder.stop();

    expect(recorder.peak('executor')).toBe(4);
    // Scaling touched no pod it kept: the driver and executor-0 are the incarnations of before.
    expect(uidsByName(one.all)).toEqual(uidsByName(four.all.filter((pod) => pod.metadata.name === 'wordcount-driver' || pod.metadata.name === 'wordcount-executor-0')));
    for (const uids of recorder.incarnations().values()) expect(uids).toHaveLength(1);

    // The highest ordinals went: each asked to drain, and deleted only once it held no task.
    const events = await world.events('wordcount');
    for (const ordinal of [3, 2, 1]) expectDrainedBeforeDeleted(events, `wordcount-executor-${ordinal}`, 'scale-down');
    expectNoFailureReported(events, recorder, (await job.status())?.restarts);
    expect(notesOf(events, 'DrainingExecutor').filter((note) => note.includes('(scale-down)')).sort()).toEqual([1, 2, 3].map((ordinal) => `asked executor wordcount-executor-${ordinal} to hand back its tasks before it stops (scale-down)`));
    mark = await job.outputMark();
  }), e2eTimeoutMs);

  it('suspends with the driver stopped before the executors, keeps the offsets, and resumes from them without reprocessing', e2e.scenario(async (world) => {
    const before = await job.waitForPodsReady(1);
    const recorder = await job.recordPods();
    const input = job.startProducing(30, 300);
    await job.produceSample(60);
    await job.suspend();

    const suspended = await job.waitFor((stored, status) => {
      expect(status).toMatchObject({ phase: 'Suspended', observedGeneration: stored.metadata.generation, executors: { desired: 0, ready: 0 } });
    }, 'phase Suspended');
    await eventually(async () => {
      expect((await job.pods({ includeTerminating: true })).all.map((pod) => pod.metadata.name)).toEqual([]);
    }, 'every pod of the suspended job gone');
    await job.waitFor((_stored, status) => {
      expect(status.conditions?.find((c) => c.type === conditionTypes.progressing)).toMatchObject({ status: 'False', reason: 'Suspended' });
    }, 'Progressing False: Suspended, once no pod is left');
    await input.stop();
    await recorder.stop();

    // The driver went first: no executor was stopped before the driver was.
    const driverLeft = firstIndex(recorder, leaves(before.driver?.metadata.uid ?? ''));
    const executorLeft = firstIndex(recorder, (o) => o.component === 'executor' && (o.terminating || o.type === 'DELETED'));
    expect(driverLeft).toBeGreaterThanOrEqual(0);
    expect(executorLeft).toBeGreaterThan(driverLeft);

    // ZooKeeper keeps the job: its subtree and committed offsets, no registrations.
    expect(await job.subtreeExists()).toBe(true);
    expect(await job.driverRegistered()).toBe(false);
    expect((await job.registeredExecutors()).size).toBe(0);
    const offsets = await job.committedOffsets();
    // The source's three partitions (the sample aggregates, so its repartition topic's follow).
    expect(offsets?.partitions.filter((p) => p.topic === job.sourceTopic)).toHaveLength(3);

    // Input arriving while suspended waits in Kafka: nothing processes it, nothing moves.
    await job.produceSample(150);
    const ends = await job.sourceEnds();
    const stillSuspended = await job.status();
    expect(stillSuspended).toMatchObject({ phase: 'Suspended', observedGeneration: suspended.metadata.generation });
    expect((await job.pods({ includeTerminating: true })).all).toEqual([]);
    expect(await job.committedOffsets()).toMatchObject({ batch: offsets?.batch, partitions: offsets?.partitions });
    expect([...ends].some(([partition, end]) => end > Number(offsets?.partitions.find((p) => p.topic === job.sourceTopic && p.partition === partition)?.next))).toBe(true);

    await job.resume();
    await job.waitForRunning(1);
    await job.produceSample(50);
    const resumed = await job.waitForAllInputCommitted();
    // Everything since the previous scenario — before, during and after the suspension — counted
    // once: a batch reprocessed from older offsets would show as a surplus.
    await job.verifyExactlyOnceSince(mark, { lowercase: false });
    await job.verifyExactlyOnce({ foldCase: true });
    expect(Number(resumed.batch)).toBeGreaterThan(Number(offsets?.batch));

    const events = await world.events('wordcount');
    expect(notesOf(events, 'Suspended')).toHaveLength(1);
    expect(notesOf(events, 'Resumed')).toHaveLength(1);
    expect(notesOf(events, 'DeletedPod')).toContainEqual('deleted pod wordcount-driver (the job is suspended)');
    expectNoFailureReported(events, recorder, (await job.status())?.restarts);
  }), e2eTimeoutMs);
});
