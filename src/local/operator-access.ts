/**
 * Gives the locally run operator exactly the identity and permissions an installed one gets:
 * the Namespace, ServiceAccounts and RBAC objects are taken from manifests/install.yaml (the one
 * source users apply), and a kubeconfig carries a TokenRequest token for the ServiceAccount the
 * operator Deployment runs as. Tests that use it prove the operator works with what users grant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { StreamkeeperError } from '../errors/index.js';
import { packageRoot } from '../package-info.js';
import type { KubeRest, ManifestObject } from './kube-rest.js';
import { base64File, writeKubeconfig } from './pki.js';

export const installManifest = join(packageRoot, 'manifests', 'install.yaml');

/** The kinds taken from the install manifest: who the operator is and what it may do. */
export const accessKinds: readonly string[] = ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

export interface OperatorAccess {
  /** The objects to apply, in manifest order. */
  readonly objects: readonly ManifestObject[];
  /** The ServiceAccount the operator Deployment runs as. */
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
}

/** Reads the identity and RBAC objects out of an install manifest (pure, given the text). */
export function operatorAccessFromManifest(text: string, source = installManifest): OperatorAccess {
  const documents = parseAllDocuments(text);
  const objects: ManifestObject[] = [];
  let serviceAccount: { namespace: string; name: string } | undefined;
  for (const document of Array.isArray(documents) ? documents : [documents]) {
    if (document.errors.length > 0) throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${source}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
    const object = document.toJS() as ManifestObject | null;
    if (object === null || typeof object !== 'object') continue;
    if (accessKinds.includes(object.kind)) objects.push(object);
    if (object.kind === 'Deployment') {
      const spec = object.spec as { template?: { spec?: { serviceAccountName?: string } } } | undefined;
      const name = spec?.template?.spec?.serviceAccountName;
      if (name !== undefined && object.metadata.namespace !== undefined) serviceAccount = { namespace: object.metadata.namespace, name };
    }
  }
  if (serviceAccount === undefined) throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${source} has no operator Deployment naming a serviceAccountName`);
  const sa = serviceAccount;
  if (!objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === sa.name && o.metadata.namespace === sa.namespace)) {
    throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${source} does not define the ServiceAccount ${sa.namespace}/${sa.name} its Deployment runs as`);
  }
  return { objects, serviceAccount: sa };
}

/**
 * NODE_OPTIONS of the operator container in the install manifest (the chart's
 * `operator.nodeOptions`), so an operator run as a local process runs as installed; '' if none.
 */
export function operatorNodeOptions(text: string = readFileSync(installManifest, 'utf8')): string {
  for (const document of parseAllDocuments(text)) {
    const object = document.toJS() as ManifestObject | null;
    if (object?.kind !== 'Deployment') continue;
    const containers = (object.spec as { template?: { spec?: { containers?: { env?: { name: string; value?: string }[] }[] } } } | undefined)?.template?.spec?.containers ?? [];
    const value = containers.flatMap((c) => c.env ?? []).find((e) => e.name === 'NODE_OPTIONS')?.value;
    if (value !== undefined) return value;
  }
  return '';
}

export interface OperatorKubeconfigOptions {
  /** Where to write the kubeconfig (mode 0600). */
  readonly file: string;
  /** The kubeconfig context's default namespace; default: the operator's own namespace. */
  readonly namespace?: string;
  /** Token lifetime. Default one year: a local cluster may stay up for a long time. */
  readonly tokenSeconds?: number;
  readonly manifest?: string;
}

/**
 * Applies the operator's Namespace, ServiceAccounts and RBAC from the install manifest with the
 * admin client, then writes a kubeconfig for the operator's ServiceAccount. Idempotent.
 */
export async function writeOperatorKubeconfig(admin: KubeRest, options: OperatorKubeconfigOptions): Promise<OperatorAccess> {
  const manifest = options.manifest ?? installManifest;
  const access = operatorAccessFromManifest(readFileSync(manifest, 'utf8'), manifest);
  for (const object of access.objects) await admin.apply(object);
  const { namespace, name } = access.serviceAccount;
  const token = await admin.serviceAccountToken(namespace, name, options.tokenSeconds ?? 365 * 24 * 3600);
  writeKubeconfig(options.file, {
    ...clusterOf(admin.config),
    user: `system:serviceaccount:${namespace}:${name}`,
    credentials: { token },
    namespace: options.namespace ?? namespace,
  });
  return access;
}

/** The current cluster of a kubeconfig, as the fields of a new kubeconfig. */
function clusterOf(config: KubeConfig): { server: string; certificateAuthorityData?: string; insecureSkipTlsVerify?: boolean } {
  const cluster = config.getCurrentCluster();
  if (cluster === null) throw new StreamkeeperError('SK_KUBE_CONFIG', 'the admin kubeconfig names no current cluster');
  const certificateAuthorityData = cluster.caData ?? (cluster.caFile === undefined ? undefined : base64File(cluster.caFile));
  return {
    server: cluster.server,
    ...(certificateAuthorityData === undefined ? {} : { certificateAuthorityData }),
    ...(cluster.skipTLSVerify ? { insecureSkipTlsVerify: true } : {}),
  };
}
