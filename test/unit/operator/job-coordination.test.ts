import { InMemoryZooKeeper } from '../../../src/coordination/zookeeper/in-memory.js';
import { describeJobCoordinationContract } from '../../contract/job-coordination/job-coordination-contract.js';
import { inMemoryOperatorLink, inMemoryPortTarget, zooKeeperPortTarget } from '../../contract/job-coordination/port-worlds.js';

const server = new InMemoryZooKeeper();
const inMemoryZooKeeper = () => ({ connector: server.connect, connectString: 'in-memory', operatorLink: () => Promise.resolve(inMemoryOperatorLink(server)) });

describeJobCoordinationContract('in-memory port', () => inMemoryPortTarget('per-job'));
describeJobCoordinationContract('in-memory port, open ACLs', () => inMemoryPortTarget('open'));
describeJobCoordinationContract('ZooKeeper adapter on the in-memory ZooKeeper', () => zooKeeperPortTarget(inMemoryZooKeeper, 'per-job'));
describeJobCoordinationContract('ZooKeeper adapter on the in-memory ZooKeeper, open ACLs', () => zooKeeperPortTarget(inMemoryZooKeeper, 'open'));
