/**
 * The local servers can go down and come back as in a real outage: a Kafka broker or a ZooKeeper
 * server stopped (or killed) and started again on the same port and data directory keeps its
 * topics, records and sessions, so clients that retry simply carry on. The outage scenarios of
 * the e2e suite rely on this.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { ZooKeeperSession } from '../../../src/coordination/session.js';
import { openAcl } from '../../../src/coordination/zookeeper/client.js';
import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import { readCommittedTopic } from '../../../src/demo/word-counts.js';
import { canConnect } from '../../../src/local/free-port.js';
import { KafkaServer } from '../../../src/local/kafka-server.js';
import { ZooKeeperServer, fourLetterWord } from '../../../src/local/zookeeper-server.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/index.js';

const started: { destroy(): Promise<void> }[] = [];

afterAll(async () => {
  await Promise.allSettled(started.map((server) => server.destroy()));
}, 60_000);

describe('a Kafka broker that stops and restarts', () => {
  it('comes back on the same port with its topics and records, after a clean stop and after SIGKILL', async () => {
    const server = await KafkaServer.start();
    started.push(server);
    const port = server.port;
    const kafka = createKafkajsClient({ brokers: [server.bootstrapServers], clientId: 'restart-test' });
    try {
      await kafka.admin.createTopic('survivor', { partitions: 2 });
      const producer = await kafka.producer();
      await producer.send('survivor', 0, [{ key: null, value: Buffer.from('before the stop') }]);
      await producer.close();

      await server.stop();
      expect(server.running).toBe(false);
      expect(await canConnect(port)).toBe(false);
      await server.restart();
      expect(server.port).toBe(port);
      expect(server.running).toBe(true);

      const again = await kafka.producer();
      await again.send('survivor', 1, [{ key: null, value: Buffer.from('after the restart') }]);
      await again.close();
      await server.kill();
      expect(await canConnect(port)).toBe(false);
      await server.restart();

      expect(await kafka.admin.listTopics()).toContain('survivor');
      const values = (await readCommittedTopic(kafka, 'survivor')).map((r) => r.value?.toString()).sort();
      expect(values).toEqual(['after the restart', 'before the stop']);
    } finally {
      await kafka.close();
    }
  }, 300_000);
});

describe('a ZooKeeper server that stops and restarts', () => {
  it('comes back on the same port with its data, and a session that did not expire meanwhile keeps its ephemeral node', async () => {
    const server = await ZooKeeperServer.start();
    started.push(server);
    const port = server.port;
    const session = await ZooKeeperSession.open({ connector: (options) => NativeZooKeeperClient.connect(options), connectString: server.connectString, sessionTimeoutMs: 10_000 });
    try {
      await session.create('/kept', Buffer.from('persistent'), 'persistent', openAcl);
      const ephemeral = await session.registerEphemeral('/present', Buffer.from('ephemeral'));
      const owner = (await session.exists('/present'))?.ephemeralOwner;
      const sessionId = session.sessionId;

      await server.stop();
      expect(server.running).toBe(false);
      expect(await canConnect(port)).toBe(false);
      await server.restart();
      expect(server.port).toBe(port);
      expect(await fourLetterWord(port, 'srvr')).toContain('Mode: standalone');

      expect((await session.get('/kept')).data.toString()).toBe('persistent');
      expect((await session.exists('/present'))?.ephemeralOwner).toBe(owner);
      expect(session.sessionId).toBe(sessionId);
      expect(ephemeral.data.toString()).toBe('ephemeral');

      await server.kill();
      await server.restart();
      expect((await session.get('/kept')).data.toString()).toBe('persistent');
    } finally {
      await session.close();
    }
  }, 180_000);
});
