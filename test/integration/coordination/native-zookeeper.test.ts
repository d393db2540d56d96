import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import type { ZooKeeperClient } from '../../../src/coordination/zookeeper/client.js';
import { describeZooKeeperContract } from '../../contract/zookeeper/zookeeper-contract.js';
import { zkConnect } from '../../harness/servers.js';

describeZooKeeperContract('native client on a real server', () => ({
  connect: (options) => NativeZooKeeperClient.connect({ connectString: zkConnect(), sessionTimeoutMs: 4000, ...options }),
  expire: (client: ZooKeeperClient) => NativeZooKeeperClient.expireSession(zkConnect(), client as NativeZooKeeperClient),
}));
