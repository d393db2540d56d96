/**
 * `streamkeeper uninstall`: what the chart's pre-delete hook runs before helm deletes anything —
 * stops the operator for good while it still has its rights, so it releases its jobs from the
 * cleanup finalizer and deletes its Lease (see operator/uninstall-release.ts).
 */
import type { Command } from '../command.js';

export const uninstallCommand: Command = {
  name: 'uninstall',
  summary: "stop the operator for an uninstall: delete its Deployment and wait for its pods (helm's pre-delete hook)",
  usage: '--deployment NAME [--namespace NS] [--timeout 120s] [--kubeconfig PATH]',
  flagHelp: [
    ['--deployment NAME', "the operator's Deployment"],
    ['--namespace NS', 'its namespace (default: $POD_NAMESPACE)'],
    ['--timeout DURATION', 'how long its pods may take to stop (default 120s)'],
    ['--kubeconfig PATH', 'kubeconfig file (default: in-cluster, then $KUBECONFIG)'],
  ],
  options: { deployment: { type: 'string' }, namespace: { type: 'string' }, timeout: { type: 'string' }, kubeconfig: { type: 'string' } },
  async run(args, ctx) {
    const [{ usageError }, { resolveKubeConfig }, { ClientNodeKubeClient }, { parseDuration }, { stopOperatorForUninstall }, { sleep, systemClock }] = await Promise.all([
      import('../../errors/index.js'),
      import('../../kube/config.js'),
      import('../../kube/adapter.js'),
      import('../../operator/options.js'),
      import('../../operator/uninstall-release.js'),
      import('../../machinery/clock.js'),
    ]);
    const flag = (name: string): string | undefined => {
      const value = args.values[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const deployment = flag('deployment');
    if (deployment === undefined) throw usageError('--deployment is required');
    const namespace = flag('namespace') ?? ctx.io.env.POD_NAMESPACE;
    if (namespace === undefined || namespace === '') throw usageError('--namespace is required when POD_NAMESPACE is not set');
    const timeoutMs = parseDuration(flag('timeout') ?? '120s', '--timeout');
    const kube = new ClientNodeKubeClient(resolveKubeConfig(flag('kubeconfig'), ctx.io.env));
    const gone = await stopOperatorForUninstall({ kube, namespace, deployment, timeoutMs, sleep: (ms) => sleep(systemClock, ms, ctx.signal), now: () => systemClock.now(), logger: ctx.logger });
    if (gone) return 0;
    ctx.logger.error({ deployment, namespace, timeoutMs }, 'the operator Deployment is still there after the timeout: its jobs may keep the cleanup finalizer (docs/install.md says how to release them); `helm uninstall --no-hooks` skips this step');
    return 1;
  },
};
