/**
 * What the two runtime subcommands, `driver` and `executor`, share: the flags that locate the job
 * and its ZooKeeper, and the life of a pod process — open the session, serve /metrics and the
 * probes, run until the signal, then close both. Each command keeps only its own role.
 */
import type { Registry } from 'prom-client';
import type { CoordinationObserver } from '../../coordination/observer.js';
import type { ZooKeeperSession } from '../../coordination/session.js';
import type { HealthCheck } from '../../machinery/metrics-server.js';
import { enableProcessMetrics } from '../../metrics/index.js';
import { readPodEnvironment, runtimeEnv, type PodEnvironment } from '../../runtime/pod-environment.js';
import { defaultMetricsAddr, exitWhenDone, openPodSession, startMetricsServer } from '../../runtime/pod-process.js';
import type { CommandContext, OptionSpec, ParsedArgs } from '../command.js';

export type PodRole = 'driver' | 'executor';

export const podFlags: OptionSpec = { job: { type: 'string' }, 'zk-connect': { type: 'string' }, 'zk-root': { type: 'string' }, 'metrics-addr': { type: 'string' } };

export const podUsage = '--job NAMESPACE/NAME [--zk-connect HOSTS] [--zk-root PATH] [--metrics-addr ADDR]';

export function podFlagHelp(role: PodRole): (readonly [string, string])[] {
  return [
    ['--job NAMESPACE/NAME', `the StreamingJob this ${role} belongs to (env ${runtimeEnv.job})`],
    ['--zk-connect HOSTS', `ZooKeeper connect string, host:port[,...][/chroot] (env ${runtimeEnv.zkConnect})`],
    ['--zk-root PATH', `root znode of streamkeeper's data (env ${runtimeEnv.zkRoot}; default /streamkeeper)`],
    ['--metrics-addr [HOST]:PORT', `serve /metrics, /healthz and /readyz here (env ${runtimeEnv.metricsAddr}; default ${defaultMetricsAddr})`],
  ];
}

/** A flag given as a non-empty string, else undefined (so the environment variable applies). */
export function stringFlag(args: ParsedArgs, flag: string): string | undefined {
  const value = args.values[flag];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The pod's environment, with the flags taking precedence over the variables they name. */
export function podEnvironment(args: ParsedArgs, ctx: CommandContext): PodEnvironment {
  return readPodEnvironment(ctx.io.env, {
    job: stringFlag(args, 'job'),
    zkConnect: stringFlag(args, 'zk-connect'),
    zkRoot: stringFlag(args, 'zk-root'),
    metricsAddr: stringFlag(args, 'metrics-addr'),
  });
}

/** One role's process: what it runs and when it is ready, given its ZooKeeper session. */
export interface PodRuntime {
  run(signal: AbortSignal): Promise<number>;
  readonly readinessChecks: Readonly<Record<string, HealthCheck>>;
}

export interface PodProcess {
  readonly role: PodRole;
  readonly registry: Registry;
  readonly coordinationMetrics: CoordinationObserver;
  readonly start: (session: ZooKeeperSession) => PodRuntime;
}

export function runPodProcess(env: PodEnvironment, ctx: CommandContext, pod: PodProcess): Promise<number> {
  enableProcessMetrics(pod.registry);
  // Ends the process when done: whatever a library left open must not keep the pod alive.
  return exitWhenDone(async () => {
    const session = await openPodSession(env, ctx.logger, pod.coordinationMetrics);
    const runtime = pod.start(session);
    const metrics = await startMetricsServer(env.metricsAddr ?? defaultMetricsAddr, pod.registry, ctx.logger, { 'zookeeper-connected': () => session.state === 'connected', ...runtime.readinessChecks });
    try {
      return await runtime.run(ctx.signal);
    } finally {
      await metrics.stop();
      await session.close();
    }
  }, { command: pod.role, logger: ctx.logger, stderr: ctx.io.stderr });
}
