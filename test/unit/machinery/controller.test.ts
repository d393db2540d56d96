import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError, invalidSpec } from '../../../src/errors/index.js';
import { controllerMetrics, operatorRegistry as registry } from '../../../src/metrics/index.js';
import { ManualClock, settle } from '../../../src/machinery/clock.js';
import type { ReconcileResultLabel } from '../../../src/metrics/index.js';
import { Controller, decideQueueAction, isPanic, type QueueAction, type ReconcileOutcome, type ReconcileResult, type Reconciler } from '../../../src/machinery/controller.js';
import { ItemExponentialRateLimiter } from '../../../src/machinery/rate-limiter.js';
import { WorkQueue } from '../../../src/machinery/work-queue.js';

describe('what the queue does after a reconcile pass', () => {
  const cases: [string, ReconcileOutcome, QueueAction, ReconcileResultLabel][] = [
    ['success', { kind: 'result', result: {} }, { action: 'forget' }, 'success'],
    ['no result at all', { kind: 'result', result: undefined }, { action: 'forget' }, 'success'],
    ['requeueAfter', { kind: 'result', result: { requeueAfterMs: 30_000 } }, { action: 'requeue-after', delayMs: 30_000 }, 'requeue_after'],
    ['requeueAfter 0 is plain success', { kind: 'result', result: { requeueAfterMs: 0 } }, { action: 'forget' }, 'success'],
    ['requeueAfter wins over requeue', { kind: 'result', result: { requeueAfterMs: 5, requeue: true } }, { action: 'requeue-after', delayMs: 5 }, 'requeue_after'],
    ['requeue', { kind: 'result', result: { requeue: true } }, { action: 'requeue-rate-limited', minDelayMs: 0 }, 'requeue'],
    ['a transient error', { kind: 'error', error: new StreamkeeperError('SK_ZK_CONNECTION_LOSS', 'lost') }, { action: 'requeue-rate-limited', minDelayMs: 0 }, 'error'],
    ['a transient error with a delay', { kind: 'error', error: new StreamkeeperError('SK_KUBE_ERROR', 'busy', { retryAfterMs: 2000 }) }, { action: 'requeue-rate-limited', minDelayMs: 2000 }, 'error'],
    ['a conflict', { kind: 'error', error: new StreamkeeperError('SK_KUBE_CONFLICT', 'stale') }, { action: 'requeue-rate-limited', minDelayMs: 0 }, 'error'],
    ['an unknown error', { kind: 'error', error: new Error('socket hang up') }, { action: 'requeue-rate-limited', minDelayMs: 0 }, 'error'],
    ['a permanent error', { kind: 'error', error: new StreamkeeperError('SK_KUBE_FORBIDDEN', 'no') }, { action: 'forget' }, 'error'],
    ['an invalid spec', { kind: 'error', error: invalidSpec('spec.executors.replicas', 'must be at least 1') }, { action: 'forget' }, 'error'],
  ];
  it.each(cases)('%s', (_case, outcome, queue, result) => {
    expect(decideQueueAction(outcome)).toMatchObject({ queue, result });
  });

  it('counts programming errors as panics and retries them', () => {
    expect(decideQueueAction({ kind: 'error', error: new TypeError("Cannot read properties of undefined (reading 'spec')") })).toMatchObject({ panic: true, queue: { action: 'requeue-rate-limited' } });
    expect(isPanic('a thrown string')).toBe(true);
    expect(isPanic(new StreamkeeperError('SK_KUBE_ERROR', 'x'))).toBe(false);
    expect(isPanic(new Error('plain'))).toBe(false);
  });
});

let controllers = 0;

function harness(reconcile: Reconciler['reconcile'], workers = 1): { controller: Controller; clock: ManualClock; name: string } {
  const clock = new ManualClock(0);
  const name = `test-controller-${++controllers}`;
  const queue = new WorkQueue<string>({ name, clock, rateLimiter: new ItemExponentialRateLimiter({ baseDelayMs: 100, maxDelayMs: 10_000 }), metrics: controllerMetrics });
  const controller = new Controller({ name, reconciler: { reconcile }, queue, workers, clock, metrics: controllerMetrics });
  return { controller, clock, name };
}

async function counter(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name);
  return metric?.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label) && !('le' in value.labels))?.value;
}

describe('the controller', () => {
  it('starts every outcome counter of a new controller at 0', async () => {
    const { name } = harness(() => Promise.resolve({}));
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) {
      expect(await counter('streamkeeper_reconcile_total', { controller: name, result })).toBe(0);
    }
    expect(await counter('streamkeeper_reconcile_errors_total', { controller: name })).toBe(0);
    expect(await counter('streamkeeper_reconcile_panics_total', { controller: name })).toBe(0);
  });

  it('reconciles a key added twice before it was picked up once', async () => {
    const seen: string[] = [];
    const { controller, name } = harness((key) => {
      seen.push(key);
      return Promise.resolve({});
    });
    controller.queue.add('ns/a');
    controller.queue.add('ns/b');
    controller.queue.add('ns/a');
    controller.start();
    await settle();
    expect(seen).toEqual(['ns/a', 'ns/b']);
    expect(await counter('streamkeeper_reconcile_total', { controller: name, result: 'success' })).toBe(2);
    await controller.stop();
  });

  it('retries a transient failure with backoff until it succeeds, then forgets it', async () => {
    const attempts: number[] = [];
    let failuresLeft = 3;
    const { controller, clock, name } = harness((_key, { retries }) => {
      attempts.push(clock.now());
      if (failuresLeft-- > 0) return Promise.reject(new StreamkeeperError('SK_ZK_CONNECTION_LOSS', 'lost'));
      expect(retries).toBe(3);
      return Promise.resolve({});
    });
    controller.start();
    controller.queue.add('ns/a');
    await clock.advance(10_000);
    expect(attempts).toEqual([0, 100, 300, 700]);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    expect(await counter('streamkeeper_reconcile_errors_total', { controller: name })).toBe(3);
    await controller.stop();
  });

  it('does not retry a permanent failure or an invalid spec', async () => {
    let attempts = 0;
    const { controller, clock } = harness(() => {
      attempts++;
      return Promise.reject(invalidSpec('spec.batchInterval', 'must be positive'));
    });
    controller.start();
    controller.queue.add('ns/a');
    await clock.advance(60_000);
    expect(attempts).toBe(1);
    controller.queue.add('ns/a');
    await settle();
    expect(attempts).toBe(2);
    await controller.stop();
  });

  it('runs a key again after the requeueAfter it returned', async () => {
    const runs: number[] = [];
    const { controller, clock, name } = harness((): Promise<ReconcileResult> => {
      runs.push(clock.now());
      return Promise.resolve(runs.length < 3 ? { requeueAfterMs: 30_000 } : {});
    });
    controller.start();
    controller.queue.add('ns/a');
    await clock.advance(120_000);
    expect(runs).toEqual([0, 30_000, 60_000]);
    expect(await counter('streamkeeper_reconcile_total', { controller: name, result: 'requeue_after' })).toBe(2);
    await controller.stop();
  });

  it('survives a reconciler that throws a TypeError, counting it as a panic', async () => {
    let calls = 0;
    const { controller, clock, name } = harness((key) => {
      calls++;
      if (key === 'ns/buggy' && calls === 1) throw new TypeError("Cannot read properties of undefined (reading 'spec')");
      return Promise.resolve({});
    });
    controller.start();
    controller.queue.add('ns/buggy');
    await clock.advance(1000);
    controller.queue.add('ns/fine');
    await settle();
    expect(calls).toBe(3);
    expect(await counter('streamkeeper_reconcile_panics_total', { controller: name })).toBe(1);
    await controller.stop();
  });

  it('never runs the same key in two workers at once', async () => {
    let running = 0;
    let maxRunningForA = 0;
    const releases: (() => void)[] = [];
    const { controller } = harness(
      (key) =>
        new Promise((resolve) => {
          if (key === 'ns/a') {
            running++;
            maxRunningForA = Math.max(maxRunningForA, running);
          }
          releases.push(() => {
            if (key === 'ns/a') running--;
            resolve({});
          });
        }),
      4,
    );
    controller.start();
    controller.queue.add('ns/a');
    await settle();
    controller.queue.add('ns/a');
    controller.queue.add('ns/b');
    await settle();
    expect(releases).toHaveLength(2);
    releases.shift()?.();
    await settle();
    expect(releases).toHaveLength(2);
    for (const release of releases.splice(0)) release();
    await settle();
    expect(maxRunningForA).toBe(1);
    await controller.stop();
  });

  it('lets a pass in flight finish when stopped, and takes no new keys', async () => {
    let release: () => void = () => undefined;
    const seen: string[] = [];
    const { controller } = harness(
      (key) =>
        new Promise((resolve) => {
          seen.push(key);
          release = () => {
            resolve({});
          };
        }),
    );
    controller.start();
    controller.queue.add('ns/a');
    await settle();
    let stopped: boolean | undefined;
    void controller.stop(10_000).then((drained) => (stopped = drained));
    controller.queue.add('ns/b');
    await settle();
    expect(stopped).toBeUndefined();
    release();
    await settle();
    expect(stopped).toBe(true);
    expect(seen).toEqual(['ns/a']);
  });

  it('aborts the signal of a pass still running at the drain deadline', async () => {
    let signal: AbortSignal | undefined;
    const { controller, clock } = harness((_key, context) => {
      signal = context.signal;
      return new Promise(() => undefined);
    });
    controller.start();
    controller.queue.add('ns/stuck');
    await settle();
    const stopping = controller.stop(1000);
    await clock.advance(1000);
    await expect(stopping).resolves.toBe(false);
    expect(signal?.aborted).toBe(true);
  });

  it('explains invalid options', () => {
    expect(() => new Controller({ name: '', reconciler: { reconcile: () => Promise.resolve({}) } })).toThrow('needs a name');
    expect(() => new Controller({ name: 'x', reconciler: { reconcile: () => Promise.resolve({}) }, workers: 0 })).toThrow('workers must be a positive integer');
  });
});
