/**
 * The job's objects other than pods: the driver's headless Service (a stable DNS name for the
 * driver pod) and the Secret with the job's ZooKeeper credential. Pure: what they should be, and
 * what to change when a Service drifted.
 */
import type { MergePatch } from '../../kube/client.js';
import type { Secret, Service, Stored } from '../../kube/objects.js';
import { credentialSecretData, jobCredentialSecretName, type CoordinatedJob, type DigestCredential } from '../job-coordination.js';
import { componentLabels, credentialSecretLabels, driverServiceName } from './naming.js';
import { controllerReference } from './pod-template.js';

/**
 * Headless (no cluster IP, no ports: the runtime's ports are its own business) and publishing
 * not-ready addresses, so the driver's name resolves as soon as its pod has an IP.
 */
export function desiredDriverService(job: CoordinatedJob): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: driverServiceName(job.name),
      namespace: job.namespace,
      labels: componentLabels(job.name, 'driver'),
      ownerReferences: [controllerReference(job)],
    },
    spec: {
      clusterIP: 'None',
      selector: componentLabels(job.name, 'driver'),
      publishNotReadyAddresses: true,
    },
  };
}

export type ServiceChange = { readonly kind: 'none' } | { readonly kind: 'patch'; readonly patch: MergePatch } | { readonly kind: 'recreate' };

function sameMap(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const left = Object.entries(a ?? {}).sort(([x], [y]) => x.localeCompare(y));
  const right = Object.entries(b ?? {}).sort(([x], [y]) => x.localeCompare(y));
  return left.length === right.length && left.every(([key, value], i) => right[i]?.[0] === key && right[i][1] === value);
}

/**
 * What to do about an existing Service: nothing, a merge patch of the fields we own (labels we
 * set, selector, publishNotReadyAddresses), or — when it is no longer headless, which the API
 * server does not allow to change back — delete it so the next pass creates it again.
 */
export function serviceChange(observed: Stored<Service>, desired: Service): ServiceChange {
  if (observed.spec?.clusterIP !== 'None') return { kind: 'recreate' };
  const desiredLabels = desired.metadata?.labels ?? {};
  const observedLabels = observed.metadata.labels ?? {};
  const labelsDrifted = Object.entries(desiredLabels).some(([key, value]) => observedLabels[key] !== value);
  const selectorDrifted = !sameMap(observed.spec.selector, desired.spec?.selector);
  const publishDrifted = observed.spec.publishNotReadyAddresses !== desired.spec?.publishNotReadyAddresses;
  if (!labelsDrifted && !selectorDrifted && !publishDrifted) return { kind: 'none' };
  return {
    kind: 'patch',
    patch: {
      ...(labelsDrifted ? { metadata: { labels: desiredLabels } } : {}),
      spec: {
        ...(selectorDrifted ? { selector: { ...Object.fromEntries(Object.keys(observed.spec.selector ?? {}).map((key) => [key, null])), ...desired.spec?.selector } } : {}),
        ...(publishDrifted ? { publishNotReadyAddresses: desired.spec?.publishNotReadyAddresses } : {}),
      },
    },
  };
}

/** The credential Secret: owned by the job, so it goes with it. */
export function credentialSecret(job: CoordinatedJob, credential: DigestCredential): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: jobCredentialSecretName(job.name),
      namespace: job.namespace,
      labels: credentialSecretLabels(job.name),
      ownerReferences: [controllerReference(job)],
    },
    stringData: credentialSecretData(credential),
  };
}
