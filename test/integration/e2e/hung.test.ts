/**
 * A process that hangs while its pod looks alive (SIGSTOP here; a deadlock or a GC death spiral
 * in life) is replaced, not waited on: it stops heartbeating, its ZooKeeper registration goes
 * with its session, the operator replaces its pod, an executor's tasks move to a live one, and
 * the output stays exactly once — the hung process's work is fenced, not doubled.
 */
import { describe, expect, it } from '@jest/globals';
import type { Event, Stored } from '../../../src/kube/objects.js';
import type { E2eWorld } from './support/e2e-world.js';
import { e2eSuite, e2eTimeoutMs } from './support/suite.js';
import { eventually } from './support/waiting.js';
import { isPodReady, type WordcountJob } from './support/wordcount-job.js';

/** Figures measured along the way (not asserted: machines are noisy). */
function report(line: string): void {
  process.stderr.write(`e2e hung: ${line}\n`);
}

function observedAt(event: Stored<Event>): number {
  return Date.parse(event.series?.lastObservedTime ?? event.eventTime);
}

/**
 * SIGSTOPs the pod's process and waits until the operator said so (a Warning `reason` naming the
 * pod) and a new pod of the same name runs, ready; the stopped process is resumed afterwards if
 * it still exists (the node agent kills it with its pod).
 */
async function hangAndWaitForReplacement(world: E2eWorld, job: WordcountJob, pod: string, reason: string): Promise<void> {
  const before = (await job.pods()).all.find((p) => p.metadata.name === pod);
  if (before === undefined) throw new Error(`pod ${pod} is not there`);
  const pid = await job.signalPod(pod, 'SIGSTOP');
  const stoppedAt = Date.now();
  try {
    const event = await eventually(async () => {
      const found = (await world.events()).find((e) => e.reason === reason && (e.note ?? '').includes(pod) && observedAt(e) >= stoppedAt - 1000);
      if (found === undefined) throw new Error(`no ${reason} Event about ${pod} since it was stopped`);
      return found;
    }, `a ${reason} Event about ${pod}`, 120_000);
    expect(event).toMatchObject({ type: 'Warning', regarding: { kind: 'StreamingJob', name: job.name } });
    expect(event.note).toContain('lost its ZooKeeper registration');
    const detectedMs = observedAt(event) - stoppedAt;
    await eventually(async () => {
      const now = (await job.pods()).all.find((p) => p.metadata.name === pod);
      if (now === undefined || now.metadata.uid === before.metadata.uid || !isPodReady(now)) throw new Error(`${pod} not yet replaced by a ready pod`);
    }, `${pod} replaced by a ready pod`, 120_000);
    report(`${pod} SIGSTOPped: ${reason} after ${(detectedMs / 1000).toFixed(1)} s, a new ready pod after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
  } finally {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // ended with its pod
    }
  }
}

describe('a hung process is replaced, not waited on', () => {
  const e2e = e2eSuite({ name: 'hung' });

  it('replaces a SIGSTOPped executor and then a SIGSTOPped driver; every word is still counted exactly once', e2e.scenario(async (world) => {
    const job = await world.wordcountJob('hung', { executors: 2 });
    await job.apply();
    await job.waitForRunning(2);
    const input = job.startProducing(40, 300);
    const committed = async (): Promise<number> => Number((await job.committedOffsets())?.batch ?? -1);
    await eventually(async () => {
      if ((await committed()) < 1) throw new Error('no batch committed yet');
    }, 'a first batch committed');

    await hangAndWaitForReplacement(world, job, `${job.name}-executor-0`, 'ExecutorUnresponsive');
    const afterExecutor = await committed();
    await eventually(async () => {
      if ((await committed()) <= afterExecutor) throw new Error(`no batch committed after batch ${afterExecutor}`);
    }, 'batches committed again after the executor was replaced');

    await hangAndWaitForReplacement(world, job, `${job.name}-driver`, 'DriverUnresponsive');
    const afterDriver = await committed();
    await eventually(async () => {
      if ((await committed()) <= afterDriver) throw new Error(`no batch committed after batch ${afterDriver}`);
    }, 'batches committed again after the driver was replaced');

    await input.stop();
    await job.waitForAllInputCommitted();
    await job.verifyExactlyOnce();
    await job.waitForRunning(2);
  }), e2eTimeoutMs * 2);
});
