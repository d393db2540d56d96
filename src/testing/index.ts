/**
 * The in-memory fakes and the manual clock, for tests and benches: one entry point, outside the
 * production barrels, so nothing that ships imports a fake by accident (lint keeps src/ from
 * importing this module). Each fake is held to its real adapter by a contract suite.
 */
export { FakeKubeClient } from '../kube/fake.js';
export { InMemoryKafka, type FaultPoint, type InjectedFault, type InMemoryKafkaOptions } from '../runtime/kafka/in-memory-kafka.js';
export { InMemoryZooKeeper } from '../coordination/zookeeper/in-memory.js';
export { InMemoryJobCoordination } from '../operator/in-memory-job-coordination.js';
export { ManualClock, settle } from '../machinery/clock.js';
export { seededRandom } from '../machinery/random.js';
