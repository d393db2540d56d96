/**
 * What one reconcile pass over one job has learned and done so far: its steps add to it, and the
 * last step turns it into the status and Events written once at the end. Nothing here outlives
 * the pass.
 */
import { apiVersion, kind, type DefaultedStreamingJobSpec, type SpecFinding, type StreamingJobStatus } from '../api/v1alpha1/index.js';
import { classify } from '../errors/index.js';
import type { CustomObject, Stored } from '../kube/objects.js';
import type { EventRegarding } from './event-recorder.js';
import type { CoordinatedJob } from './job-coordination.js';
import { driverRestarts, type DriverRestarts } from './reconciler/driver-restarts.js';
import type { JobPods } from './reconciler/observed-pods.js';
import type { PodPlan } from './reconciler/pod-plan.js';
import type { CoordinationView, ErrorView, StatusInput } from './reconciler/status.js';
import type { JobEvent } from './reconciler/transition-events.js';

const noPods: JobPods = { driver: undefined, executors: new Map(), strays: [] };

export function errorView(err: unknown): ErrorView {
  const classified = classify(err);
  return { code: classified.code, kind: classified.kind, message: classified.message };
}

export class ReconcilePass {
  readonly identity: CoordinatedJob;
  readonly key: string;
  findings: readonly SpecFinding[] = [];
  spec: DefaultedStreamingJobSpec | undefined;
  pods: JobPods = noPods;
  coordination: CoordinationView = { state: 'skipped' };
  plan: PodPlan | undefined;
  /** Fingerprint of the credential the job's subtree admits, once ZooKeeper was synced. */
  credential: string | undefined;
  /** Executors asked to drain that still hold tasks. */
  draining = 0;
  /** In how many ms a pod whose registration is missing is due to be judged unresponsive. */
  unresponsiveDueInMs: number | undefined;
  readonly errors: ErrorView[] = [];
  /** Events about what this pass did (pods created, deleted, drained); sent whatever the status write does. */
  readonly actionEvents: JobEvent[] = [];
  /** The first failure worth retrying with backoff; thrown once the status is written. */
  retryable: Error | undefined;
  /**
   * Actions that must wait until the status is written, because the status records why they
   * happen (a failed driver is deleted only once `status.restarts` counts it).
   */
  readonly afterStatus: { readonly doing: string; readonly run: () => Promise<void> }[] = [];

  constructor(
    public job: Stored<CustomObject>,
    readonly now: number,
  ) {
    const { namespace = '', name, uid } = job.metadata;
    this.identity = { namespace, name, uid };
    this.key = `${namespace}/${name}`;
  }

  get generation(): number {
    return this.job.metadata.generation ?? 0;
  }

  get previousStatus(): StreamingJobStatus | undefined {
    return this.job.status as StreamingJobStatus | undefined;
  }

  get regarding(): EventRegarding {
    return { apiVersion, kind, namespace: this.identity.namespace, name: this.identity.name, uid: this.identity.uid };
  }

  /**
   * Notes a failed action: it shows in the status message and as a Warning Event; a transient
   * one (or a conflict) makes the pass end in an error so the queue retries with backoff.
   */
  fail(err: unknown, doing: string): void {
    const view = errorView(err);
    this.errors.push({ ...view, message: `${doing}: ${view.message}` });
    if (view.kind === 'transient' && this.retryable === undefined) this.retryable = err instanceof Error ? err : new Error(String(err));
  }

  /** The driver restart count after this pass, and whether a failed driver may go before the status is written. */
  driverRestarts(): DriverRestarts {
    // A standby that ended never drove: no restart of the driver.
    const failed = this.plan?.actions.some((action) => action.kind === 'retire' && action.component === 'driver' && action.reason === 'terminated' && action.standby !== true) ?? false;
    return driverRestarts({ recorded: this.previousStatus?.restarts ?? 0, driver: this.pods.driver, failed });
  }

  statusInput(): StatusInput {
    return {
      jobName: this.identity.name,
      generation: this.generation,
      previous: this.previousStatus,
      now: this.now,
      findings: this.findings,
      spec: this.spec,
      pods: this.pods,
      plan: this.plan,
      coordination: this.coordination,
      restarts: this.driverRestarts().restarts,
      errors: this.errors,
    };
  }
}
