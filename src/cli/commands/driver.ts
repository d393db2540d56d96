/** `streamkeeper driver`: the runtime of a job's driver pod. */
import type { Command } from '../command.js';
import { notBuilt } from './not-built.js';

export const driverCommand: Command = {
  name: 'driver',
  summary: "run a job's driver: plan micro-batches and commit offsets",
  usage: '--job NAMESPACE/NAME [--zk-connect HOSTS]',
  flagHelp: [
    ['--job NAMESPACE/NAME', 'the StreamingJob this driver belongs to (env STREAMKEEPER_JOB)'],
    ['--zk-connect HOSTS', 'ZooKeeper connect string (env ZK_CONNECT)'],
  ],
  options: { job: { type: 'string' }, 'zk-connect': { type: 'string' } },
  run() {
    return notBuilt('driver');
  },
};
