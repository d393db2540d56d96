/**
 * A replicated ZooKeeper ensemble on loopback behaves as production ones do when a member dies:
 * the survivors elect a new leader, a client given every member keeps its session through them,
 * and the dead member rejoins as a follower when it restarts.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { ZooKeeperSession } from '../../../src/coordination/session.js';
import { openAcl } from '../../../src/coordination/zookeeper/client.js';
import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import { ZooKeeperEnsemble } from '../../../src/local/zookeeper-ensemble.js';

let ensemble: ZooKeeperEnsemble | undefined;

afterAll(async () => {
  await ensemble?.destroy();
}, 60_000);

describe('a three-server ZooKeeper ensemble', () => {
  it('elects a new leader when its leader is SIGKILLed; the session moves to a survivor and the old leader rejoins as a follower', async () => {
    const members = await ZooKeeperEnsemble.start();
    ensemble = members;
    expect(members.connectString.split(',')).toHaveLength(3);
    expect((await members.modes()).sort()).toEqual(['follower', 'follower', 'leader']);
    const session = await ZooKeeperSession.open({ connector: (options) => NativeZooKeeperClient.connect(options), connectString: members.connectString, sessionTimeoutMs: 10_000 });
    try {
      await session.create('/replicated', Buffer.from('on every member'), 'persistent', openAcl);
      await session.registerEphemeral('/alive', Buffer.from('mine'));
      const sessionId = session.sessionId;
      const leader = await members.leader();
      await leader.kill();
      expect(await leader.mode()).toBe('not serving');

      // Reads and writes go on through the survivors, in the same session.
      expect((await session.get('/replicated')).data.toString()).toBe('on every member');
      await session.create('/after-the-election', Buffer.alloc(0), 'persistent', openAcl);
      expect(await session.exists('/alive')).not.toBeNull();
      expect(session.sessionId).toBe(sessionId);
      const next = await members.leader();
      expect(next).not.toBe(leader);

      await leader.restart();
      expect(await leader.mode()).toBe('follower');
      expect((await members.modes()).sort()).toEqual(['follower', 'follower', 'leader']);
    } finally {
      await session.close();
    }
  }, 180_000);
});
