import { InMemoryZooKeeper } from '../../../src/coordination/zookeeper/in-memory.js';
import { describeCoordinationScenarios } from '../../contract/zookeeper/coordination-scenarios.js';

const server = new InMemoryZooKeeper();

describeCoordinationScenarios('in-memory ZooKeeper', () => ({
  connector: server.connect,
  connectString: 'in-memory',
  expire: (session) => {
    const id = session.sessionId;
    if (id !== undefined) server.expire(id);
    return Promise.resolve();
  },
}));
