/**
 * The standby driver end to end (`spec.driver.standby`): two driver pods, one holding the job's
 * `driver` znode and one standing by, warm. The active driver is SIGKILLed while input flows and
 * a batch is in flight: the standby takes the node and commits again without a pod start, the
 * operator creates a new standby under the dead pod's name, and the sink still counts every word
 * exactly once, every batch in order.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { decodeDriverRegistration } from '../../../src/coordination/progress-report.js';
import type { Event, Stored } from '../../../src/kube/objects.js';
import type { E2eWorld } from './support/e2e-world.js';
import { LedgerRecorder } from './support/ledger-recorder.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import { isPodReady, type WordcountJob } from './support/wordcount-job.js';

const sourcePartitions = 3;
const fromTheStart = new Map(Array.from({ length: sourcePartitions }, (_, partition) => [partition, 0]));

/** Figures measured along the way (not asserted: machines are noisy). */
function report(line: string): void {
  process.stderr.write(`e2e standby: ${line}\n`);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function observedAt(event: Stored<Event>): number {
  return Date.parse(event.series?.lastObservedTime ?? event.eventTime);
}

/** The pod named by the job's `driver` znode, or undefined while nobody holds it. */
async function activeDriver(world: E2eWorld, job: WordcountJob): Promise<{ pod: string; session: string } | undefined> {
  const node = await (await world.zookeeper()).getIfExists(world.layout.driver(job.ref));
  return node === null ? undefined : { pod: decodeDriverRegistration(node.data).pod, session: node.stat.ephemeralOwner };
}

/** Both driver pods running and ready, one of them registered; resolves to the active and the standby pod names. */
async function waitForDriverPair(world: E2eWorld, job: WordcountJob): Promise<{ active: string; standby: string }> {
  const names = [`${job.name}-driver`, `${job.name}-driver-1`];
  return eventually(async () => {
    const pods = (await job.pods()).all.filter((p) => names.includes(p.metadata.name));
    const ready = pods.filter((p) => isPodReady(p) && p.metadata.deletionTimestamp === undefined).map((p) => p.metadata.name).sort();
    if (ready.length !== 2) throw new Error(`want both driver pods ready; have ${ready.join(', ') || 'none'}`);
    const active = await activeDriver(world, job);
    if (active === undefined || !names.includes(active.pod)) throw new Error('no driver pod holds the driver znode');
    const message = (await job.condition('Ready'))?.message ?? '';
    if (!message.includes('its standby')) throw new Error(`the Ready message does not count the standby yet: ${message}`);
    return { active: active.pod, standby: names.find((n) => n !== active.pod) ?? '' };
  }, 'the driver and its standby ready', 120_000);
}

describe('a standby driver takes over a killed driver', () => {
  let ledger: LedgerRecorder | undefined;
  afterAll(() => {
    ledger?.close();
  });
  const e2e = e2eSuite({ name: 'standby' });

  it('moves on from the SIGKILLed active driver through its standby, creates a new standby, and counts every word exactly once', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('standby', { executors: 2, sourcePartitions, customize: (spec) => ({ ...spec, driver: { ...spec.driver, standby: true } }) });
    ledger = await LedgerRecorder.start(await world.zookeeper(), world.layout, job.ref);
    const recorded = ledger;
    await job.apply();
    await job.waitForRunning(2);
    const first = await waitForDriverPair(world, job);
    // The first driver of a job is `<job>-driver`: the standby is created only once it registered.
    expect(first).toEqual({ active: `${job.name}-driver`, standby: `${job.name}-driver-1` });

    const input = job.startProducing(40, 250);
    const commitsAfter = async (count: number): Promise<void> => {
      const from = recorded.commits.length;
      await recorded.until(() => (recorded.commits.length >= from + count ? true : undefined), 90_000, `${count} more batches committed`);
    };
    await commitsAfter(2);

    // Killed while a batch is in flight: its tasks are recorded and not yet all done.
    const zk = await world.zookeeper();
    await eventually(async () => {
      const tasks = await zk.children(world.layout.tasks(job.ref));
      if (tasks.length === 0) throw new Error('no batch in flight');
    }, 'a batch in flight', 60_000, 5);
    const before = await activeDriver(world, job);
    const victim = (await job.pods()).all.find((p) => p.metadata.name === first.active);
    if (before === undefined || victim === undefined) throw new Error('the active driver is not there');
    const commitsBefore = recorded.commits.length;
    await job.signalPod(first.active, 'SIGKILL');
    const killedAt = Date.now();

    // The standby holds the node and the next batch commits, without a new pod.
    const tookOver = await eventually(async () => {
      const now = await activeDriver(world, job);
      if (now?.pod !== first.standby) throw new Error(`the driver znode names ${now?.pod ?? 'nobody'}`);
      return Date.now();
    }, 'the standby holding the driver znode', 60_000, 10);
    const committed = await recorded.until(() => recorded.commits.slice(commitsBefore).find((c) => c.at > killedAt), 60_000, 'a batch committed after the kill');
    report(`active driver ${first.active} SIGKILLed: ${first.standby} held the driver znode after ${seconds(tookOver - killedAt)}, the next batch committed after ${seconds(committed.at - killedAt)}`);

    const failed = await eventually(async () => {
      const event = (await world.events()).find((e) => e.reason === 'DriverFailed' && (e.note ?? '').includes(`driver pod ${first.active} terminated`) && observedAt(e) >= killedAt - 1000);
      if (event === undefined) throw new Error(`no DriverFailed Event about ${first.active} since the kill`);
      return event;
    }, 'a DriverFailed Event', 60_000);
    expect(failed.note).toContain('its standby takes over');

    // The dead pod's name comes back as the new standby; roles swapped.
    const second = await waitForDriverPair(world, job);
    expect(second).toEqual({ active: first.standby, standby: first.active });
    const reborn = (await job.pods()).all.find((p) => p.metadata.name === first.active);
    expect(reborn?.metadata.uid).not.toBe(victim.metadata.uid);
    expect((await job.status())?.restarts).toBe(1);
    report(`new standby ${first.active} ready after ${seconds(Date.now() - killedAt)}`);

    await commitsAfter(1);
    await input.stop();
    const offsets = await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    expect(recorded.continuityProblems(offsets, fromTheStart)).toEqual([]);
  }), e2eTimeoutMs);
});
