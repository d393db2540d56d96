import { zkConnect } from '../../harness/servers.js';
import { describeJobCoordinationContract } from '../../unit/operator/support/job-coordination-contract.js';
import { zooKeeperPortTarget } from '../../unit/operator/support/port-worlds.js';
import { connector } from './operator-world.js';

const realZooKeeper = () => ({ connector, connectString: zkConnect() });

describeJobCoordinationContract('ZooKeeper adapter on a real ZooKeeper', () => zooKeeperPortTarget(realZooKeeper, 'per-job'));
describeJobCoordinationContract('ZooKeeper adapter on a real ZooKeeper, open ACLs', () => zooKeeperPortTarget(realZooKeeper, 'open'));
