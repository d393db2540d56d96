import { InMemoryZooKeeper } from '../../../src/coordination/zookeeper/in-memory.js';
import { describeZooKeeperContract } from '../../contract/zookeeper/zookeeper-contract.js';

const server = new InMemoryZooKeeper();

describeZooKeeperContract('in-memory', () => ({
  connect: (options) => server.connect(options),
  expire: (client) => {
    server.expire(client.sessionId);
    return Promise.resolve();
  },
}));
