import { describeCoordinationScenarios } from '../../contract/zookeeper/coordination-scenarios.js';
import { zkConnect } from '../../harness/servers.js';
import { expireNative, nativeConnector } from './native-target.js';

describeCoordinationScenarios('real ZooKeeper', () => ({
  connector: nativeConnector,
  connectString: zkConnect(),
  expire: (session) => expireNative(zkConnect(), session),
}));
