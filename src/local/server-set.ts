/**
 * Starts the servers a streamkeeper environment needs — ZooKeeper and Kafka, later the
 * Kubernetes control plane — in parallel, and stops all of them together. Used by the
 * integration-test harness and by `streamkeeper local`.
 */
import { KafkaServer } from './kafka-server.js';
import { ZooKeeperServer } from './zookeeper-server.js';

export interface ServerSetOptions {
  /** Start ZooKeeper unless a connect string is already given. */
  readonly zkConnect?: string | undefined;
  /** Start Kafka unless bootstrap servers are already given. */
  readonly kafkaBrokers?: string | undefined;
  readonly detached?: boolean;
}

export class ServerSet {
  private constructor(
    readonly zkConnect: string,
    readonly kafkaBrokers: string,
    readonly zookeeper: ZooKeeperServer | undefined,
    readonly kafka: KafkaServer | undefined,
  ) {}

  static async start(options: ServerSetOptions = {}): Promise<ServerSet> {
    const detached = options.detached ?? false;
    const [zk, kafka] = await Promise.allSettled([
      options.zkConnect === undefined ? ZooKeeperServer.start({ detached }) : Promise.resolve(undefined),
      options.kafkaBrokers === undefined ? KafkaServer.start({ detached }) : Promise.resolve(undefined),
    ]);
    if (zk.status === 'rejected' || kafka.status === 'rejected') {
      await Promise.allSettled([zk.status === 'fulfilled' ? zk.value?.destroy() : undefined, kafka.status === 'fulfilled' ? kafka.value?.destroy() : undefined]);
      const reasons = [zk, kafka].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
      throw new Error(`servers did not start:\n${reasons.join('\n')}`);
    }
    return new ServerSet(options.zkConnect ?? zk.value?.connectString ?? '', options.kafkaBrokers ?? kafka.value?.bootstrapServers ?? '', zk.value, kafka.value);
  }

  /** Stops and removes every server this set started (not the ones it was given). */
  async destroy(): Promise<void> {
    await Promise.allSettled([this.kafka?.destroy(), this.zookeeper?.destroy()]);
  }
}
