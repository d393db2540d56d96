/**
 * Failures while a job runs and input flows, end to end: the operator SIGKILLed in the middle of
 * acting on a change, two operator replicas with the leader SIGKILLed, and an executor SIGKILLed
 * while it holds tasks. Whatever dies, the job comes back to Running without a duplicate pod,
 * every batch runs once in order, and the sink counts every word produced exactly once.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { parseTaskId } from '../../../src/coordination/layout.js';
import type { OffsetsRecord } from '../../../src/coordination/task-ledger.js';
import type { Event, Stored } from '../../../src/kube/objects.js';
import type { E2eWorld } from './support/e2e-world.js';
import { LedgerRecorder, type SeenRegistration } from './support/ledger-recorder.js';
import type { OperatorProcess } from './support/operator-process.js';
import type { PodObservation, PodRecorder } from './support/pod-recorder.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import type { WordcountJob } from './support/wordcount-job.js';

const sourcePartitions = 3;
/** Source offsets at the job's start: new topics, startingOffsets earliest. */
const fromTheStart = new Map(Array.from({ length: sourcePartitions }, (_, partition) => [partition, 0]));

/** Figures measured along the way (not asserted: machines are noisy). */
function report(line: string): void {
  process.stderr.write(`e2e failures: ${line}\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** When an Event was last observed (ms since the epoch). */
function observedAt(event: Stored<Event>): number {
  return Date.parse(event.series?.lastObservedTime ?? event.eventTime);
}

/**
 * The most incarnations (uids) of each pod name that existed at one moment, terminating ones
 * included: a second pod for a name (or ordinal) while the first still exists is a duplicate.
 */
function overlappingIncarnations(observations: readonly PodObservation[]): Map<string, number> {
  const live = new Map<string, string>();
  const most = new Map<string, number>();
  let previous: PodObservation['type'] | undefined;
  for (const observation of observations) {
    // A run of LISTED observations is a full list: it replaces what was known.
    if (observation.type === 'LISTED' && previous !== 'LISTED') live.clear();
    previous = observation.type;
    if (observation.type === 'DELETED') live.delete(observation.uid);
    else live.set(observation.uid, observation.name);
    const perName = new Map<string, number>();
    for (const name of live.values()) perName.set(name, (perName.get(name) ?? 0) + 1);
    for (const [name, count] of perName) most.set(name, Math.max(most.get(name) ?? 0, count));
  }
  return most;
}

/** The checks on a job's pods over a scenario: one pod per name, no more executors than `desired`, ordinals in range. */
function expectNoDuplicatePods(pods: PodRecorder, job: WordcountJob, desired: number): void {
  expect([...overlappingIncarnations(pods.observations)].filter(([, count]) => count > 1)).toEqual([]);
  expect(pods.peak('executor')).toBeLessThanOrEqual(desired);
  expect(pods.peak('driver')).toBe(1);
  const ordinals = [...pods.incarnations().keys()].filter((name) => name !== `${job.name}-driver`);
  expect(ordinals.filter((name) => !new RegExp(`^${job.name}-executor-[0-${desired - 1}]$`).test(name))).toEqual([]);
  // An operator that dies and comes back does not restart the driver.
  expect(pods.incarnations().get(`${job.name}-driver`)).toHaveLength(1);
}

describe('failures while a job runs: the operator, the leader, an executor killed', () => {
  let job: WordcountJob;
  let ledger: LedgerRecorder | undefined;
  // Declared before the world's: its watches stop before the world deletes the job's znodes.
  afterAll(() => {
    ledger?.close();
  });
  const e2e = e2eSuite({ name: 'failures' });

  const recorded = (): LedgerRecorder => {
    if (ledger === undefined) throw new Error('the ledger recorder did not start (see the first scenario)');
    return ledger;
  };

  /** Waits until `count` more batches have committed (input is flowing and the job is processing it). */
  const batchesCommit = async (count: number): Promise<void> => {
    const from = recorded().commits.length;
    await recorded().until(() => (recorded().commits.length >= from + count ? true : undefined), 90_000, `${count} more batches committed`);
  };

  /** Stops the input, waits for all of it to be committed, and checks output and batches. */
  const settle = async (input: { stop(): Promise<number> }): Promise<OffsetsRecord> => {
    await input.stop();
    const offsets = await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    expect(recorded().continuityProblems(offsets, fromTheStart)).toEqual([]);
    return offsets;
  };

  /** Kills `replica` and starts another one, which must take over the Lease. */
  const replaceOperator = async (world: E2eWorld, replica: OperatorProcess): Promise<{ next: OperatorProcess; killedAt: number }> => {
    const killedAt = Date.now();
    expect(await replica.kill()).toMatchObject({ signal: 'SIGKILL' });
    const next = await world.startOperator();
    expect((await world.leader()).identity).toBe(next.identity);
    report(`operator ${replica.identity} killed; ${next.identity} started and leading after ${seconds(Date.now() - killedAt)}`);
    return { next, killedAt };
  };

  it('comes back from the operator killed while it scales the job and right after a pod deletion: no duplicate pod, every batch once, exactly-once output', e2e.scenario(async (world) => {
    job = await world.wordcountJob('wordcount', { executors: 2, sourcePartitions });
    // Recording from before the job exists: every batch it ever plans is seen.
    ledger = await LedgerRecorder.start(await world.zookeeper(), world.layout, job.ref);
    await job.apply();
    await job.waitForRunning(2);
    const pods = await job.recordPods();
    const input = job.startProducing(40, 250);
    await batchesCommit(2);
    const first = await world.leader();

    // Killed in the middle of acting on a scale: it has just created executor-2, which is not
    // running yet. The next one finishes the work without creating the pod again.
    await job.scale(3);
    const added = await eventually(() => {
      const seen = pods.observations.find((o) => o.name === `${job.name}-executor-2`);
      if (seen === undefined) throw new Error(`no pod ${job.name}-executor-2 yet`);
      return seen;
    }, `${job.name}-executor-2 created`, 60_000, 20);
    const crash = await replaceOperator(world, first);
    report(`operator killed ${String(crash.killedAt - added.at)} ms after executor-2 appeared (${added.phase ?? 'no phase'}${added.ready ? ', ready' : ''})`);
    const committedBeforeCrash = recorded().commits.filter((c) => c.at < crash.killedAt).length;
    await job.waitForPodsReady(3);
    await job.waitForRunning(3);
    expect(await crash.next.metric('streamkeeper_pods_created_total{component="executor"}')).toBe(0);

    // Killed right after a user deleted an executor pod, before it could replace it.
    const [deleted] = (await job.pods()).executors;
    if (deleted === undefined) throw new Error('no executor pod to delete');
    await world.kubectl.run(['delete', 'pod', deleted.metadata.name, '-n', world.namespace, '--wait=false']);
    const { next: third } = await replaceOperator(world, crash.next);
    const running = await job.waitForPodsReady(3);
    await job.waitForRunning(3);
    const replaced = running.executors.find((pod) => pod.metadata.name === deleted.metadata.name);
    expect(replaced?.metadata.uid).not.toBe(deleted.metadata.uid);
    const restartedAt = Date.now();
    await batchesCommit(2);

    await settle(input);
    await pods.stop();
    expectNoDuplicatePods(pods, job, 3);
    expect(pods.incarnations().get(deleted.metadata.name)).toEqual([deleted.metadata.uid, replaced?.metadata.uid]);
    for (const name of running.executors.map((pod) => pod.metadata.name).filter((name) => name !== deleted.metadata.name)) {
      expect(pods.incarnations().get(name)).toHaveLength(1);
    }
    // The batches went on across both crashes (the continuity check covers every one of them).
    expect(committedBeforeCrash).toBeGreaterThanOrEqual(2);
    expect(recorded().commits.filter((c) => c.at > restartedAt).length).toBeGreaterThanOrEqual(2);
    expect(pods.incarnations().get(`${job.name}-executor-2`)).toEqual([added.uid]);
    expect(await third.metric('streamkeeper_pods_created_total{component="driver"}')).toBe(0);
    report(`scenario 1: ${recorded().commits.length} batches committed, ${job.produced.length} lines`);
  }), e2eTimeoutMs);

  it('runs two replicas with one leader; the standby takes over the killed leader and acts on a change made after the kill, exactly once', e2e.scenario(async (world) => {
    const leader = await world.leader();
    const standby = await world.startOperator();
    expect((await world.leader()).identity).toBe(leader.identity);
    expect(await standby.metric('streamkeeper_leader')).toBe(0);
    expect(await leader.metric('streamkeeper_leader')).toBe(1);
    const leaseBefore = await world.lease();
    expect(leaseBefore?.spec?.holderIdentity).toBe(leader.identity);

    // Only the leader acts on a change: its counters move, the standby's stay at nothing.
    const reconcilesBefore = await leader.metricTotal('streamkeeper_reconcile_total');
    const changedAt = Date.now();
    await job.scale(2);
    await job.waitForPodsReady(2);
    await job.waitForRunning(2);
    expect(await leader.metricTotal('streamkeeper_reconcile_total')).toBeGreaterThan(reconcilesBefore);
    expect(await leader.metric('streamkeeper_pods_deleted_total{component="executor",reason="scale-down"}')).toBe(1);
    for (const family of ['streamkeeper_reconcile_total', 'streamkeeper_pods_created_total', 'streamkeeper_pods_deleted_total', 'streamkeeper_status_writes_total', 'streamkeeper_executor_drain_requests_total']) {
      expect([family, await standby.metricTotal(family)]).toEqual([family, 0]);
    }
    const scaleEvents = (await world.events()).filter((e) => observedAt(e) >= changedAt);
    expect(scaleEvents.map((e) => e.reason)).toContain('DrainingExecutor');
    expect([...new Set(scaleEvents.map((e) => e.reportingInstance))]).toEqual([leader.identity]);

    // The leader dies while input flows; the job is scaled back up right after.
    const pods = await job.recordPods();
    const input = job.startProducing(40, 250);
    await batchesCommit(1);
    const killedAt = Date.now();
    expect(await leader.kill()).toMatchObject({ signal: 'SIGKILL' });
    await job.scale(3);
    const taken = await eventually(async () => {
      const lease = await world.lease();
      expect(lease?.spec?.holderIdentity).toBe(standby.identity);
      return lease;
    }, 'the standby holding the Lease');
    const takenAt = Date.now();
    await standby.waitUntilLeading();
    expect(taken?.spec?.leaseTransitions).toBe((leaseBefore?.spec?.leaseTransitions ?? 0) + 1);
    await job.waitForPodsReady(3);
    await job.waitForRunning(3);
    const repairedAt = Date.now();
    expect(await standby.metric('streamkeeper_pods_created_total{component="executor"}')).toBe(1);
    expect(await standby.metricTotal('streamkeeper_reconcile_total')).toBeGreaterThan(0);
    const afterKill = (await world.events()).filter((e) => observedAt(e) > killedAt);
    expect(afterKill.map((e) => e.reason)).toContain('CreatedPods');
    expect([...new Set(afterKill.map((e) => e.reportingInstance))]).toEqual([standby.identity]);
    // A drained executor's end is no failure, even when the node reports it before the pod goes.
    expect(scaleEvents.filter((e) => e.reason === 'ExecutorFailed')).toEqual([]);
    report(`scale-down 3 → 2 by ${leader.identity}: Events ${scaleEvents.map((e) => `${e.reason ?? ''}: ${e.note ?? ''}`).join(' | ')}`);
    report(`failover: the standby held the Lease ${seconds(takenAt - killedAt)} after the leader's SIGKILL (lease duration ${String(leaseBefore?.spec?.leaseDurationSeconds)} s); the job was Running with 3 executors after ${seconds(repairedAt - killedAt)}`);

    await batchesCommit(1);
    await settle(input);
    await pods.stop();
    expectNoDuplicatePods(pods, job, 3);
  }), e2eTimeoutMs);

  it('moves a SIGKILLed executor\'s unfinished tasks to a live executor and replaces its pod, output still exactly once', e2e.scenario(async (world) => {
    const operator = await world.leader();
    const failuresBefore = await operator.metricTotal('streamkeeper_executor_failures_total');
    const pods = await job.recordPods();
    const input = job.startProducing(60, 200);
    await batchesCommit(1);

    // The victim is an executor the moment it holds tasks it has not finished; tasks finish
    // quickly, so a kill can come too late for all of them: then another executor is tried.
    const victims: string[] = [];
    let kill: { pod: string; uid: string; pid: number; killedAt: number; session: SeenRegistration; unfinished: { id: string; attempt: number }[] } | undefined;
    while (kill === undefined) {
      if (victims.length === 3) throw new Error(`no executor was killed before it finished its tasks (tried ${victims.join(', ')})`);
      const ready = await job.waitForPodsReady(3);
      const candidates = new Map<string, { uid: string; pid: number }>();
      for (const pod of ready.executors) {
        if (!victims.includes(pod.metadata.name)) candidates.set(pod.metadata.name, { uid: pod.metadata.uid, pid: await job.processOf(pod.metadata.name) });
      }
      const held = await recorded().until(() => {
        for (const [pod, process] of candidates) {
          const tasks = [...recorded().current.values()].filter((task) => task.owner === pod && task.state === 'assigned');
          const session = recorded().registrationsOf(pod).find((r) => r.until === undefined);
          if (tasks.length > 0 && session !== undefined) return { pod, ...process, session, tasks: tasks.map((t) => ({ id: t.id, attempt: t.attempt })) };
        }
        return undefined;
      }, 60_000, 'an executor holding assigned tasks');
      process.kill(held.pid, 'SIGKILL');
      const killedAt = Date.now();
      victims.push(held.pod);
      // Each task it held either was finished by it just before the kill, or moves.
      const finishedByVictim = (id: string, attempt: number): boolean => (recorded().tasks.get(id) ?? []).some((v) => v.record.owner === held.pod && v.record.attempt === attempt && v.record.state === 'succeeded');
      const moved = (id: string): boolean => (recorded().tasks.get(id) ?? []).some((v) => v.record.owner !== held.pod);
      await recorded().until(() => (held.tasks.every((t) => finishedByVictim(t.id, t.attempt) || moved(t.id)) ? true : undefined), 90_000, `the tasks of ${held.pod} finished or moved`);
      const unfinished = held.tasks.filter((t) => !finishedByVictim(t.id, t.attempt));
      report(`SIGKILL to ${held.pod} (pid ${held.pid}) holding ${held.tasks.map((t) => t.id).join(', ')}; unfinished: ${unfinished.map((t) => t.id).join(', ') || 'none'}`);
      if (unfinished.length > 0) kill = { pod: held.pod, uid: held.uid, pid: held.pid, killedAt, session: held.session, unfinished };
    }
    const victim = kill;
    const since = (at: number): string => seconds(at - victim.killedAt);

    // The operator tells: a Warning Event naming the pod, and its failure counter.
    const failed = await eventually(async () => {
      const event = (await world.events()).find((e) => e.reason === 'ExecutorFailed' && (e.note ?? '').includes(`executor pod ${victim.pod} terminated`) && observedAt(e) >= victim.killedAt - 1000);
      if (event === undefined) throw new Error(`no ExecutorFailed Event about ${victim.pod} since the kill`);
      return event;
    }, `an ExecutorFailed Event about ${victim.pod}`);
    expect(failed).toMatchObject({ type: 'Warning', action: 'Reschedule', reportingInstance: operator.identity, regarding: { kind: 'StreamingJob', name: job.name } });
    expect(await operator.metricTotal('streamkeeper_executor_failures_total')).toBeGreaterThan(failuresBefore);

    // Its unfinished tasks moved to live executors, one attempt further, and were done there.
    const others = new Set((await job.pods()).executors.map((pod) => pod.metadata.name).filter((name) => name !== victim.pod));
    const moves = victim.unfinished.map(({ id, attempt }) => {
      const move = (recorded().tasks.get(id) ?? []).find((v) => v.record.owner !== victim.pod);
      return { id, from: attempt, to: move?.record.owner ?? '', attempt: move?.record.attempt, at: move?.at ?? 0 };
    });
    for (const move of moves) {
      expect(move.attempt).toBe(move.from + 1);
      expect(others.has(move.to)).toBe(true);
    }
    // Their batches committed (the driver commits a batch only once every task succeeded; the
    // task itself may be deleted before a watch reads its final state), and nobody else held a
    // task after its move.
    const committed = (batch: string): boolean => recorded().commits.some((c) => c.batch >= batch);
    await recorded().until(() => (moves.every((m) => committed(parseTaskId(m.id).batch)) ? true : undefined), 90_000, 'the batches of the moved tasks committed');
    for (const move of moves) {
      const history = recorded().tasks.get(move.id) ?? [];
      const after = history.slice(history.findIndex((v) => v.record.owner !== victim.pod));
      expect([...new Set(after.map((v) => `${v.record.owner} attempt ${v.record.attempt}`))]).toEqual([`${move.to} attempt ${move.from + 1}`]);
    }

    // Its registration went at once (the operator removed it: no session timeout), and the
    // replacement pod — same name, new incarnation — registered with a new session.
    const gone = await recorded().until(() => victim.session.until, 90_000, `the registration of ${victim.pod} gone`);
    const replacement = await recorded().until(() => recorded().registrationsOf(victim.pod).find((r) => r.since > victim.killedAt && r.until === undefined), 90_000, `${victim.pod} registered again`);
    expect(replacement.session).not.toBe(victim.session.session);
    const ready = await job.waitForPodsReady(3);
    await job.waitForRunning(3);
    const reborn = ready.executors.find((pod) => pod.metadata.name === victim.pod);
    expect(reborn?.metadata.uid).not.toBe(victim.uid);
    const registered = await job.registeredExecutors();
    expect([...registered.keys()].sort()).toEqual(ready.executors.map((pod) => pod.metadata.name));
    expect(registered.get(victim.pod)?.state).toBe('active');
    // ZooKeeper delivers one session's watch events in the order of the changes: the operator
    // removed the registration before it moved the tasks (no waiting for the session to expire).
    expect(gone).toBeLessThanOrEqual(Math.min(...moves.map((m) => m.at)));
    const rebornSeen = pods.observations.find((o) => o.uid === reborn?.metadata.uid);

    report(`executor ${victim.pod} killed: registration gone +${since(gone)}, Event ExecutorFailed +${since(observedAt(failed))}, tasks moved ${moves.map((m) => `${m.id} → ${m.to} (attempt ${String(m.attempt)}) +${since(m.at)}`).join(', ')}, replacement pod created +${since(rebornSeen?.at ?? 0)}, registered +${since(replacement.since)}`);

    await batchesCommit(1);
    await settle(input);
    await pods.stop();
    expectNoDuplicatePods(pods, job, 3);
    expect(pods.exitCodes().get(victim.pod)).toBe(137);
    for (const name of victims) expect(pods.incarnations().get(name)).toHaveLength(2);
  }), e2eTimeoutMs);
});
