/**
 * What every install of streamkeeper must look like, whichever way it was produced (the committed
 * manifests/install.yaml or a `helm template` of the chart): parsed objects and the checks the
 * packaging tests share, so the plain manifests and the chart are held to one standard.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function readRepoFile(path: string): string {
  return readFileSync(resolve(repoRoot, path), 'utf8');
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [field: string]: unknown;
}

export interface PolicyRule {
  readonly apiGroups?: string[];
  readonly resources?: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
  readonly nonResourceURLs?: string[];
}

export interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly capabilities?: { readonly drop?: string[]; readonly add?: string[] };
  readonly seccompProfile?: { readonly type: string };
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: Record<string, unknown>;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly command?: string[];
  readonly args?: string[];
  readonly env?: EnvVar[];
  readonly securityContext?: SecurityContext;
  readonly livenessProbe?: { readonly httpGet?: { readonly path: string } };
  readonly readinessProbe?: { readonly httpGet?: { readonly path: string } };
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
  readonly volumeMounts?: { readonly name: string; readonly mountPath: string }[];
}

export interface PodSpec {
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly securityContext?: SecurityContext & { readonly fsGroup?: number };
  readonly containers: Container[];
  readonly initContainers?: Container[];
  readonly volumes?: { readonly name: string; readonly secret?: { readonly secretName: string } }[];
  readonly affinity?: Record<string, unknown>;
  readonly topologySpreadConstraints?: unknown[];
}

export interface Workload extends KubeObject {
  readonly spec: {
    readonly replicas?: number;
    readonly selector: { readonly matchLabels: Record<string, string> };
    readonly template: { readonly metadata: { readonly labels: Record<string, string> }; readonly spec: PodSpec };
    readonly volumeClaimTemplates?: unknown[];
  };
}

/** All objects of a multi-document YAML stream; empty documents are skipped. */
export function parseManifests(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = document.toJS();
    if (value !== null && value !== undefined) objects.push(value as KubeObject);
  }
  return objects;
}

export function objectsOfKind(objects: readonly KubeObject[], kind: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function findObject(objects: readonly KubeObject[], kind: string, name: string, namespace?: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (found === undefined) {
    const present = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind} ${namespace ?? '*'}/${name} among: ${present}`);
  }
  return found;
}

/** A Deployment or StatefulSet by kind and name. */
export function findWorkload(objects: readonly KubeObject[], kind: 'Deployment' | 'StatefulSet', name: string, namespace?: string): Workload {
  return findObject(objects, kind, name, namespace) as Workload;
}

/** The container of a workload's pod template with this name. */
export function containerOf(workload: Workload, name: string): Container {
  const found = workload.spec.template.spec.containers.find((c) => c.name === name);
  if (found === undefined) throw new Error(`${workload.kind}/${workload.metadata.name} has no container ${name}`);
  return found;
}

export function workloads(objects: readonly KubeObject[]): Workload[] {
  return objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job') as Workload[];
}

/** The operator's rights in each namespace where it manages jobs: exactly these, nothing more. */
export const operatorRules: readonly PolicyRule[] = [
  { apiGroups: ['streamkeeper.io'], resources: ['streamingjobs'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: ['streamkeeper.io'], resources: ['streamingjobs/status'], verbs: ['get', 'update', 'patch'] },
  { apiGroups: ['streamkeeper.io'], resources: ['streamingjobs/finalizers'], verbs: ['update'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
];

/** Leader election, and a look at its own Deployment (uninstall or restart?), in the operator's own namespace only. */
export const leaderElectionRules: readonly PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'delete'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update', 'delete'] },
];

/** Rules as a sorted set of `group/resource:verb` grants, so rule order and grouping do not matter. */
export function grants(rules: readonly PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? ['<none>']) {
      for (const resource of rule.resources ?? rule.nonResourceURLs ?? ['<none>']) {
        for (const verb of rule.verbs) out.add(`${group}/${resource}:${verb}`);
      }
    }
  }
  return [...out].sort();
}

export function rulesOf(role: KubeObject): PolicyRule[] {
  return (role.rules ?? []) as PolicyRule[];
}

/** Every `*` in an RBAC rule of any Role or ClusterRole, as `Kind/name: field`. */
export function wildcards(objects: readonly KubeObject[]): string[] {
  const found: string[] = [];
  for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
    for (const rule of rulesOf(role)) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs'] as const) {
        if ((rule[field] ?? []).some((v) => v.includes('*'))) found.push(`${role.kind}/${role.metadata.name}: ${field}`);
      }
    }
  }
  return found;
}

/** Settings of a container that break the restricted Pod Security Standard or our hardening. */
export function hardeningViolations(pod: PodSpec, container: Container): string[] {
  const effective: SecurityContext = { ...pod.securityContext, ...container.securityContext };
  const problems: string[] = [];
  if (effective.runAsNonRoot !== true) problems.push('runAsNonRoot is not true');
  if (effective.runAsUser === 0 || effective.runAsUser === undefined) problems.push('runAsUser is root or unset');
  if (container.securityContext?.readOnlyRootFilesystem !== true) problems.push('readOnlyRootFilesystem is not true');
  if (container.securityContext?.allowPrivilegeEscalation !== false) problems.push('allowPrivilegeEscalation is not false');
  if (container.securityContext?.privileged === true) problems.push('privileged');
  if (!(container.securityContext?.capabilities?.drop ?? []).includes('ALL')) problems.push('capabilities do not drop ALL');
  if ((container.securityContext?.capabilities?.add ?? []).length > 0) problems.push('capabilities are added');
  if (effective.seccompProfile?.type !== 'RuntimeDefault') problems.push('seccompProfile is not RuntimeDefault');
  if (container.resources?.requests === undefined || container.resources.limits?.memory === undefined) problems.push('no resource requests or memory limit');
  return problems;
}

const secretLookingName = /pass(word|wd)?|secret|token|credential|api.?key|private.?key/i;

/** Environment variables that carry a literal value under a name that looks like a secret. */
export function plainSecretEnv(objects: readonly KubeObject[]): string[] {
  const found: string[] = [];
  for (const workload of workloads(objects)) {
    const pod = workload.spec.template.spec;
    for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
      for (const env of container.env ?? []) {
        if (env.value !== undefined && secretLookingName.test(env.name)) found.push(`${workload.metadata.name}/${container.name}: ${env.name}`);
      }
    }
  }
  return found;
}

/** The operator Deployment's `streamkeeper operator` arguments as a flag → value map. */
export function operatorFlags(container: Container): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (const arg of (container.args ?? []).slice(1)) {
    const match = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    if (match?.[1] === undefined) throw new Error(`unexpected operator argument ${arg}`);
    flags.set(match[1], match[2] ?? true);
  }
  return flags;
}
