/**
 * Starts the real servers the integration tests share — ZooKeeper and Kafka (KRaft) — once per
 * jest run, on free loopback ports with throwaway data directories. Servers named by
 * ZK_CONNECT / KAFKA_BROKERS are used instead when set. Connection strings reach the test
 * workers through the environment, which they inherit.
 */
import { KafkaServer } from '../../src/local/kafka-server.js';
import { reapOrphans } from '../../src/local/supervised-process.js';
import { ZooKeeperServer } from '../../src/local/zookeeper-server.js';
import { harnessState } from './state.js';

export default async function globalSetup(): Promise<void> {
  const reaped = reapOrphans();
  if (reaped.length > 0) process.stderr.write(`harness: reaped servers left by an earlier run: ${reaped.join(', ')}\n`);
  const started: Promise<void>[] = [];
  if (process.env.ZK_CONNECT === undefined) {
    started.push(
      ZooKeeperServer.start().then((zk) => {
        harnessState.zookeeper = zk;
        process.env.ZK_CONNECT = zk.connectString;
      }),
    );
  }
  if (process.env.KAFKA_BROKERS === undefined) {
    started.push(
      KafkaServer.start().then((kafka) => {
        harnessState.kafka = kafka;
        process.env.KAFKA_BROKERS = kafka.bootstrapServers;
      }),
    );
  }
  const results = await Promise.allSettled(started);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    await harnessState.stopAll();
    throw new Error(`integration test servers did not start:\n${failed.map((f) => String(f.reason)).join('\n')}`);
  }
  process.stderr.write(`harness: ZooKeeper ${process.env.ZK_CONNECT ?? '?'}, Kafka ${process.env.KAFKA_BROKERS ?? '?'}\n`);
}
