import { describe, expect, it } from '@jest/globals';
import { ReplaceableConnection } from '../../../../src/runtime/kafka/replaceable-connection.js';

/** Clients are numbers; the log records connects and disconnects in order. */
function connection(failFirst = false) {
  const log: string[] = [];
  let next = 0;
  const replaceable = new ReplaceableConnection<number>(
    () => {
      const id = ++next;
      log.push(`connect ${id}`);
      return failFirst && id === 1 ? Promise.reject(new Error('refused')) : Promise.resolve(id);
    },
    (id) => {
      log.push(`disconnect ${id}`);
      return Promise.resolve();
    },
  );
  return { replaceable, log };
}

describe('replaceable connection', () => {
  it('connects once and shares the client between calls', async () => {
    const { replaceable, log } = connection();
    expect(await Promise.all([replaceable.run((c) => Promise.resolve(c)), replaceable.run((c) => Promise.resolve(c))])).toEqual([1, 1]);
    expect(log).toEqual(['connect 1']);
  });

  it('disconnects a retired client only after its last call ended', async () => {
    const { replaceable, log } = connection();
    const old = replaceable.generation();
    let finish: () => void = () => undefined;
    const slow = replaceable.run(() => new Promise<void>((resolve) => (finish = resolve)), old);
    await replaceable.retire(old);
    expect(await replaceable.run((c) => Promise.resolve(c))).toBe(2);
    expect(log).toEqual(['connect 1', 'connect 2']);
    finish();
    await slow;
    expect(log).toEqual(['connect 1', 'connect 2', 'disconnect 1']);
  });

  it('disconnects an idle retired client at once, and every client on close', async () => {
    const { replaceable, log } = connection();
    await replaceable.run(() => Promise.resolve());
    await replaceable.retire(replaceable.generation());
    await replaceable.run(() => Promise.resolve());
    await replaceable.close();
    expect(log).toEqual(['connect 1', 'disconnect 1', 'connect 2', 'disconnect 2']);
  });

  it('connects again after a failed connect', async () => {
    const { replaceable, log } = connection(true);
    await expect(replaceable.run(() => Promise.resolve())).rejects.toThrow('refused');
    expect(await replaceable.run((c) => Promise.resolve(c))).toBe(2);
    await replaceable.close();
    expect(log).toEqual(['connect 1', 'connect 2', 'disconnect 2']);
  });
});
