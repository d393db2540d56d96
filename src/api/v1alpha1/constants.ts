/**
 * The names every part of streamkeeper must agree on for the StreamingJob API: its identity in the
 * API server, the finalizer, the labels on the objects the operator creates, and condition types.
 */

export const group = 'streamkeeper.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;
export const kind = 'StreamingJob';
export const listKind = 'StreamingJobList';
export const plural = 'streamingjobs';
export const singular = 'streamingjob';
export const shortNames = ['sj'] as const;
export const categories = ['streamkeeper'] as const;
/** `streamingjobs.streamkeeper.io`: the CRD's own name. */
export const crdName = `${plural}.${group}`;

/** Holds a job until the operator has removed its ZooKeeper subtree. */
export const finalizer = 'streamkeeper.io/cleanup';

/** Label keys on every object the operator creates (Kubernetes recommended labels). */
export const labelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Values of the `name` and `managed-by` labels. `instance` is the job's name. */
export const labelValues = {
  name: 'streamkeeper',
  managedBy: 'streamkeeper-operator',
} as const;

export const components = ['driver', 'executor'] as const;
export type Component = (typeof components)[number];

/** The labels the operator owns; a pod template override must not set them (they select pods). */
export const reservedLabelKeys: readonly string[] = Object.values(labelKeys);

/** Labels for one object of a job; the operator adds these last so nothing can override them. */
export function jobLabels(jobName: string, component: Component): Record<string, string> {
  return {
    [labelKeys.name]: labelValues.name,
    [labelKeys.instance]: jobName,
    [labelKeys.component]: component,
    [labelKeys.managedBy]: labelValues.managedBy,
  };
}

/** Condition types in `status.conditions`. */
export const conditionTypes = {
  /** The job is processing batches: driver up, executors available, config synced. */
  ready: 'Ready',
  /** The operator is moving the job towards its spec (creating pods, rolling, rescheduling). */
  progressing: 'Progressing',
  /** The ZooKeeper `config` znode holds the current generation's config. */
  configSynced: 'ConfigSynced',
  /** At least one executor is registered and ready to take tasks. */
  executorsAvailable: 'ExecutorsAvailable',
} as const;
export type ConditionType = (typeof conditionTypes)[keyof typeof conditionTypes];

/** Environment variables with this prefix are set by the operator; pod template overrides may not. */
export const reservedEnvPrefix = 'STREAMKEEPER_';

/**
 * Config keys matching this (case-insensitive) look like they carry a secret. `config` is
 * mirrored to ZooKeeper, so such keys are rejected; credentials go through Secret references.
 * Written in the common subset of RE2 (CEL) and JavaScript regular expressions.
 */
export const secretLookingKeyPattern = 'password|passwd|secret|token|credential|jaas|keystore.?key|private.?key|api.?key';

/** Job names longer than this cannot be the value of the `app.kubernetes.io/instance` label. */
export const maxJobNameLength = 63;
