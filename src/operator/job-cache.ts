/**
 * What the reconciler reads the cluster through: jobs, their pods and their driver Service from
 * informer caches (one informer per watched namespace, or one for all), so a pass costs no API
 * reads. Also how a Pod or Service event finds the job whose key to enqueue.
 */
import { kind as streamingJobKind, labelKeys, labelValues } from '../api/v1alpha1/index.js';
import type { CustomObject, KubeObject, Pod, Service, Stored } from '../kube/objects.js';
import type { Informer } from '../machinery/informer.js';
import { driverServiceName } from './reconciler/naming.js';

export interface JobRefLike {
  readonly namespace: string;
  readonly name: string;
}

export interface JobCache {
  job(key: string): Stored<CustomObject> | undefined;
  /** Pods that belong to the job (by controller reference or instance label), any incarnation. */
  pods(job: JobRefLike): Stored<Pod>[];
  driverService(job: JobRefLike): Stored<Service> | undefined;
}

/**
 * The `namespace/name` of the job an object of ours belongs to: its controller if that is a
 * StreamingJob, else its `app.kubernetes.io/instance` label when it is managed by the operator.
 */
export function owningJobKey(object: Stored<KubeObject>): string | undefined {
  const namespace = object.metadata.namespace;
  if (namespace === undefined || namespace === '') return undefined;
  const controller = (object.metadata.ownerReferences ?? []).find((ref) => ref.controller === true);
  if (controller !== undefined) return controller.kind === streamingJobKind ? `${namespace}/${controller.name}` : undefined;
  const labels = object.metadata.labels ?? {};
  const instance = labels[labelKeys.instance];
  if (labels[labelKeys.managedBy] !== labelValues.managedBy || instance === undefined || instance === '') return undefined;
  return `${namespace}/${instance}`;
}

export const jobIndex = 'job';

/** Indexes pods (or services) by owning job, for `JobCache.pods`. */
export function indexByJob<T extends KubeObject>(informer: Informer<T>): void {
  informer.addIndex(jobIndex, (object) => {
    const key = owningJobKey(object);
    return key === undefined ? [] : [key];
  });
}

export class InformerJobCache implements JobCache {
  constructor(
    private readonly jobs: readonly Informer<CustomObject>[],
    private readonly podInformers: readonly Informer<Pod>[],
    private readonly serviceInformers: readonly Informer<Service>[],
  ) {}

  /** All informers behind this cache, e.g. to wait until they synced. */
  get informers(): readonly Informer<KubeObject>[] {
    return [...this.jobs, ...this.podInformers, ...this.serviceInformers] as readonly Informer<KubeObject>[];
  }

  hasSynced(): boolean {
    return this.informers.every((informer) => informer.hasSynced());
  }

  job(key: string): Stored<CustomObject> | undefined {
    for (const informer of this.jobs) {
      const job = informer.getByKey(key);
      if (job !== undefined) return job;
    }
    return undefined;
  }

  /** Keys of every cached job. */
  jobKeys(): string[] {
    return this.jobs.flatMap((informer) => informer.keys());
  }

  pods(job: JobRefLike): Stored<Pod>[] {
    const key = `${job.namespace}/${job.name}`;
    return this.podInformers.flatMap((informer) => informer.byIndex(jobIndex, key));
  }

  driverService(job: JobRefLike): Stored<Service> | undefined {
    const key = `${job.namespace}/${driverServiceName(job.name)}`;
    for (const informer of this.serviceInformers) {
      const service = informer.getByKey(key);
      if (service !== undefined) return service;
    }
    return undefined;
  }
}
