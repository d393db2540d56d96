/**
 * Outages of the servers a job depends on, end to end: the Kafka broker and then ZooKeeper go
 * down while a job streams, and come back on the same port with their data, as after a real
 * restart. Meanwhile the job is not Ready and its status names what is down; afterwards it is
 * Ready again by itself, and every word is still counted exactly once. The world runs on servers
 * of its own, so the files running beside it keep theirs.
 */
import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamingJobStatus } from '../../../src/api/v1alpha1/index.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import type { WordcountJob } from './support/wordcount-job.js';

type Condition = NonNullable<StreamingJobStatus['conditions']>[number];

/** Figures measured along the way (not asserted: machines are noisy). */
function report(line: string): void {
  process.stderr.write(`e2e outage: ${line}\n`);
}

function readyOf(status: StreamingJobStatus): Condition | undefined {
  return status.conditions?.find((c) => c.type === 'Ready');
}

async function committedBatch(job: WordcountJob): Promise<number> {
  return Number((await job.committedOffsets())?.batch ?? -1);
}

async function waitForCommitAfter(job: WordcountJob, batch: number, what: string): Promise<void> {
  await eventually(async () => {
    const now = await committedBatch(job);
    if (now <= batch) throw new Error(`no batch committed after batch ${batch} (last ${now})`);
  }, what);
}

interface Outage {
  /** The Ready condition seen during the outage. */
  readonly ready: Condition;
  readonly stoppedAt: number;
  /** When the server was back (its restart returned). */
  readonly backAt: number;
}

/**
 * Takes a server down for at least `downMs` and until the job's Ready condition has left True
 * as `check` expects — within `showWithinMs` of the stop, or the test fails; starts the server
 * again even when the check fails.
 */
async function outage(job: WordcountJob, server: { stop(): Promise<void>; restart(): Promise<void>; readonly running: boolean }, downMs: number, what: string, check: (ready: Condition | undefined) => void, showWithinMs?: number): Promise<Outage> {
  const stoppedAt = Date.now();
  await server.stop();
  try {
    const stored = await job.waitFor((_job, status) => {
      check(readyOf(status));
    }, `Ready no longer True while ${what} is down`, showWithinMs === undefined ? undefined : Math.max(1000, showWithinMs - (Date.now() - stoppedAt)));
    const ready = readyOf((stored.status ?? {}) as StreamingJobStatus);
    if (ready === undefined) throw new Error('no Ready condition');
    report(`${what} down: Ready ${ready.status} (${ready.reason}) after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s: ${ready.message}`);
    const left = downMs - (Date.now() - stoppedAt);
    if (left > 0) await sleep(left);
    return { ready, stoppedAt, backAt: await restart() };
  } catch (err) {
    if (!server.running) await restart();
    throw err;
  }

  async function restart(): Promise<number> {
    const restartedAt = Date.now();
    await server.restart();
    const backAt = Date.now();
    report(`${what} back after ${((backAt - stoppedAt) / 1000).toFixed(1)} s down (its restart took ${((backAt - restartedAt) / 1000).toFixed(1)} s)`);
    return backAt;
  }
}

describe('a job through outages of its Kafka broker and of ZooKeeper', () => {
  const e2e = e2eSuite({ name: 'outage', servers: 'own' });

  it('the broker down: not Ready with KafkaUnreachable naming spec.source.kafka.bootstrapServers, Ready again once it is back, output exactly once', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('outage', { executors: 2 });
    await job.apply();
    await job.waitForRunning(2);
    await job.produceSample(60);
    await job.waitForAllInputCommitted();
    const before = await committedBatch(job);

    const broker = world.kafkaBrokers.join(',');
    const { ready } = await outage(job, world.servers.kafka, 8000, `the Kafka broker ${broker}`, (condition) => {
      expect(condition).toMatchObject({ status: 'False', reason: 'KafkaUnreachable' });
      expect(condition?.message).toContain('spec.source.kafka.bootstrapServers');
      expect(condition?.message).toContain(broker);
    });
    expect(ready.reason).toBe('KafkaUnreachable');

    const backAt = Date.now();
    await job.produceSample(60);
    await job.waitForRunning(2);
    report(`Ready again ${((Date.now() - backAt) / 1000).toFixed(1)} s after the broker was back`);
    await waitForCommitAfter(job, before, 'batches committed again after the broker came back');
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    expect(readyOf((await job.status()) ?? {})).toMatchObject({ status: 'True' });
  }), e2eTimeoutMs);

  it('ZooKeeper down 12 s: CoordinationUnavailable naming ZooKeeper during the outage, no Event saying the job runs until it is back, Ready again by itself, output exactly once', e2e.scenario(async (world) => {
    const [job] = world.jobs;
    if (job === undefined) throw new Error('the broker scenario made no job');
    await job.waitForRunning(2);
    const before = await committedBatch(job);
    await job.produceSample(60);

    const downMs = 12_000;
    const { ready, stoppedAt, backAt } = await outage(job, world.servers.zookeeper, downMs, `ZooKeeper ${world.zkConnect}`, (condition) => {
      expect(condition?.status).not.toBe('True');
      expect(condition?.reason).toBe('CoordinationUnavailable');
      expect(condition?.message).toContain('ZooKeeper');
      expect(condition?.message).toContain(world.zkConnect);
    }, downMs);
    expect(ready.reason).toBe('CoordinationUnavailable');

    await job.produceSample(60);
    await job.waitForRunning(2);
    report(`Ready again ${((Date.now() - backAt) / 1000).toFixed(1)} s after ZooKeeper was back`);
    // Events tell the outage in order: its Warning, and nothing saying the job runs before ZooKeeper was back.
    const events = await world.events(job.name);
    const at = (event: (typeof events)[number]): number => Date.parse(event.series?.lastObservedTime ?? event.eventTime);
    const unavailable = events.find((event) => event.reason === 'CoordinationUnavailable' && at(event) >= stoppedAt);
    expect(unavailable?.type).toBe('Warning');
    expect(events.filter((event) => event.reason === 'Running' && at(event) >= stoppedAt && at(event) < backAt)).toEqual([]);
    expect(events.some((event) => event.reason === 'Running' && at(event) >= backAt)).toBe(true);
    await waitForCommitAfter(job, before, 'batches committed again after ZooKeeper came back');
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
  }), e2eTimeoutMs);
});
