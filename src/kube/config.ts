/**
 * Where the Kubernetes client configuration comes from: an explicit kubeconfig file (the
 * `--kubeconfig` flag), else the pod's service account when running in a cluster, else
 * $KUBECONFIG or ~/.kube/config. The choice is a plain function so it is tested without files.
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { StreamkeeperError } from '../errors/index.js';

export type KubeConfigSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'in-cluster' }
  | { readonly kind: 'default' };

export const serviceAccountTokenPath = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigInputs {
  readonly explicitPath: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** Whether the service account token is mounted (it is in a pod unless opted out). */
  readonly serviceAccountTokenExists: boolean;
}

export function chooseKubeConfigSource(inputs: KubeConfigInputs): KubeConfigSource {
  if (inputs.explicitPath !== undefined && inputs.explicitPath !== '') return { kind: 'file', path: inputs.explicitPath };
  const host = inputs.env.KUBERNETES_SERVICE_HOST;
  const port = inputs.env.KUBERNETES_SERVICE_PORT;
  if (host !== undefined && host !== '' && port !== undefined && port !== '' && inputs.serviceAccountTokenExists) {
    return { kind: 'in-cluster' };
  }
  return { kind: 'default' };
}

function describe(source: KubeConfigSource): string {
  switch (source.kind) {
    case 'file':
      return `kubeconfig ${source.path}`;
    case 'in-cluster':
      return 'the in-cluster service account';
    case 'default':
      return '$KUBECONFIG or ~/.kube/config';
  }
}

/** Loads the configuration from `source`; fails with SK_KUBE_CONFIG when it has no cluster. */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const config = new KubeConfig();
  try {
    switch (source.kind) {
      case 'file':
        if (!existsSync(source.path)) throw new Error('file not found');
        config.loadFromFile(source.path);
        break;
      case 'in-cluster':
        config.loadFromCluster();
        break;
      case 'default':
        config.loadFromDefault();
        break;
    }
  } catch (err) {
    throw new StreamkeeperError('SK_KUBE_CONFIG', `cannot load ${describe(source)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const cluster = config.getCurrentCluster();
  if (cluster === null) {
    throw new StreamkeeperError('SK_KUBE_CONFIG', `${describe(source)} names no current cluster`);
  }
  // client-node's last resort when it finds nothing: an unauthenticated localhost:8080.
  if (source.kind === 'default' && cluster.server === 'http://localhost:8080' && config.currentContext === 'loaded-context') {
    throw new StreamkeeperError('SK_KUBE_CONFIG', 'no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
  }
  return config;
}

/** `loadKubeConfig(chooseKubeConfigSource(...))` with the process environment. */
export function resolveKubeConfig(explicitPath: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  return loadKubeConfig(chooseKubeConfigSource({ explicitPath, env, serviceAccountTokenExists: existsSync(serviceAccountTokenPath) }));
}
