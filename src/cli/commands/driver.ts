/** `streamkeeper driver`: the runtime of a job's driver pod. */
import { CoordinationLayout } from '../../coordination/layout.js';
import { driverCoordinationMetrics, driverMetrics, driverRegistry } from '../../metrics/index.js';
import { Driver } from '../../runtime/driver.js';
import { podKafkaClients } from '../../runtime/pod-process.js';
import type { Command } from '../command.js';
import { podEnvironment, podFlagHelp, podFlags, podUsage, runPodProcess } from './pod-command.js';

export const driverCommand: Command = {
  name: 'driver',
  summary: "run a job's driver: plan micro-batches and commit offsets",
  usage: podUsage,
  flagHelp: podFlagHelp('driver'),
  options: podFlags,
  async run(args, ctx) {
    const env = podEnvironment(args, ctx);
    return runPodProcess(env, ctx, {
      role: 'driver',
      registry: driverRegistry,
      coordinationMetrics: driverCoordinationMetrics,
      start: (session) => {
        const driver = new Driver({ session, layout: new CoordinationLayout(env.zkRoot), job: env.job, pod: env.pod, kafka: podKafkaClients(env, env.job, 'driver', ctx.logger), observer: driverMetrics, logger: ctx.logger });
        return { run: (signal) => driver.run(signal), readinessChecks: { 'driving-or-standing-by': () => driver.isReady } };
      },
    });
  },
};
