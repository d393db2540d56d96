/**
 * `streamkeeper local up|down|status|logs POD`: the local development cluster. Its modules load
 * only when it runs (see commands/index.ts).
 */
import { usageError } from '../../errors/index.js';
import { localPaths } from '../../local/local-state.js';
import type { Command } from '../command.js';

const actions = ['up', 'down', 'status', 'logs'] as const;

/** The background process `up` starts; not for direct use. */
const superviseAction = '_supervise';

export const localCommand: Command = {
  name: 'local',
  summary: 'manage the local cluster (ZooKeeper, Kafka, kube-apiserver, node agent, operator)',
  usage: '<up|down|status|logs POD> [--dir DIR] [--no-operator] [--no-node-agent] [-n NAMESPACE] [-c CONTAINER]',
  flagHelp: [
    ['--dir DIR', 'where the cluster keeps its files (default .streamkeeper/local under the current directory)'],
    ['--no-operator', 'with up: do not start the operator'],
    ['--no-node-agent', 'with up: do not start the node agent (pods then stay Pending)'],
    ['--json', 'with status: print JSON'],
    ['-n, --namespace NS', 'with logs: the pod\'s namespace (default "default")'],
    ['-c, --container NAME', 'with logs: the container, when the pod has several'],
  ],
  options: {
    dir: { type: 'string' },
    'no-operator': { type: 'boolean' },
    'no-node-agent': { type: 'boolean' },
    json: { type: 'boolean' },
    namespace: { type: 'string', short: 'n' },
    container: { type: 'string', short: 'c' },
  },
  allowPositionals: true,
  async run(args, ctx) {
    const [action, ...rest] = args.positionals;
    const dir = typeof args.values.dir === 'string' ? args.values.dir : undefined;
    const paths = localPaths(ctx.io.cwd, dir);
    const out = (line: string): void => {
      ctx.io.stdout.write(`${line}\n`);
    };
    const operator = args.values['no-operator'] !== true;
    const nodeAgent = args.values['no-node-agent'] !== true;
    const noExtra = (): void => {
      if (rest.length > 0) throw usageError(`\`local ${action ?? ''}\` takes no arguments (got ${rest.join(' ')})`);
    };
    const { localDown, localLogs, localStatus, localUp } = await import('../../local/local-cluster.js');
    switch (action) {
      case 'up':
        noExtra();
        return localUp({ paths, operator, nodeAgent, out, signal: ctx.signal });
      case 'down':
        noExtra();
        return localDown(paths, out);
      case 'status':
        noExtra();
        return localStatus(paths, out, args.values.json === true);
      case 'logs': {
        const [pod, ...more] = rest;
        if (pod === undefined || more.length > 0) throw usageError('`local logs` takes one pod name: streamkeeper local logs POD [-n NAMESPACE] [-c CONTAINER]');
        const namespace = typeof args.values.namespace === 'string' ? args.values.namespace : 'default';
        const container = typeof args.values.container === 'string' ? args.values.container : undefined;
        ctx.io.stdout.write(localLogs(paths, namespace, pod, container));
        return 0;
      }
      case superviseAction:
        noExtra();
        return (await import('../../local/local-supervisor.js')).runLocalSupervisor({ paths, operator, nodeAgent, signal: ctx.signal, logger: ctx.logger });
      default:
        throw usageError(`expected one of ${actions.join(', ')}${action === undefined ? '' : ` (got "${action}")`}`);
    }
  },
};
