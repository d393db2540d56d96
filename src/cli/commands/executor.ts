/** `streamkeeper executor`: the runtime of a job's executor pods. */
import { CoordinationLayout } from '../../coordination/layout.js';
import { usageError } from '../../errors/index.js';
import { executorCoordinationMetrics, executorMetrics, executorRegistry } from '../../metrics/index.js';
import { Executor } from '../../runtime/executor.js';
import { podKafkaClients } from '../../runtime/pod-process.js';
import type { Command } from '../command.js';
import { podEnvironment, podFlagHelp, podFlags, podUsage, runPodProcess, stringFlag } from './pod-command.js';

export const executorCommand: Command = {
  name: 'executor',
  summary: "run one of a job's executors: process the tasks assigned to it",
  usage: `${podUsage} [--max-concurrent-tasks N]`,
  flagHelp: [...podFlagHelp('executor'), ['--max-concurrent-tasks N', 'tasks run at once (default 4)']],
  options: { ...podFlags, 'max-concurrent-tasks': { type: 'string' } },
  async run(args, ctx) {
    const env = podEnvironment(args, ctx);
    const concurrencyText = stringFlag(args, 'max-concurrent-tasks');
    const maxConcurrentTasks = concurrencyText === undefined ? 4 : Number(concurrencyText);
    if (!Number.isInteger(maxConcurrentTasks) || maxConcurrentTasks < 1 || maxConcurrentTasks > 64) throw usageError(`--max-concurrent-tasks must be an integer from 1 to 64 (got "${concurrencyText ?? ''}")`);
    return runPodProcess(env, ctx, {
      role: 'executor',
      registry: executorRegistry,
      coordinationMetrics: executorCoordinationMetrics,
      start: (session) => {
        const executor = new Executor({ session, layout: new CoordinationLayout(env.zkRoot), job: env.job, pod: env.pod, kafka: podKafkaClients(env, env.job, 'executor', ctx.logger), observer: executorMetrics, logger: ctx.logger, maxConcurrentTasks });
        return { run: (signal) => executor.run(signal), readinessChecks: { registered: () => executor.isRegistered } };
      },
    });
  },
};
