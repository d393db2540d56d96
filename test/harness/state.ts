/**
 * The servers the global setup started. Global setup and teardown run in the same process and
 * share this module instance, so teardown can stop exactly what setup started.
 */
import type { KafkaServer } from '../../src/local/kafka-server.js';
import type { ZooKeeperServer } from '../../src/local/zookeeper-server.js';

interface HarnessState {
  zookeeper: ZooKeeperServer | undefined;
  kafka: KafkaServer | undefined;
  stopAll(): Promise<void>;
}

const key = Symbol.for('streamkeeper.test.harness');
const holder = globalThis as unknown as Record<symbol, HarnessState | undefined>;

export const harnessState: HarnessState = (holder[key] ??= {
  zookeeper: undefined,
  kafka: undefined,
  async stopAll() {
    const servers = [this.kafka, this.zookeeper];
    this.kafka = undefined;
    this.zookeeper = undefined;
    await Promise.allSettled(servers.map((s) => s?.destroy()));
  },
});
