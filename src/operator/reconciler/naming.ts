/**
 * Names and labels of the objects the operator creates for a job. Pods have stable names, like
 * a StatefulSet's: `<job>-driver` (and `<job>-driver-1` with a standby) and
 * `<job>-executor-<ordinal>` (0 … replicas-1), so scale-down
 * removes the highest ordinals, a replacement takes over its predecessor's name, and an executor's
 * ZooKeeper registration (`executors/<pod>`) names the same pod across incarnations.
 */
import { createHash } from 'node:crypto';
import { labelKeys, labelValues, jobLabels, type Component } from '../../api/v1alpha1/index.js';

/** Label holding the hash of the pod template a pod was created from (see pod-template.ts). */
export const podTemplateHashLabel = 'streamkeeper.io/pod-template-hash';

/**
 * Annotation naming the job credential a pod was created to hold (`credentialFingerprint`, a
 * hash of its digest: never the password). A pod whose fingerprint is no longer the job's holds a
 * revoked credential and is replaced.
 */
export const credentialAnnotation = 'streamkeeper.io/zookeeper-credential';

/**
 * Annotation on a driver pod: how many times the driver had been recreated after failing when
 * this pod was created. `status.restarts` is derived from it (see driver-restarts.ts).
 */
export const driverRestartsAnnotation = 'streamkeeper.io/driver-restarts';

/** Selects every object the operator manages, whatever the job. */
export const managedBySelector = `${labelKeys.managedBy}=${labelValues.managedBy}`;

export function driverPodName(job: string): string {
  return `${job}-driver`;
}

/**
 * The two names a driver pod may have when the job runs a standby (`spec.driver.standby`). Which
 * of them is the active driver is not in the name: it is whichever holds the `driver` znode, so a
 * failover swaps the roles and the replacement of the failed pod becomes the new standby.
 */
export function driverPodNames(job: string): readonly [string, string] {
  return [driverPodName(job), `${job}-driver-1`];
}

export function executorPodName(job: string, ordinal: number): string {
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) throw new RangeError(`an executor ordinal is a non-negative integer (got ${ordinal})`);
  return `${job}-executor-${ordinal}`;
}

/** The ordinal of `<job>-executor-<n>` (no leading zeros), or undefined for any other name. */
export function executorOrdinal(job: string, pod: string): number | undefined {
  const prefix = `${job}-executor-`;
  if (!pod.startsWith(prefix)) return undefined;
  const digits = pod.slice(prefix.length);
  if (!/^(0|[1-9][0-9]{0,5})$/.test(digits)) return undefined;
  return Number(digits);
}

const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const maxServiceName = 63;

function shortHash(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * The headless Service of the driver. Service names are DNS-1035 labels (at most 63 characters,
 * starting with a letter, no dots) while job names are DNS-1123 subdomains: `<job>-driver` when
 * that is a valid label, otherwise the job name made into one (dots become dashes, `sj-` in front
 * of a leading digit), cut short and made unique with a hash of the job name.
 */
export function driverServiceName(job: string): string {
  const plain = `${job}-driver`;
  if (plain.length <= maxServiceName && dns1035Label.test(plain)) return plain;
  const suffix = `-${shortHash(job, 6)}-driver`;
  let base = job.replaceAll('.', '-');
  if (!/^[a-z]/.test(base)) base = `sj-${base}`;
  base = base.slice(0, maxServiceName - suffix.length).replace(/-+$/, '');
  return `${base}${suffix}`;
}

/** Labels of a job's pods of one component: the four the operator owns. */
export function componentLabels(job: string, component: Component): Record<string, string> {
  return jobLabels(job, component);
}

/**
 * Labels of the credential Secret. It belongs to both components, so its `component` label says
 * what it is instead.
 */
export function credentialSecretLabels(job: string): Record<string, string> {
  return { ...jobLabels(job, 'driver'), [labelKeys.component]: 'credentials' };
}

/** The executor pods' selector, for the scale subresource (`status.selector`). */
export function executorSelector(job: string): string {
  const labels = jobLabels(job, 'executor');
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key] ?? ''}`)
    .join(',');
}
