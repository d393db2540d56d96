/** `streamkeeper executor`: the runtime of a job's executor pods. */
import type { Command } from '../command.js';
import { notBuilt } from './not-built.js';

export const executorCommand: Command = {
  name: 'executor',
  summary: "run one of a job's executors: process the tasks assigned to it",
  usage: '--job NAMESPACE/NAME [--zk-connect HOSTS]',
  flagHelp: [
    ['--job NAMESPACE/NAME', 'the StreamingJob this executor belongs to (env STREAMKEEPER_JOB)'],
    ['--zk-connect HOSTS', 'ZooKeeper connect string (env ZK_CONNECT)'],
  ],
  options: { job: { type: 'string' }, 'zk-connect': { type: 'string' } },
  run() {
    return notBuilt('executor');
  },
};
