import { describe, expect, it } from '@jest/globals';
import { ManualClock, sleep } from '../../../src/machinery/clock.js';

describe('the manual clock', () => {
  it('fires timers in time order, and in creation order at the same time', async () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push('c@30'));
    clock.setTimer(10, () => fired.push('a@10'));
    clock.setTimer(10, () => fired.push('b@10'));
    clock.setTimer(31, () => fired.push('late'));
    await clock.advance(30);
    expect(fired).toEqual(['a@10', 'b@10', 'c@30']);
    expect(clock.now()).toBe(30);
    expect(clock.pendingTimers).toBe(1);
  });

  it('fires timers set by timers when they fall due within the same advance', async () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    clock.setTimer(10, () => {
      fired.push(clock.now());
      clock.setTimer(10, () => fired.push(clock.now()));
    });
    await clock.advance(25);
    expect(fired).toEqual([10, 20]);
  });

  it('lets async work started by a timer finish before the next timer', async () => {
    const clock = new ManualClock(0);
    const order: string[] = [];
    clock.setTimer(1, () => {
      void (async () => {
        await Promise.resolve();
        await Promise.resolve();
        order.push('async work of the first timer');
      })();
    });
    clock.setTimer(2, () => order.push('second timer'));
    await clock.advance(2);
    expect(order).toEqual(['async work of the first timer', 'second timer']);
  });

  it('does not fire cancelled timers', async () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock
      .setTimer(5, () => {
        fired = true;
      })
      .cancel();
    await clock.advance(10);
    expect(fired).toBe(false);
  });

  it('sleeps on the clock, and wakes early when aborted', async () => {
    const clock = new ManualClock(0);
    let woke = false;
    const slept = sleep(clock, 100).then(() => {
      woke = true;
    });
    await clock.advance(99);
    expect(woke).toBe(false);
    await clock.advance(1);
    await slept;
    expect(woke).toBe(true);
    const abort = new AbortController();
    const early = sleep(clock, 1_000_000, abort.signal);
    abort.abort();
    await expect(early).resolves.toBeUndefined();
  });
});
