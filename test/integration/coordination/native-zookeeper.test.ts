import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import type { ZooKeeperClient } from '../../../src/coordination/zookeeper/client.js';
import { describeZooKeeperContract } from '../../contract/zookeeper/zookeeper-contract.js';
import { zkConnect } from '../../harness/servers.js';

describeZooKeeperContract('native client on a real server', () => ({
  connect: (options) => NativeZooKeeperClient.connect({ connectString: zkConnect(), sessionTimeoutMs: 4000, ...options }),
  expire: async (client: ZooKeeperClient) => {
    // The classic way to expire a session on demand: open it a second time with its id and
    // password, then close that handle; the server ends the session for both.
    const twin = await NativeZooKeeperClient.attach(zkConnect(), (client as NativeZooKeeperClient).sessionCredentials);
    await twin.close();
  },
}));
