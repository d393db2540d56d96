/** The ZooKeeper a bench uses: ZK_CONNECT when set, else one started here (stopped by `cleanups`). */
import { ZooKeeperServer } from '../../src/local/zookeeper-server.js';

export async function benchZooKeeper(cleanups: (() => Promise<void>)[]): Promise<string> {
  const given = process.env.ZK_CONNECT;
  if (given !== undefined && given !== '') return given;
  const zk = await ZooKeeperServer.start();
  cleanups.push(() => zk.destroy());
  return zk.connectString;
}
