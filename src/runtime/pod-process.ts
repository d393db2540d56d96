/**
 * What the driver and executor commands share: a ZooKeeper session authenticated as the job,
 * Kafka clients built from the mirrored brokers plus the pod's TLS and SASL settings, the
 * /metrics endpoint, and ending the process once the work is done.
 */
import type { JobRef } from '../coordination/layout.js';
import type { CoordinationObserver } from '../coordination/observer.js';
import { ZooKeeperSession } from '../coordination/session.js';
import { digestAuth } from '../coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../coordination/zookeeper/native-client.js';
import { classify } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import type { Registry } from 'prom-client';
import { MetricsServer, type HealthCheck } from '../machinery/metrics-server.js';
import type { KafkaClientFactory } from './executor.js';
import { createKafkaClient } from './kafka/index.js';
import { clientId } from './kafka-names.js';
import type { PodEnvironment } from './pod-environment.js';

/** Where the driver and executors serve /metrics unless told otherwise. */
export const defaultMetricsAddr = ':9090';

/** Opens the pod's ZooKeeper session; `observer` is the pod's own session metrics. */
export function openPodSession(env: PodEnvironment, logger: Logger, observer: CoordinationObserver, sessionTimeoutMs?: number): Promise<ZooKeeperSession> {
  return ZooKeeperSession.open({
    connector: (options) => NativeZooKeeperClient.connect(options, logger),
    connectString: env.zkConnect,
    auth: env.credential === undefined ? [] : [digestAuth(env.credential)],
    observer,
    logger,
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
  });
}

export function podKafkaClients(env: PodEnvironment, job: JobRef, role: 'driver' | 'executor', logger: Logger): KafkaClientFactory {
  return (side, brokers) => {
    const access = side === 'source' ? env.source : env.sink;
    return createKafkaClient(env.kafkaClient, { brokers, clientId: clientId(job, role, env.pod), ...access }, { logger: logger.child({ side }) });
  };
}

/**
 * Serves /metrics, /healthz and /readyz. When the address is taken — pods run as plain processes
 * on one machine in the local cluster — a free port is used instead, and logged.
 */
export async function startMetricsServer(address: string, registry: Registry, logger: Logger, readinessChecks: Readonly<Record<string, HealthCheck>>): Promise<MetricsServer> {
  const server = new MetricsServer({ address, registry, logger, readinessChecks });
  try {
    await server.start();
    return server;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EADDRINUSE') throw err;
    const fallback = new MetricsServer({ address: ':0', registry, logger, readinessChecks });
    const bound = await fallback.start();
    logger.warn({ wanted: address, port: bound.port }, 'the metrics address is in use; serving on a free port instead');
    return fallback;
  }
}

/** Ends the process; `process.exit` unless a test passes something else. */
export type ProcessExit = (code: number) => void;

const exitProcess: ProcessExit = (code) => process.exit(code);

/** Resolves once everything logged so far has reached `destination`. */
async function flushLogs(logger: Logger, destination: NodeJS.WritableStream): Promise<void> {
  await new Promise<void>((resolve) => {
    logger.flush(() => {
      resolve();
    });
  });
  // Writes complete in order: once this empty one has, every earlier line has too.
  await new Promise<void>((resolve) => {
    if (!destination.writable) resolve();
    else destination.write('', () => {
      resolve();
    });
  });
}

/**
 * Runs a pod's work and then ends the process with its exit code (1 when it throws), its logs
 * flushed first. A pod does not wait for the event loop to drain: a library that leaves a handle
 * open — kafkajs has left sockets — would keep a drained pod alive until it is killed at the end
 * of the termination grace period.
 */
export async function exitWhenDone(work: () => Promise<number>, output: { readonly command: string; readonly logger: Logger; readonly stderr: NodeJS.WritableStream }, exit: ProcessExit = exitProcess): Promise<number> {
  let code: number;
  try {
    code = await work();
  } catch (err) {
    output.stderr.write(`streamkeeper ${output.command}: ${classify(err).message}\n`);
    code = 1;
  }
  await flushLogs(output.logger, output.stderr);
  exit(code);
  return code;
}
