/** `streamkeeper executor`: the runtime of a job's executor pods. */
import { CoordinationLayout } from '../../coordination/layout.js';
import { usageError } from '../../errors/index.js';
import { enableProcessMetrics, executorCoordinationMetrics, executorMetrics, executorRegistry } from '../../metrics/index.js';
import { Executor } from '../../runtime/executor.js';
import { readPodEnvironment, runtimeEnv } from '../../runtime/pod-environment.js';
import { defaultMetricsAddr, exitWhenDone, openPodSession, podKafkaClients, startMetricsServer } from '../../runtime/pod-process.js';
import type { Command, OptionSpec, ParsedArgs } from '../command.js';

const flags: OptionSpec = { job: { type: 'string' }, 'zk-connect': { type: 'string' }, 'zk-root': { type: 'string' }, 'metrics-addr': { type: 'string' }, 'max-concurrent-tasks': { type: 'string' } };

function stringFlag(args: ParsedArgs, flag: string): string | undefined {
  const value = args.values[flag];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export const executorCommand: Command = {
  name: 'executor',
  summary: "run one of a job's executors: process the tasks assigned to it",
  usage: '--job NAMESPACE/NAME [--zk-connect HOSTS] [--zk-root PATH] [--metrics-addr ADDR] [--max-concurrent-tasks N]',
  flagHelp: [
    ['--job NAMESPACE/NAME', `the StreamingJob this executor belongs to (env ${runtimeEnv.job})`],
    ['--zk-connect HOSTS', `ZooKeeper connect string, host:port[,...][/chroot] (env ${runtimeEnv.zkConnect})`],
    ['--zk-root PATH', `root znode of streamkeeper's data (env ${runtimeEnv.zkRoot}; default /streamkeeper)`],
    ['--metrics-addr [HOST]:PORT', `serve /metrics, /healthz and /readyz here (env ${runtimeEnv.metricsAddr}; default ${defaultMetricsAddr})`],
    ['--max-concurrent-tasks N', 'tasks run at once (default 4)'],
  ],
  options: flags,
  async run(args, ctx) {
    const env = readPodEnvironment(ctx.io.env, {
      job: stringFlag(args, 'job'),
      zkConnect: stringFlag(args, 'zk-connect'),
      zkRoot: stringFlag(args, 'zk-root'),
      metricsAddr: stringFlag(args, 'metrics-addr'),
    });
    const concurrencyText = stringFlag(args, 'max-concurrent-tasks');
    const maxConcurrentTasks = concurrencyText === undefined ? 4 : Number(concurrencyText);
    if (!Number.isInteger(maxConcurrentTasks) || maxConcurrentTasks < 1 || maxConcurrentTasks > 64) throw usageError(`--max-concurrent-tasks must be an integer from 1 to 64 (got "${concurrencyText ?? ''}")`);
    enableProcessMetrics(executorRegistry);
    // Ends the process when done: whatever a library left open must not keep the pod alive.
    return exitWhenDone(async () => {
      const session = await openPodSession(env, ctx.logger, executorCoordinationMetrics);
      const executor = new Executor({ session, layout: new CoordinationLayout(env.zkRoot), job: env.job, pod: env.pod, kafka: podKafkaClients(env, env.job, 'executor', ctx.logger), observer: executorMetrics, logger: ctx.logger, maxConcurrentTasks });
      const metrics = await startMetricsServer(env.metricsAddr ?? defaultMetricsAddr, executorRegistry, ctx.logger, { 'zookeeper-connected': () => session.state === 'connected', registered: () => executor.isRegistered });
      try {
        return await executor.run(ctx.signal);
      } finally {
        await metrics.stop();
        await session.close();
      }
    }, { command: 'executor', logger: ctx.logger, stderr: ctx.io.stderr });
  },
};
