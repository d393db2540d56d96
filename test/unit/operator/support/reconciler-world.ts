/**
 * A small world for the StreamingJob reconciler's unit tests: the in-memory API server, informers
 * over it (as in the operator), the in-memory coordination port, and a stand-in kubelet that
 * moves pods through their phases. Passes are run one at a time, so a test reads as a timeline.
 */
import type { StreamingJobSpec, StreamingJobStatus } from '../../../../src/api/v1alpha1/index.js';
import { FakeKubeClient } from '../../../../src/kube/fake.js';
import type { CustomObject, Event, Pod, Service, Stored } from '../../../../src/kube/objects.js';
import { silentLogger } from '../../../../src/logging/logger.js';
import { EventRecorder } from '../../../../src/operator/event-recorder.js';
import { InMemoryJobCoordination } from '../../../../src/operator/in-memory-job-coordination.js';
import { InformerJobCache, indexByJob } from '../../../../src/operator/job-cache.js';
import { JobPhaseTracker } from '../../../../src/operator/job-phase-tracker.js';
import { settle } from '../../../../src/machinery/clock.js';
import type { ReconcileResult } from '../../../../src/machinery/controller.js';
import { Informer, listerWatcher } from '../../../../src/machinery/informer.js';
import { managedBySelector } from '../../../../src/operator/reconciler/naming.js';
import { StreamingJobReconciler } from '../../../../src/operator/streaming-job-reconciler.js';

export const namespace = 'team-a';

import { sampleSpec } from '../../../support/sample-spec.js';

export { sampleSpec };

export class ReconcilerWorld {
  now = Date.UTC(2025, 5, 1, 12, 0, 0);
  readonly kube = new FakeKubeClient({ now: () => this.now });
  readonly coordination: InMemoryJobCoordination;
  readonly phases = new JobPhaseTracker();
  readonly reconciler: StreamingJobReconciler;
  private readonly informers: Informer<CustomObject | Pod | Service>[];
  private readonly jobs: Informer<CustomObject>;

  constructor(options: { readonly credentials?: 'per-job' | 'open' } = {}) {
    this.coordination = new InMemoryJobCoordination(options.credentials ?? 'per-job', () => this.now);
    this.jobs = new Informer<CustomObject>({ name: 'jobs', listerWatcher: listerWatcher(this.kube, 'StreamingJob') });
    const pods = new Informer<Pod>({ name: 'pods', listerWatcher: listerWatcher(this.kube, 'Pod', { labelSelector: managedBySelector }) });
    const services = new Informer<Service>({ name: 'services', listerWatcher: listerWatcher(this.kube, 'Service', { labelSelector: managedBySelector }) });
    indexByJob(pods);
    this.informers = [this.jobs, pods, services] as Informer<CustomObject | Pod | Service>[];
    const clock = { now: () => this.now, setTimer: () => ({ cancel: () => undefined }) };
    this.reconciler = new StreamingJobReconciler({
      kube: this.kube,
      cache: new InformerJobCache([this.jobs], [pods], [services]),
      coordination: this.coordination,
      events: new EventRecorder({ client: this.kube, reportingController: 'streamkeeper.io/operator', reportingInstance: 'test', clock, patchIntervalMs: 0 }),
      pods: { zkConnect: 'zk-0.zk:2181', zkRoot: '/streamkeeper' },
      phases: this.phases,
      clock,
    });
  }

  async start(): Promise<void> {
    for (const informer of this.informers) informer.start();
    await Promise.all(this.informers.map((informer) => informer.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((informer) => informer.stop()));
  }

  async createJob(name: string, spec: StreamingJobSpec = sampleSpec()): Promise<Stored<CustomObject>> {
    const job = await this.kube.create('StreamingJob', { metadata: { namespace, name }, spec: spec as unknown as Record<string, unknown> });
    await settle();
    return job;
  }

  /** Changes the spec (a new generation), as `kubectl apply` would. */
  async updateSpec(name: string, change: (spec: StreamingJobSpec) => StreamingJobSpec): Promise<void> {
    const job = await this.job(name);
    await this.kube.update('StreamingJob', { ...job, spec: change(structuredClone(job.spec) as unknown as StreamingJobSpec) as unknown as Record<string, unknown> });
    await settle();
  }

  /** One reconcile pass over the job, once the caches caught up; resolves with its result. */
  async pass(name: string): Promise<ReconcileResult> {
    await settle();
    const result = await this.reconciler.reconcile(`${namespace}/${name}`, { signal: new AbortController().signal, logger: silentLogger(), retries: 0 });
    await settle();
    return result;
  }

  /** A pass that is expected to fail; resolves with the error. */
  async failingPass(name: string): Promise<unknown> {
    try {
      await this.pass(name);
    } catch (err) {
      await settle();
      return err;
    }
    throw new Error('the pass did not fail');
  }

  async job(name: string): Promise<Stored<CustomObject>> {
    return this.kube.get('StreamingJob', { namespace, name });
  }

  async status(name: string): Promise<StreamingJobStatus> {
    return (await this.job(name)).status as StreamingJobStatus;
  }

  async condition(name: string, type: string): Promise<{ status: string; reason: string; message: string; lastTransitionTime: string; observedGeneration?: number } | undefined> {
    return (await this.status(name)).conditions?.find((c) => c.type === type);
  }

  async pods(): Promise<Stored<Pod>[]> {
    return (await this.kube.list('Pod', { namespace })).items;
  }

  async podNames(): Promise<string[]> {
    return (await this.pods()).map((pod) => pod.metadata.name).sort();
  }

  async pod(name: string): Promise<Stored<Pod>> {
    return this.kube.get('Pod', { namespace, name });
  }

  async events(): Promise<Stored<Event>[]> {
    return (await this.kube.list('Event', { namespace })).items;
  }

  async eventReasons(): Promise<string[]> {
    return (await this.events()).map((event) => event.reason ?? '');
  }

  /** How many status writes the API server received. */
  statusWrites(): number {
    return this.kube.actions.filter((action) => action.verb === 'updateStatus' || action.verb === 'patchStatus').length;
  }

  // ------------------------------------------------------------------ the stand-in kubelet ----

  /** The pod's container runs and the kubelet reports it Ready. */
  async runPod(name: string, ready = true): Promise<void> {
    const pod = await this.pod(name);
    await this.kube.updateStatus('Pod', {
      ...pod,
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [{ name: pod.spec?.containers[0]?.name ?? 'c', ready, restartCount: 0, image: '', imageID: '', state: { running: {} } }],
      },
    });
    await settle();
  }

  /** The pod's container exited. */
  async terminatePod(name: string, exitCode = 1): Promise<void> {
    const pod = await this.pod(name);
    await this.kube.updateStatus('Pod', {
      ...pod,
      status: {
        phase: exitCode === 0 ? 'Succeeded' : 'Failed',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [{ name: pod.spec?.containers[0]?.name ?? 'c', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' } } }],
      },
    });
    await settle();
  }

  /** Every pod of the job runs and is ready; its executors register and the driver too. */
  async bringUp(name: string): Promise<void> {
    for (const pod of await this.pods()) {
      if (pod.metadata.labels?.['app.kubernetes.io/instance'] !== name || pod.status?.phase === 'Running') continue;
      await this.runPod(pod.metadata.name);
      if (pod.metadata.name.includes('-executor-')) this.coordination.registerExecutor({ namespace, name }, pod.metadata.name);
    }
    this.coordination.setDriverRegistered({ namespace, name }, true);
    await settle();
  }
}
