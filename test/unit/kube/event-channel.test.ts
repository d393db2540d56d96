import { describe, expect, it } from '@jest/globals';
import { EventChannel } from '../../../src/kube/event-channel.js';

describe('a push-fed event channel', () => {
  it('delivers pushed values in order, then ends', async () => {
    const channel = new EventChannel<number>();
    channel.push(1);
    channel.push(2);
    channel.end();
    const seen: number[] = [];
    for await (const value of channel) seen.push(value);
    expect(seen).toEqual([1, 2]);
  });

  it('hands a value straight to a waiting consumer', async () => {
    const channel = new EventChannel<string>();
    const next = channel.next();
    channel.push('now');
    await expect(next).resolves.toEqual({ value: 'now', done: false });
  });

  it('throws the failure after the values that came before it', async () => {
    const channel = new EventChannel<number>();
    channel.push(1);
    channel.fail(new Error('gone'));
    await expect(channel.next()).resolves.toEqual({ value: 1, done: false });
    await expect(channel.next()).rejects.toThrow('gone');
    await expect(channel.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('fails a consumer that is already waiting', async () => {
    const channel = new EventChannel<number>();
    const next = channel.next();
    channel.fail(new Error('dropped'));
    await expect(next).rejects.toThrow('dropped');
  });

  it('closes at once when the consumer returns, even while it waits, and tells the producer once', async () => {
    let closes = 0;
    const channel = new EventChannel<number>(() => {
      closes++;
    });
    const waiting = channel.next();
    await channel.return();
    await expect(waiting).resolves.toEqual({ value: undefined, done: true });
    channel.push(1);
    channel.end();
    await expect(channel.next()).resolves.toEqual({ value: undefined, done: true });
    expect(closes).toBe(1);
  });

  it('tells the producer when it ends on its own', () => {
    let closes = 0;
    const channel = new EventChannel<number>(() => {
      closes++;
    });
    channel.end();
    channel.fail(new Error('late'));
    expect(closes).toBe(1);
    expect(channel.isClosed).toBe(true);
  });
});
