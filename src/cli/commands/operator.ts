/** `streamkeeper operator`: the StreamingJob controller. */
import type { Command } from '../command.js';
import { notBuilt } from './not-built.js';

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'run the StreamingJob controller (one active replica via a Lease)',
  usage: '[--namespaces NS[,NS...]] [--metrics-addr ADDR] [--kubeconfig FILE] [--zk-connect HOSTS]',
  flagHelp: [
    ['--namespaces NS,...', 'watch only these namespaces (default: all)'],
    ['--metrics-addr ADDR', 'serve /metrics, /healthz and /readyz here (default :8080)'],
    ['--kubeconfig FILE', 'kubeconfig to use (default: in-cluster, then $KUBECONFIG)'],
    ['--zk-connect HOSTS', 'ZooKeeper connect string (env ZK_CONNECT)'],
  ],
  options: {
    namespaces: { type: 'string' },
    'metrics-addr': { type: 'string' },
    kubeconfig: { type: 'string' },
    'zk-connect': { type: 'string' },
  },
  run() {
    return notBuilt('operator');
  },
};
