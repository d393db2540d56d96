/**
 * Starts the servers a streamkeeper environment needs — ZooKeeper, Kafka and the Kubernetes
 * control plane — in parallel, and stops all of them together. Used by the integration-test
 * harness and by `streamkeeper local`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { KafkaServer } from './kafka-server.js';
import { ZooKeeperEnsemble } from './zookeeper-ensemble.js';
import { ZooKeeperServer } from './zookeeper-server.js';

export type ServerName = 'zookeeper' | 'kafka' | 'control-plane';

/** A server that has become ready, for progress reports. */
export type ServerReady = { readonly server: 'zookeeper'; readonly instance: ZooKeeperServer } | { readonly server: 'kafka'; readonly instance: KafkaServer } | { readonly server: 'control-plane'; readonly instance: ControlPlane };

export interface ServerSetOptions {
  /** Start ZooKeeper unless a connect string is already given. */
  readonly zkConnect?: string | undefined;
  /** ZooKeeper servers to start (default 1: standalone; more: a replicated ensemble, `ensemble`). */
  readonly zookeeperServers?: number;
  /** Start Kafka unless bootstrap servers are already given. */
  readonly kafkaBrokers?: string | undefined;
  /** Give the Kafka started here a SASL_SSL listener too (see KafkaServerOptions.secureListener). */
  readonly kafkaSecureListener?: boolean;
  /** Start a control plane with these options; omitted, none is started. */
  readonly controlPlane?: Omit<ControlPlaneOptions, 'baseDir' | 'detached'> | undefined;
  /** Each server gets a subdirectory here (kept by destroy); default: temporary directories. */
  readonly baseDir?: string;
  readonly detached?: boolean;
  /** Called as each server becomes ready, for progress reports. */
  readonly onReady?: (ready: ServerReady) => void;
}

export class ServerSet {
  private constructor(
    readonly zkConnect: string,
    readonly kafkaBrokers: string,
    readonly zookeeper: ZooKeeperServer | undefined,
    readonly kafka: KafkaServer | undefined,
    readonly controlPlane: ControlPlane | undefined,
    readonly ensemble: ZooKeeperEnsemble | undefined,
  ) {}

  static async start(options: ServerSetOptions = {}): Promise<ServerSet> {
    const detached = options.detached ?? false;
    const dirFor = (name: ServerName): { baseDir?: string } => {
      if (options.baseDir === undefined) return {};
      const baseDir = join(options.baseDir, name);
      mkdirSync(baseDir, { recursive: true });
      return { baseDir };
    };
    const ensembleSize = options.zkConnect === undefined && (options.zookeeperServers ?? 1) > 1 ? options.zookeeperServers : undefined;
    const [zk, kafka, controlPlane, ensemble] = await Promise.allSettled([
      options.zkConnect === undefined && ensembleSize === undefined
        ? ZooKeeperServer.start({ detached, ...dirFor('zookeeper') }).then((instance) => {
            options.onReady?.({ server: 'zookeeper', instance });
            return instance;
          })
        : Promise.resolve(undefined),
      options.kafkaBrokers === undefined
        ? KafkaServer.start({ detached, secureListener: options.kafkaSecureListener ?? false, ...dirFor('kafka') }).then((instance) => {
            options.onReady?.({ server: 'kafka', instance });
            return instance;
          })
        : Promise.resolve(undefined),
      options.controlPlane === undefined
        ? Promise.resolve(undefined)
        : ControlPlane.start({ ...options.controlPlane, detached, ...dirFor('control-plane') }).then((instance) => {
            options.onReady?.({ server: 'control-plane', instance });
            return instance;
          }),
      ensembleSize === undefined ? Promise.resolve(undefined) : ZooKeeperEnsemble.start({ size: ensembleSize, detached, ...dirFor('zookeeper') }),
    ]);
    if (zk.status === 'rejected' || kafka.status === 'rejected' || controlPlane.status === 'rejected' || ensemble.status === 'rejected') {
      await Promise.allSettled([
        ensemble.status === 'fulfilled' ? ensemble.value?.destroy() : undefined,
        zk.status === 'fulfilled' ? zk.value?.destroy() : undefined,
        kafka.status === 'fulfilled' ? kafka.value?.destroy() : undefined,
        controlPlane.status === 'fulfilled' ? controlPlane.value?.destroy() : undefined,
      ]);
      const reasons = [zk, kafka, controlPlane, ensemble].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason));
      throw new Error(`servers did not start:\n${reasons.join('\n')}`);
    }
    return new ServerSet(options.zkConnect ?? zk.value?.connectString ?? ensemble.value?.connectString ?? '', options.kafkaBrokers ?? kafka.value?.bootstrapServers ?? '', zk.value, kafka.value, controlPlane.value, ensemble.value);
  }

  /** Stops and removes every server this set started (not the ones it was given). */
  async destroy(): Promise<void> {
    await Promise.allSettled([this.controlPlane?.destroy(), this.kafka?.destroy(), this.zookeeper?.destroy(), this.ensemble?.destroy()]);
  }
}
