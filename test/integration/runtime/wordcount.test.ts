import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RuntimeWorld } from './support/runtime-world.js';

describe('wordcount on real processes, ZooKeeper and Kafka', () => {
  let world: RuntimeWorld;

  beforeAll(async () => {
    world = new RuntimeWorld();
    await world.start(world.config({ processor: { name: 'wordcount', params: {} } }));
  });

  afterAll(async () => {
    await world.close();
  });

  it('counts the words of each task once, exactly once into the sink', async () => {
    try {
      const lines = ['the quick brown fox', 'jumps over the lazy dog', 'The dog sleeps'];
      await world.produce(0, lines);
      await world.produce(1, ['a fox and a dog']);
      world.executor('executor-0');
      world.executor('executor-1');
      world.driver();
      await world.waitForPositions({ 0: 3, 1: 1 });
      const counts = new Map<string, number>();
      for (const entry of await world.readCommitted(world.sink)) {
        const [word = '', count = '0'] = entry.split('=');
        counts.set(word, (counts.get(word) ?? 0) + Number(count));
      }
      expect(Object.fromEntries([...counts].sort())).toEqual({ a: 2, and: 1, brown: 1, dog: 3, fox: 2, jumps: 1, lazy: 1, over: 1, quick: 1, sleeps: 1, the: 3 });
      const offsets = (await world.ledger().readOffsets(world.job))?.record;
      expect(offsets?.progress).toMatchObject({ totalLag: 0 });
      expect(offsets?.batch).toMatch(/^\d{10}$/);
    } catch (err) {
      world.markFailed();
      throw err;
    }
  });
});
