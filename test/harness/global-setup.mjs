// Starts the real servers the integration tests share — ZooKeeper and Kafka (KRaft) — once per
// jest run, on free loopback ports with throwaway data directories. Servers named by ZK_CONNECT /
// KAFKA_BROKERS are used instead when set. Addresses reach the test workers through the
// environment, which they inherit.
//
// Jest loads global setup outside its module transform, so this file is plain JavaScript and uses
// the compiled launchers in dist/ (built here, incrementally, so running jest directly works).
import { ensureBuilt } from './build.mjs';

export default async function globalSetup() {
  ensureBuilt();
  const { reapOrphans } = await import('../../dist/local/supervised-process.js');
  const { ServerSet } = await import('../../dist/local/server-set.js');
  const reaped = reapOrphans();
  if (reaped.length > 0) process.stderr.write(`harness: reaped servers left by an earlier run: ${reaped.join(', ')}\n`);
  const servers = await ServerSet.start({ zkConnect: process.env.ZK_CONNECT, kafkaBrokers: process.env.KAFKA_BROKERS });
  globalThis.__streamkeeperServers = servers;
  process.env.ZK_CONNECT = servers.zkConnect;
  process.env.KAFKA_BROKERS = servers.kafkaBrokers;
  process.stderr.write(`\nharness: ZooKeeper ${servers.zkConnect}, Kafka ${servers.kafkaBrokers}\n`);
}
