/** `streamkeeper local up|down|status|logs POD`: the local development cluster. */
import { usageError } from '../../errors/index.js';
import type { Command } from '../command.js';
import { notBuilt } from './not-built.js';

const actions = ['up', 'down', 'status', 'logs'] as const;

export const localCommand: Command = {
  name: 'local',
  summary: 'manage the local cluster (ZooKeeper, Kafka, kube-apiserver, node agent, operator)',
  usage: '<up|down|status|logs POD> [--no-operator] [--no-node-agent]',
  flagHelp: [
    ['--no-operator', 'with up: do not start the operator'],
    ['--no-node-agent', 'with up: do not start the node agent'],
  ],
  options: { 'no-operator': { type: 'boolean' }, 'no-node-agent': { type: 'boolean' } },
  allowPositionals: true,
  run(args) {
    const [action] = args.positionals;
    if (action === undefined || !(actions as readonly string[]).includes(action)) {
      throw usageError(`expected one of ${actions.join(', ')}${action === undefined ? '' : ` (got "${action}")`}`);
    }
    return notBuilt(`local ${action}`);
  },
};
