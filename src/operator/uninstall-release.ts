/**
 * What a stopping operator does when it is being uninstalled rather than restarted: its own
 * Deployment is gone (helm uninstall, `kubectl delete -f install.yaml`). No operator will come
 * back to remove the `streamkeeper.io/cleanup` finalizer, so it removes it from every job it
 * watches — `kubectl delete sj` then works, and the garbage collector removes the job's pods,
 * Service and Secret through their owner references — and deletes its Lease. The jobs' ZooKeeper
 * data stays (docs/install.md says where); a restart or an upgrade keeps the Deployment, and
 * releases nothing.
 */
import { finalizer } from '../api/v1alpha1/index.js';
import { ignoreNotFound, type KubeClient } from '../kube/client.js';
import type { Logger } from '../logging/logger.js';

export interface UninstallReleaseOptions {
  readonly kube: KubeClient;
  /** The operator's namespace: its Deployment and its Lease live there. */
  readonly namespace: string;
  readonly deployment: string;
  readonly lease: string | undefined;
  /** Watched namespaces; empty for all. */
  readonly namespaces: readonly string[];
  readonly logger: Logger;
}

export type UninstallVerdict = 'restart' | 'uninstall' | 'unknown';

/** Whether the operator's Deployment says this stop is an uninstall. */
export async function uninstallVerdict(kube: KubeClient, namespace: string, deployment: string): Promise<UninstallVerdict> {
  try {
    const found = await ignoreNotFound(kube.get('Deployment', { namespace, name: deployment }));
    return found === undefined || found.metadata.deletionTimestamp !== undefined ? 'uninstall' : 'restart';
  } catch {
    return 'unknown';
  }
}

/** Releases every watched job and deletes the Lease when the operator is being uninstalled. */
export async function releaseIfUninstalled(options: UninstallReleaseOptions): Promise<{ verdict: UninstallVerdict; released: number }> {
  const verdict = await uninstallVerdict(options.kube, options.namespace, options.deployment);
  if (verdict !== 'uninstall') {
    if (verdict === 'unknown') options.logger.warn({ deployment: options.deployment }, 'cannot read the operator Deployment; stopping without releasing jobs');
    return { verdict, released: 0 };
  }
  const scopes = options.namespaces.length === 0 ? [undefined] : options.namespaces;
  let released = 0;
  for (const namespace of scopes) {
    const jobs = await options.kube.list('StreamingJob', namespace === undefined ? {} : { namespace });
    for (const job of jobs.items) {
      const finalizers = job.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) continue;
      const ref = { namespace: job.metadata.namespace ?? '', name: job.metadata.name };
      try {
        // A merge patch replaces the whole list: the precondition keeps another writer's change.
        const patched = await ignoreNotFound(options.kube.patch('StreamingJob', ref, { metadata: { finalizers: finalizers.filter((f) => f !== finalizer) } }, { resourceVersion: job.metadata.resourceVersion }));
        if (patched !== undefined) released += 1;
      } catch (err) {
        options.logger.warn({ job: `${ref.namespace}/${ref.name}`, err: err instanceof Error ? err.message : String(err) }, 'could not release the job from the cleanup finalizer');
      }
    }
  }
  if (options.lease !== undefined) await ignoreNotFound(options.kube.delete('Lease', { namespace: options.namespace, name: options.lease }));
  options.logger.info({ released }, 'the operator Deployment is gone: uninstalling — jobs released from the cleanup finalizer, Lease deleted; their ZooKeeper data stays');
  return { verdict, released };
}

export interface StopForUninstallOptions {
  readonly kube: KubeClient;
  readonly namespace: string;
  readonly deployment: string;
  /** How long the operator's pods may take to stop (they release the jobs as they go). */
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  readonly logger: Logger;
}

/**
 * What helm's pre-delete hook runs (`streamkeeper uninstall`): deletes the operator's Deployment
 * in the foreground and waits until it is gone — that is, until its pods have stopped. Helm
 * deletes the operator's RBAC in the same breath as its Deployment, so an operator stopped by
 * helm itself would be refused the job updates of `releaseIfUninstalled`; stopped here, first,
 * it still has them. Resolves with whether the Deployment is gone within the timeout.
 */
export async function stopOperatorForUninstall(options: StopForUninstallOptions): Promise<boolean> {
  const ref = { namespace: options.namespace, name: options.deployment };
  await ignoreNotFound(options.kube.delete('Deployment', ref, { propagationPolicy: 'Foreground' }));
  options.logger.info({ deployment: options.deployment, namespace: options.namespace }, 'deleting the operator Deployment; its pods release their jobs as they stop');
  const deadline = options.now() + options.timeoutMs;
  for (;;) {
    if ((await ignoreNotFound(options.kube.get('Deployment', ref))) === undefined) {
      options.logger.info({ deployment: options.deployment }, 'the operator Deployment and its pods are gone');
      return true;
    }
    if (options.now() >= deadline) return false;
    await options.sleep(options.pollMs ?? 500);
  }
}
