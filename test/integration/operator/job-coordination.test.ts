import { zkConnect } from '../../harness/servers.js';
import { describeJobCoordinationContract } from '../../contract/job-coordination/job-coordination-contract.js';
import { tcpOperatorLink, zooKeeperPortTarget } from '../../contract/job-coordination/port-worlds.js';
import { connector } from './operator-world.js';

const realZooKeeper = () => ({ connector, connectString: zkConnect(), operatorLink: () => tcpOperatorLink(zkConnect()) });

describeJobCoordinationContract('ZooKeeper adapter on a real ZooKeeper', () => zooKeeperPortTarget(realZooKeeper, 'per-job'));
describeJobCoordinationContract('ZooKeeper adapter on a real ZooKeeper, open ACLs', () => zooKeeperPortTarget(realZooKeeper, 'open'));
