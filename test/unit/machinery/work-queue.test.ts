import { describe, expect, it } from '@jest/globals';
import { controllerMetrics, operatorRegistry as registry } from '../../../src/metrics/index.js';
import { ManualClock, settle } from '../../../src/machinery/clock.js';
import { ItemExponentialRateLimiter } from '../../../src/machinery/rate-limiter.js';
import { WorkQueue } from '../../../src/machinery/work-queue.js';

let queues = 0;

function newQueue(clock = new ManualClock(0)): { queue: WorkQueue<string>; clock: ManualClock } {
  const queue = new WorkQueue<string>({ name: `test-queue-${++queues}`, clock, rateLimiter: new ItemExponentialRateLimiter({ baseDelayMs: 10, maxDelayMs: 1000 }), metrics: controllerMetrics });
  return { queue, clock };
}

async function metricValue(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name);
  return metric?.values.find((value) => Object.entries(labels).every(([key, label]) => value.labels[key] === label))?.value;
}

describe('the work queue', () => {
  it('hands out a key added twice only once', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    queue.add('ns/b');
    queue.add('ns/a');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('ns/a');
    expect(await queue.get()).toBe('ns/b');
    expect(queue.length).toBe(0);
  });

  it('never hands out a key that is in flight; a key re-added meanwhile comes back after done', async () => {
    const { queue } = newQueue();
    queue.add('ns/a');
    const key = await queue.get();
    queue.add('ns/a');
    queue.add('ns/a');
    expect(queue.length).toBe(0);
    expect(queue.inFlight).toBe(1);
    let second: string | undefined;
    void queue.get().then((next) => (second = next));
    await settle();
    expect(second).toBeUndefined();
    queue.done(key ?? '');
    await settle();
    expect(second).toBe('ns/a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = newQueue();
    const waiting = queue.get();
    queue.add('ns/a');
    await expect(waiting).resolves.toBe('ns/a');
  });

  it('adds a key after a delay, keeping the earliest of several delays', async () => {
    const { queue, clock } = newQueue();
    queue.addAfter('ns/a', 1000);
    queue.addAfter('ns/a', 300);
    queue.addAfter('ns/a', 5000);
    expect(queue.delayedCount).toBe(1);
    await clock.advance(299);
    expect(queue.length).toBe(0);
    await clock.advance(1);
    expect(queue.length).toBe(1);
    await clock.advance(10_000);
    expect(queue.length).toBe(1);
  });

  it('re-adds a failing key with growing backoff, and from the base again once forgotten', async () => {
    const { queue, clock } = newQueue();
    const readyAfter = async (): Promise<number> => {
      let waited = 0;
      while (queue.length === 0) {
        await clock.advance(1);
        waited++;
      }
      queue.done((await queue.get()) ?? '');
      return waited;
    };
    queue.addRateLimited('ns/a');
    expect(await readyAfter()).toBe(10);
    queue.addRateLimited('ns/a');
    expect(await readyAfter()).toBe(20);
    queue.addRateLimited('ns/a');
    expect(await readyAfter()).toBe(40);
    expect(queue.numRequeues('ns/a')).toBe(3);
    queue.forget('ns/a');
    queue.addRateLimited('ns/a');
    expect(await readyAfter()).toBe(10);
  });

  it('waits at least the minimum delay a transient error asked for', async () => {
    const { queue, clock } = newQueue();
    queue.addRateLimited('ns/a', 500);
    await clock.advance(499);
    expect(queue.length).toBe(0);
    await clock.advance(1);
    expect(queue.length).toBe(1);
  });

  it('drains on shut down: in-flight keys finish, waiting and delayed keys are dropped', async () => {
    const { queue, clock } = newQueue();
    queue.add('ns/busy');
    queue.add('ns/waiting');
    queue.addAfter('ns/later', 100);
    const busy = await queue.get();
    let drained: boolean | undefined;
    void queue.shutDown(10_000).then((result) => (drained = result));
    await settle();
    expect(drained).toBeUndefined();
    await expect(queue.get()).resolves.toBeUndefined();
    queue.add('ns/new');
    await clock.advance(200);
    expect(queue.length).toBe(0);
    queue.done(busy ?? '');
    await settle();
    expect(drained).toBe(true);
  });

  it('gives up draining at the deadline', async () => {
    const { queue, clock } = newQueue();
    queue.add('ns/stuck');
    await queue.get();
    let drained: boolean | undefined;
    void queue.shutDown(5000).then((result) => (drained = result));
    await clock.advance(4999);
    expect(drained).toBeUndefined();
    await clock.advance(1);
    expect(drained).toBe(false);
  });

  it('releases waiting workers on shut down', async () => {
    const { queue } = newQueue();
    const waiting = queue.get();
    await expect(queue.shutDown()).resolves.toBe(true);
    await expect(waiting).resolves.toBeUndefined();
  });

  it('reports depth, adds, retries and the longest-running key', async () => {
    const { queue, clock } = newQueue();
    const name = queue.name;
    expect(await metricValue('streamkeeper_workqueue_depth', { name })).toBe(0);
    expect(await metricValue('streamkeeper_workqueue_adds_total', { name })).toBe(0);
    queue.add('ns/a');
    queue.add('ns/a');
    queue.add('ns/b');
    expect(await metricValue('streamkeeper_workqueue_depth', { name })).toBe(2);
    expect(await metricValue('streamkeeper_workqueue_adds_total', { name })).toBe(3);
    await queue.get();
    await clock.advance(2500);
    expect(await metricValue('streamkeeper_workqueue_longest_running_seconds', { name })).toBe(2.5);
    queue.addRateLimited('ns/c');
    expect(await metricValue('streamkeeper_workqueue_retries_total', { name })).toBe(1);
  });
});
