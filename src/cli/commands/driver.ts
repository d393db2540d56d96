/** `streamkeeper driver`: the runtime of a job's driver pod. */
import { CoordinationLayout } from '../../coordination/layout.js';
import { driverCoordinationMetrics, driverMetrics, driverRegistry, enableProcessMetrics } from '../../metrics/index.js';
import { Driver } from '../../runtime/driver.js';
import { readPodEnvironment, runtimeEnv } from '../../runtime/pod-environment.js';
import { defaultMetricsAddr, exitWhenDone, openPodSession, podKafkaClients, startMetricsServer } from '../../runtime/pod-process.js';
import type { Command, OptionSpec, ParsedArgs } from '../command.js';

const flags: OptionSpec = { job: { type: 'string' }, 'zk-connect': { type: 'string' }, 'zk-root': { type: 'string' }, 'metrics-addr': { type: 'string' } };

function stringFlag(args: ParsedArgs, flag: string): string | undefined {
  const value = args.values[flag];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export const driverCommand: Command = {
  name: 'driver',
  summary: "run a job's driver: plan micro-batches and commit offsets",
  usage: '--job NAMESPACE/NAME [--zk-connect HOSTS] [--zk-root PATH] [--metrics-addr ADDR]',
  flagHelp: [
    ['--job NAMESPACE/NAME', `the StreamingJob this driver belongs to (env ${runtimeEnv.job})`],
    ['--zk-connect HOSTS', `ZooKeeper connect string, host:port[,...][/chroot] (env ${runtimeEnv.zkConnect})`],
    ['--zk-root PATH', `root znode of streamkeeper's data (env ${runtimeEnv.zkRoot}; default /streamkeeper)`],
    ['--metrics-addr [HOST]:PORT', `serve /metrics, /healthz and /readyz here (env ${runtimeEnv.metricsAddr}; default ${defaultMetricsAddr})`],
  ],
  options: flags,
  async run(args, ctx) {
    const env = readPodEnvironment(ctx.io.env, {
      job: stringFlag(args, 'job'),
      zkConnect: stringFlag(args, 'zk-connect'),
      zkRoot: stringFlag(args, 'zk-root'),
      metricsAddr: stringFlag(args, 'metrics-addr'),
    });
    enableProcessMetrics(driverRegistry);
    // Ends the process when done: whatever a library left open must not keep the pod alive.
    return exitWhenDone(async () => {
      const session = await openPodSession(env, ctx.logger, driverCoordinationMetrics);
      const driver = new Driver({ session, layout: new CoordinationLayout(env.zkRoot), job: env.job, pod: env.pod, kafka: podKafkaClients(env, env.job, 'driver', ctx.logger), observer: driverMetrics, logger: ctx.logger });
      const metrics = await startMetricsServer(env.metricsAddr ?? defaultMetricsAddr, driverRegistry, ctx.logger, { 'zookeeper-connected': () => session.state === 'connected', 'driving-or-standing-by': () => driver.isReady });
      try {
        return await driver.run(ctx.signal);
      } finally {
        await metrics.stop();
        await session.close();
      }
    }, { command: 'driver', logger: ctx.logger, stderr: ctx.io.stderr });
  },
};
