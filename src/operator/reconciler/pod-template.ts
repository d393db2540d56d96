/**
 * The driver and executor pods a job's spec asks for, as pure functions. A pod template is
 * built once per component and hashed; each pod carries the hash in a label, so a change of
 * image, resources or template overrides is detected by comparing hashes — never by comparing a
 * live pod with the desired one (the API server adds defaults to what it stores).
 */
import { createHash } from 'node:crypto';
import { apiVersion, kind, sinkCluster, type Component, type DefaultedStreamingJobSpec, type KafkaSasl, type KafkaTls, type PodTemplateOverrides, type ResourceRequirements } from '../../api/v1alpha1/index.js';
import type { OwnerReference, Pod } from '../../kube/objects.js';
import { credentialKeys, jobCredentialSecretName, type CoordinatedJob } from '../job-coordination.js';
import { componentLabels, credentialAnnotation, driverRestartsAnnotation, driverServiceName, podTemplateHashLabel } from './naming.js';
import { podUserId, scratchMountPath } from './pod-environment.js';
import { podEnv } from '../../runtime/pod-environment.js';

export type PodSpec = NonNullable<Pod['spec']>;
type Container = PodSpec['containers'][number];
type EnvVar = NonNullable<Container['env']>[number];
type EnvVarSource = NonNullable<EnvVar['valueFrom']>;

/** Operator-wide settings every job pod gets. */
export interface PodSettings {
  readonly zkConnect: string;
  readonly zkRoot: string;
  /** `per-job`: the credential comes from the job's Secret; `open`: no ACLs (development only). */
  readonly credentials: 'per-job' | 'open';
}

/** What is common to all pods of one component of a job: everything but the name. */
export interface PodTemplate {
  readonly component: Component;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: PodSpec;
}

/** Grace period of the driver, which has no field for it: enough to finish recording a batch. */
export const driverTerminationGracePeriodSeconds = 30;

/** JSON with object keys sorted at every level, so equal templates hash equally. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

/** A short, label-safe hash of a template: it changes whenever anything in the template does. */
export function podTemplateHash(template: PodTemplate): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, 10);
}

function secretEnv(name: string, secret: string, key: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}

function fieldEnv(name: string, fieldPath: string): EnvVar {
  return { name, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } } };
}

function kafkaEnv(sasl: KafkaSasl | undefined, tls: KafkaTls | undefined, names: { username: string; password: string; mechanism: string; tls: string; ca: string }): EnvVar[] {
  return [
    ...(sasl === undefined
      ? []
      : [
          { name: names.mechanism, value: sasl.mechanism },
          secretEnv(names.username, sasl.secretRef.name, sasl.secretRef.usernameKey),
          secretEnv(names.password, sasl.secretRef.name, sasl.secretRef.passwordKey),
        ]),
    ...(tls?.enabled === true ? [{ name: names.tls, value: 'true' }] : []),
    ...(tls?.enabled === true && tls.caSecretRef !== undefined ? [secretEnv(names.ca, tls.caSecretRef.name, tls.caSecretRef.key)] : []),
  ];
}

/** The operator's variables; the pod template's own come after, minus any that reuse our names. */
function environment(job: CoordinatedJob, spec: DefaultedStreamingJobSpec, settings: PodSettings, overrides: PodTemplateOverrides | undefined): EnvVar[] {
  const sink = sinkCluster(spec);
  const ours: EnvVar[] = [
    { name: podEnv.job, value: `${job.namespace}/${job.name}` },
    fieldEnv(podEnv.podName, 'metadata.name'),
    fieldEnv(podEnv.podNamespace, 'metadata.namespace'),
    { name: podEnv.zkConnect, value: settings.zkConnect },
    { name: podEnv.zkRoot, value: settings.zkRoot },
    ...(settings.credentials === 'per-job'
      ? [secretEnv(podEnv.zkUser, jobCredentialSecretName(job.name), credentialKeys.user), secretEnv(podEnv.zkPassword, jobCredentialSecretName(job.name), credentialKeys.password)]
      : [{ name: podEnv.zkInsecureOpenAcl, value: 'true' }]),
    ...kafkaEnv(spec.source.kafka.sasl, spec.source.kafka.tls, { username: podEnv.sourceSaslUsername, password: podEnv.sourceSaslPassword, mechanism: podEnv.sourceSaslMechanism, tls: podEnv.sourceTls, ca: podEnv.sourceTlsCa }),
    ...kafkaEnv(sink.sasl, sink.tls, { username: podEnv.sinkSaslUsername, password: podEnv.sinkSaslPassword, mechanism: podEnv.sinkSaslMechanism, tls: podEnv.sinkTls, ca: podEnv.sinkTlsCa }),
  ];
  const taken = new Set(ours.map((variable) => variable.name));
  const theirs = (overrides?.env ?? [])
    .filter((variable) => !taken.has(variable.name))
    .map((variable): EnvVar => ({
      name: variable.name,
      ...(variable.value === undefined ? {} : { value: variable.value }),
      ...(variable.valueFrom === undefined ? {} : { valueFrom: variable.valueFrom as EnvVarSource }),
    }));
  return [...ours, ...theirs];
}

function quantities(list: Readonly<Record<string, string | number | undefined>> | undefined): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  const entries = Object.entries(list).flatMap(([name, value]) => (value === undefined ? [] : [[name, String(value)] as const]));
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

function resources(spec: ResourceRequirements | undefined): Container['resources'] {
  const requests = quantities(spec?.requests);
  const limits = quantities(spec?.limits);
  return { ...(requests === undefined ? {} : { requests }), ...(limits === undefined ? {} : { limits }) };
}

/** The restricted Pod Security Standard, satisfied by default. */
const podSecurityContext: PodSpec['securityContext'] = {
  runAsNonRoot: true,
  runAsUser: podUserId,
  runAsGroup: podUserId,
  seccompProfile: { type: 'RuntimeDefault' },
};

const containerSecurityContext: Container['securityContext'] = {
  runAsNonRoot: true,
  runAsUser: podUserId,
  runAsGroup: podUserId,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

/** The template of one component's pods, with the spec's pod template overrides merged in. */
export function desiredPodTemplate(job: CoordinatedJob, spec: DefaultedStreamingJobSpec, component: Component, settings: PodSettings): PodTemplate {
  const side = component === 'driver' ? spec.driver : spec.executors;
  const overrides = side.podTemplate;
  const container: Container = {
    name: component,
    image: spec.image,
    imagePullPolicy: spec.imagePullPolicy,
    // The image's ENTRYPOINT is node + the streamkeeper CLI: arguments only, never a command.
    args: [component, '--log-format=json'],
    env: environment(job, spec, settings, overrides),
    resources: resources(side.resources),
    securityContext: containerSecurityContext,
    volumeMounts: [{ name: 'tmp', mountPath: scratchMountPath }],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const podSpec: PodSpec = {
    restartPolicy: 'Never',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: component === 'executor' ? spec.executors.terminationGracePeriodSeconds : driverTerminationGracePeriodSeconds,
    securityContext: podSecurityContext,
    containers: [container],
    volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
    ...(component === 'driver' ? { subdomain: driverServiceName(job.name) } : {}),
    ...(overrides?.serviceAccountName === undefined ? {} : { serviceAccountName: overrides.serviceAccountName }),
    ...(overrides?.nodeSelector === undefined ? {} : { nodeSelector: { ...overrides.nodeSelector } }),
    ...(overrides?.tolerations === undefined ? {} : { tolerations: structuredClone(overrides.tolerations) as PodSpec['tolerations'] }),
    ...(overrides?.affinity === undefined ? {} : { affinity: structuredClone(overrides.affinity) as PodSpec['affinity'] }),
    ...(overrides?.priorityClassName === undefined ? {} : { priorityClassName: overrides.priorityClassName }),
    ...(overrides?.imagePullSecrets === undefined ? {} : { imagePullSecrets: overrides.imagePullSecrets.map((secret) => ({ name: secret.name })) }),
  };
  return {
    component,
    // The operator's labels last: a template cannot override them (validation refuses it too).
    labels: { ...overrides?.labels, ...componentLabels(job.name, component) },
    annotations: { ...overrides?.annotations },
    spec: podSpec,
  };
}

/** Makes the job the controller of an object: it is deleted with the job (garbage collection). */
export function controllerReference(job: CoordinatedJob): OwnerReference {
  return { apiVersion, kind, name: job.name, uid: job.uid, controller: true, blockOwnerDeletion: true };
}

/**
 * What a pod records about its own creation, outside the template (changing it rolls nothing):
 * the job credential it gets, and for a driver the restart count.
 */
export interface PodStamps {
  /** `credentialFingerprint` of the job's credential; undefined with open ACLs. */
  readonly credential?: string | undefined;
  /** `status.restarts` when a driver pod is created. */
  readonly driverRestarts?: number | undefined;
}

/** One pod of a template. */
export function podFromTemplate(job: CoordinatedJob, template: PodTemplate, hash: string, name: string, stamps: PodStamps = {}): Pod {
  const annotations = {
    ...template.annotations,
    ...(stamps.credential === undefined ? {} : { [credentialAnnotation]: stamps.credential }),
    ...(stamps.driverRestarts === undefined ? {} : { [driverRestartsAnnotation]: String(stamps.driverRestarts) }),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: job.namespace,
      labels: { ...template.labels, [podTemplateHashLabel]: hash },
      ...(Object.keys(annotations).length === 0 ? {} : { annotations }),
      ownerReferences: [controllerReference(job)],
    },
    spec: structuredClone(template.spec),
  };
}
