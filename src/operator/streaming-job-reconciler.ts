/**
 * The StreamingJob reconciler: level-based, every pass re-reads the job, its pods and its
 * ZooKeeper state and moves them one step towards the spec. `reconcile` is thin — fetch, finalize
 * a deleted job, else run the pass — and the pass reads as a checklist of named steps. Decisions
 * are pure functions in reconciler/; this class does the I/O, and writes the status (with the
 * Events that go with it) once, at the end, only when it changed.
 */
import { applyDefaults, finalizer, validateStreamingJob, type DefaultedStreamingJobSpec, type SpecFinding, type StreamingJobSpec } from '../api/v1alpha1/index.js';
import { isStreamkeeperError } from '../errors/index.js';
import { ignoreNotFound, type KubeClient } from '../kube/client.js';
import type { CustomObject, Pod, Stored } from '../kube/objects.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { drainRequestsTotal, podsCreatedTotal, podsDeletedTotal, statusWritesTotal } from '../metrics/index.js';
import type { CreateExpectations } from './create-expectations.js';
import type { EventRecorder } from './event-recorder.js';
import type { JobCache } from './job-cache.js';
import { jobCredentialSecretName, type CredentialIssuer, type JobCoordination, type JobProgress, type TaskPolicy } from './job-coordination.js';
import type { JobPhaseTracker } from './job-phase-tracker.js';
import { systemClock, type Clock } from '../machinery/clock.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../machinery/controller.js';
import { ReconcilePass, errorView } from './reconcile-pass.js';
import { jobConfigContent } from './reconciler/job-config.js';
import { credentialSecret, desiredDriverService, serviceChange } from './reconciler/job-objects.js';
import { someOf } from './reconciler/conditions.js';
import { allPods, currentRegistrations, isControlledBy, observePod, registrationSkewMs, sortJobPods, type ObservedPod } from './reconciler/observed-pods.js';
import { planPods, type DeleteReason, type PodAction, type PodPlanInput } from './reconciler/pod-plan.js';
import { desiredPodTemplate, podFromTemplate, podTemplateHash, type PodSettings, type PodTemplate } from './reconciler/pod-template.js';
import { defaultProgressRefreshMs, requeueAfterMs } from './reconciler/requeue.js';
import { computeStatus, startupGraceMs, statusChanged } from './reconciler/status.js';
import { nextJudgementInMs, podsWithoutRegistration, registeredPods, registrationLossGraceMs, unresponsivePods } from './reconciler/unresponsive-pods.js';
import { transitionEvents, type JobEvent } from './reconciler/transition-events.js';

export interface StreamingJobReconcilerOptions {
  readonly kube: KubeClient;
  readonly cache: JobCache;
  readonly coordination: JobCoordination;
  readonly events: Pick<EventRecorder, 'record'>;
  /** ZooKeeper address and root the job pods get. */
  readonly pods: Omit<PodSettings, 'credentials'>;
  readonly phases: JobPhaseTracker;
  /** Where the pods and Services a pass creates are announced (see create-expectations.ts). */
  readonly expectations?: CreateExpectations;
  /** How often a Running or Degraded job's status picks up its progress (--progress-refresh-period). */
  readonly progressRefreshMs?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/**
 * What a job's spec means, computed once per generation: validation findings, the defaulted spec
 * and the pod template hashes (every pass needs them; the spec changes only with the generation).
 */
interface SpecView {
  readonly uid: string;
  readonly generation: number;
  readonly findings: readonly SpecFinding[];
  readonly spec: DefaultedStreamingJobSpec | undefined;
  readonly hashes: Record<'driver' | 'executor', string> | undefined;
}

/**
 * How often, at most, a job's credential Secret is checked for having been deleted: every pass
 * would add an API request to each; this bounds it for jobs with many passes (rollouts, busy
 * pods), while a Running job's 30 s requeue still looks about twice a minute.
 */
export const credentialCheckIntervalMs = 10_000;

/** The grace period a pod judged unresponsive is deleted with (see `deletePod`). */
export const unresponsivePodGraceSeconds = 1;

/** Rollout reasons with changes in flight (as opposed to waiting for pods to start). */
const activeRollouts = new Set(['CreatingPods', 'ReplacingPods', 'RollingUpdate', 'ScalingDown', 'Suspending', 'WaitingForCoordination']);

export class StreamingJobReconciler implements Reconciler {
  private readonly kube: KubeClient;
  private readonly cache: JobCache;
  private readonly coordination: JobCoordination;
  private readonly events: Pick<EventRecorder, 'record'>;
  private readonly podSettings: PodSettings;
  private readonly phases: JobPhaseTracker;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly specs = new Map<string, SpecView>();
  /**
   * Since when each running pod (by uid) has been seen without its ZooKeeper registration. Memory
   * only delays a judgement: a restarted operator starts counting again.
   */
  private readonly registrationMissing = new Map<string, ReadonlyMap<string, number>>();
  /** Per job, the pods (by uid) this operator has seen registered: their start-up is over. */
  private readonly registeredOnce = new Map<string, ReadonlySet<string>>();
  /** When each job's credential Secret was last seen to exist (by this replica), per incarnation. */
  private readonly secretsSeen = new Map<string, { readonly uid: string; readonly atMs: number }>();
  private readonly expectations: CreateExpectations | undefined;
  private readonly progressRefreshMs: number;

  constructor(options: StreamingJobReconcilerOptions) {
    this.kube = options.kube;
    this.cache = options.cache;
    this.coordination = options.coordination;
    this.events = options.events;
    this.podSettings = { ...options.pods, credentials: options.coordination.credentials };
    this.phases = options.phases;
    this.expectations = options.expectations;
    this.progressRefreshMs = options.progressRefreshMs ?? defaultProgressRefreshMs;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger();
  }

  async reconcile(key: string, context: ReconcileContext): Promise<ReconcileResult> {
    const job = this.cache.job(key);
    if (job === undefined) {
      this.phases.forget(key);
      this.specs.delete(key);
      this.secretsSeen.delete(key);
      return {};
    }
    if (job.metadata.deletionTimestamp !== undefined) return this.finalize(job, context.logger);
    return this.reconcileJob(job);
  }

  // ------------------------------------------------------------------ the pass ----

  private async reconcileJob(observed: Stored<CustomObject>): Promise<ReconcileResult> {
    const pass = new ReconcilePass(await this.ensureFinalizer(observed), this.clock.now());
    this.observePods(pass);
    const spec = this.validateSpec(pass);
    if (spec !== undefined) {
      // Independent of each other: ZooKeeper and the Service are set up side by side.
      await Promise.all([this.syncCoordination(pass, spec), this.ensureDriverService(pass)]);
      if (pass.coordination.state === 'synced') {
        await this.reconcilePods(pass, spec);
        await this.rescheduleTasks(pass, spec);
      }
    }
    return this.recordStatus(pass);
  }

  /** The finalizer goes on first, so a job is never deleted with its ZooKeeper data left behind. */
  private async ensureFinalizer(job: Stored<CustomObject>): Promise<Stored<CustomObject>> {
    const finalizers = job.metadata.finalizers ?? [];
    if (finalizers.includes(finalizer)) return job;
    return this.kube.patch('StreamingJob', refOf(job), { metadata: { finalizers: [...finalizers, finalizer] } }, { resourceVersion: job.metadata.resourceVersion });
  }

  private observePods(pass: ReconcilePass): void {
    const owned = this.cache.pods(pass.identity).filter((pod) => isControlledBy(pod, pass.identity.uid));
    pass.pods = sortJobPods(pass.identity.name, owned.map(observePod));
  }

  /**
   * An invalid spec is terminal until the spec changes: the pods of the last valid spec keep
   * running untouched (as Flink's operator does), nothing new is created, ZooKeeper keeps the
   * last valid configuration, and the status says which field is wrong.
   */
  private validateSpec(pass: ReconcilePass): DefaultedStreamingJobSpec | undefined {
    const view = this.specView(pass);
    pass.findings = view.findings;
    pass.spec = view.spec;
    return view.spec;
  }

  private specView(pass: ReconcilePass): SpecView {
    const cached = this.specs.get(pass.key);
    if (cached !== undefined && cached.uid === pass.identity.uid && cached.generation === pass.generation) return cached;
    const findings = validateStreamingJob(pass.job);
    const spec = findings.length === 0 ? applyDefaults(pass.job.spec as StreamingJobSpec) : undefined;
    const hashes =
      spec === undefined
        ? undefined
        : { driver: podTemplateHash(this.template(pass, spec, 'driver')), executor: podTemplateHash(this.template(pass, spec, 'executor')) };
    const view: SpecView = { uid: pass.identity.uid, generation: pass.generation, findings, spec, hashes };
    this.specs.set(pass.key, view);
    return view;
  }

  private template(pass: ReconcilePass, spec: DefaultedStreamingJobSpec, component: 'driver' | 'executor'): PodTemplate {
    return desiredPodTemplate(pass.identity, spec, component, this.podSettings);
  }

  private async syncCoordination(pass: ReconcilePass, spec: DefaultedStreamingJobSpec): Promise<void> {
    // The operator's own connection is down: the status says so now, instead of after every call
    // below has waited for it. Not an error of the pass: the condition and its one Event tell it,
    // and the connection coming back triggers the next pass.
    const lost = this.coordination.connectionLost();
    if (lost !== undefined) {
      pass.coordination = { state: 'failed', error: errorView(lost) };
      return;
    }
    const secret = jobCredentialSecretName(pass.identity.name);
    let secretGone = false;
    try {
      secretGone = await this.credentialSecretGone(pass);
    } catch (err) {
      pass.fail(err, `checking the credential Secret ${secret}`);
    }
    try {
      // A lost credential is revoked before a new one is issued: the record in ZooKeeper that the
      // job has none is what makes the next steps survive a crash (see revokeCredential).
      if (secretGone && (await this.coordination.revokeCredential(pass.identity))) {
        pass.actionEvents.push({
          type: 'Warning',
          reason: 'CredentialReissued',
          action: 'ReissueCredential',
          note: `the job's ZooKeeper credential Secret ${secret} was deleted: the credential it held no longer has access, a new one is issued in a new Secret, and the job's pods are replaced (they hold the old one)`,
        });
      }
      const issue: CredentialIssuer = (credential) => this.issueCredential(pass, credential);
      const synced = await this.coordination.ensureJob(pass.identity, { generation: pass.generation, content: jobConfigContent(spec) }, issue);
      pass.credential = synced.credential;
      if (synced.credentialIssued) this.secretsSeen.set(pass.key, { uid: pass.identity.uid, atMs: pass.now });
      const progress = await this.coordination.jobProgress(pass.identity);
      pass.coordination = { state: 'synced', configHash: synced.configHash, progress, reschedule: undefined };
    } catch (err) {
      pass.coordination = { state: 'failed', error: errorView(err) };
      pass.fail(err, 'ZooKeeper');
    }
  }

  /**
   * Whether the job's credential Secret has been deleted (by hand: the job owns it). The operator
   * may create and delete Secrets, never read them, so it asks with a delete that cannot succeed —
   * preconditioned on the job's uid, which no Secret has: 409 says the Secret exists, 404 that it is
   * gone. Not asked for a job whose status was never written (its first pass issues a credential
   * anyway), nor more often than `credentialCheckIntervalMs`.
   */
  private async credentialSecretGone(pass: ReconcilePass): Promise<boolean> {
    if (this.coordination.credentials !== 'per-job' || pass.previousStatus === undefined) return false;
    const seen = this.secretsSeen.get(pass.key);
    if (seen?.uid === pass.identity.uid && pass.now - seen.atMs < credentialCheckIntervalMs) return false;
    try {
      await this.kube.delete('Secret', { namespace: pass.identity.namespace, name: jobCredentialSecretName(pass.identity.name) }, { uid: pass.identity.uid });
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_KUBE_NOT_FOUND')) return true;
      if (!isStreamkeeperError(err, 'SK_KUBE_CONFLICT')) throw err;
      this.secretsSeen.set(pass.key, { uid: pass.identity.uid, atMs: pass.now });
      return false;
    }
    return true; // deleted: only a Secret carrying the job's own uid could be, which none does
  }

  /**
   * Stores a new credential in the job's Secret. The operator may create and delete Secrets,
   * never read them: one left from an interrupted earlier attempt is replaced.
   */
  private async issueCredential(pass: ReconcilePass, credential: Parameters<CredentialIssuer>[0]): Promise<void> {
    const name = jobCredentialSecretName(pass.identity.name);
    const secret = credentialSecret(pass.identity, credential);
    try {
      await this.kube.create('Secret', secret);
    } catch (err) {
      if (!isStreamkeeperError(err, 'SK_KUBE_ALREADY_EXISTS')) throw err;
      await ignoreNotFound(this.kube.delete('Secret', { namespace: pass.identity.namespace, name }));
      await this.kube.create('Secret', secret);
    }
    this.logger.info({ job: pass.key, secret: name }, 'issued the job\'s ZooKeeper credential');
  }

  private async ensureDriverService(pass: ReconcilePass): Promise<void> {
    const desired = desiredDriverService(pass.identity);
    const name = desired.metadata?.name ?? '';
    const observed = this.cache.driverService(pass.identity);
    try {
      if (observed === undefined) {
        await this.createExpected('Service', pass.identity.namespace, name, () => this.kube.create('Service', desired));
        return;
      }
      if (!(observed.metadata.ownerReferences ?? []).some((ref) => ref.controller === true && ref.uid === pass.identity.uid)) {
        pass.fail(new Error(`Service ${name} exists and is not the job's own; delete it so the operator can create the driver's Service`), 'driver Service');
        return;
      }
      const change = serviceChange(observed, desired);
      if (change.kind === 'patch') await this.kube.patch('Service', { namespace: pass.identity.namespace, name }, change.patch);
      else if (change.kind === 'recreate') await this.kube.delete('Service', { namespace: pass.identity.namespace, name }, { uid: observed.metadata.uid });
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_KUBE_ALREADY_EXISTS')) return;
      pass.fail(err, `driver Service ${name}`);
    }
  }

  private async reconcilePods(pass: ReconcilePass, spec: DefaultedStreamingJobSpec): Promise<void> {
    const hashes = this.specView(pass).hashes;
    if (pass.coordination.state !== 'synced' || hashes === undefined) return;
    // Of two driver pods, the one holding the `driver` node is the driver, the other its standby.
    const progress = pass.coordination.progress;
    pass.pods = sortJobPods(pass.identity.name, allPods(pass.pods), progress.driverRegistered ? progress.driverPod : undefined);
    const planInput: PodPlanInput = {
      job: pass.identity.name,
      suspended: spec.suspend,
      replicas: spec.executors.replicas,
      driverHash: hashes.driver,
      executorHash: hashes.executor,
      pods: pass.pods,
      registrations: currentRegistrations(pass.coordination.progress.executors, pass.pods),
      credential: pass.credential,
      unresponsive: this.unresponsive(pass, spec),
      standby: spec.driver.standby,
      driverRegistered: progress.driverRegistered && progress.driverPod === pass.pods.driver?.name,
    };
    pass.plan = planPods(planInput);
    const policy: TaskPolicy = { maxTaskAttempts: spec.executors.maxTaskAttempts };
    const creates: Extract<PodAction, { kind: 'create' }>[] = [];
    for (const action of pass.plan.actions) {
      if (action.kind === 'create') creates.push(action);
      else await this.stopPod(pass, action, policy);
    }
    const created = await this.createPods(pass, spec, creates, hashes);
    if (created.length > 0 && created.length === creates.length) {
      // The status describes the job after this pass: the pods just created now exist (pending).
      pass.pods = sortJobPods(pass.identity.name, [...allPods(pass.pods), ...created.map((pod) => observePod(pod))], progress.driverRegistered ? progress.driverPod : undefined);
      pass.plan = { ...planPods({ ...planInput, pods: pass.pods }), actions: pass.plan.actions };
    }
  }

  /** Pods whose registration has been missing for longer than a re-registration takes. */
  private unresponsive(pass: ReconcilePass, spec: DefaultedStreamingJobSpec): ReadonlySet<string> {
    if (pass.coordination.state !== 'synced') return new Set();
    const key = `${pass.identity.namespace}/${pass.identity.name}`;
    const base = {
      pods: pass.pods,
      registrations: currentRegistrations(pass.coordination.progress.executors, pass.pods),
      driverRegistered: pass.coordination.progress.driverRegistered,
      standbyRegistered: standbyRegistered(pass.pods.standby, pass.coordination.progress),
      replicas: spec.executors.replicas,
      now: pass.now,
      startupGraceMs,
    };
    // Remembered in memory only: after an operator restart the start-up grace covers them again.
    const uids = new Set(allPods(pass.pods).map((pod) => pod.uid));
    const registeredBefore = new Set([...(this.registeredOnce.get(key) ?? [])].filter((uid) => uids.has(uid)));
    const startedAt = pass.coordination.progress.driverStartedAt === undefined ? undefined : Date.parse(pass.coordination.progress.driverStartedAt);
    for (const uid of registeredPods(base, startedAt === undefined || Number.isNaN(startedAt) ? undefined : startedAt)) registeredBefore.add(uid);
    if (registeredBefore.size === 0) this.registeredOnce.delete(key);
    else this.registeredOnce.set(key, registeredBefore);
    const facts = { ...base, registeredBefore };
    const before = this.registrationMissing.get(key);
    const missingSince = new Map([...podsWithoutRegistration(facts)].map((uid) => [uid, before?.get(uid) ?? pass.now]));
    if (missingSince.size === 0) this.registrationMissing.delete(key);
    else this.registrationMissing.set(key, missingSince);
    const judged = { ...facts, missingSince, lossGraceMs: registrationLossGraceMs };
    pass.unresponsiveDueInMs = nextJudgementInMs(judged);
    return unresponsivePods(judged);
  }

  private async stopPod(pass: ReconcilePass, action: Exclude<PodAction, { kind: 'create' }>, policy: TaskPolicy): Promise<void> {
    try {
      switch (action.kind) {
        case 'retire':
          if (action.component === 'executor') {
            // The failure detector's pod signal: move its tasks before the name is reused.
            await this.coordination.executorGone(pass.identity, action.name, policy);
            pass.actionEvents.push(
              action.reason === 'terminated'
                ? { type: 'Warning', reason: 'ExecutorFailed', action: 'Reschedule', note: `executor pod ${action.name} terminated${exitText(action.exit)}; its tasks move to live executors and the pod is replaced` }
                : action.reason === 'unresponsive'
                ? { type: 'Warning', reason: 'ExecutorUnresponsive', action: 'Reschedule', note: `executor pod ${action.name} runs but its process lost its ZooKeeper registration (hung or cut off from ZooKeeper); its tasks move to live executors and the pod is replaced` }
                : { type: 'Normal', reason: 'DeletedPod', action: 'DeletePod', note: `deleted executor pod ${action.name} (${describeReason(action.reason)}); its tasks move to live executors and the pod is replaced` },
            );
          } else if (action.standby === true) {
            // It held no node and no batch: nothing to fence or count; the next pass recreates it.
            pass.actionEvents.push({ type: 'Warning', reason: 'StandbyDriverFailed', action: 'RecreateStandby', note: `standby driver pod ${action.name} ${action.reason === 'terminated' ? `terminated${exitText(action.exit)}` : `is replaced (${describeReason(action.reason)})`}; a new standby is created` });
          } else if (action.reason === 'unresponsive') {
            // Its registration is gone already; the replacement waits for the pod to go, and
            // finishes the recorded batch.
            pass.actionEvents.push({ type: 'Warning', reason: 'DriverUnresponsive', action: 'RecreateDriver', note: `driver pod ${action.name} runs but its process lost its ZooKeeper registration (hung or cut off from ZooKeeper); it is replaced` });
          } else if (action.reason === 'terminated') {
            await this.coordination.driverGone(pass.identity, action.name);
            pass.actionEvents.push({ type: 'Warning', reason: 'DriverFailed', action: 'RecreateDriver', note: `driver pod ${action.name} terminated${exitText(action.exit)}; ${pass.spec?.driver.standby === true ? 'its standby takes over and finishes the recorded batch, and a new standby is created' : 'it is replaced and finishes the recorded batch'}` });
            // The failed pod is the evidence of the restart: it goes once the stored status counts it.
            if (!pass.driverRestarts().failureRecorded) {
              pass.afterStatus.push({ doing: `pod ${action.name}`, run: () => this.deletePod(pass, action.name, action.uid, 'driver', 'terminated') });
              return;
            }
          } else {
            pass.actionEvents.push({ type: 'Normal', reason: 'DeletedPod', action: 'DeletePod', note: `deleted driver pod ${action.name} (${describeReason(action.reason)}); it is replaced and finishes the recorded batch` });
          }
          await this.deletePod(pass, action.name, action.uid, action.component, action.reason);
          return;
        case 'delete':
          await this.deletePod(pass, action.name, action.uid, action.component, action.reason);
          pass.actionEvents.push({ type: 'Normal', reason: 'DeletedPod', action: 'DeletePod', note: `deleted pod ${action.name} (${describeReason(action.reason)})` });
          return;
        case 'drain-then-delete': {
          const drain = await this.coordination.drain(pass.identity, action.name, policy);
          if (action.wasActive) {
            drainRequestsTotal.inc();
            pass.actionEvents.push({ type: 'Normal', reason: 'DrainingExecutor', action: 'Drain', note: `asked executor ${action.name} to hand back its tasks before it stops (${describeReason(action.reason)})` });
          }
          if (!drain.drained) {
            pass.draining += 1;
            return;
          }
          await this.deletePod(pass, action.name, action.uid, 'executor', action.reason);
          pass.actionEvents.push({ type: 'Normal', reason: 'DeletedPod', action: 'DeletePod', note: `deleted drained executor pod ${action.name} (${describeReason(action.reason)})` });
          return;
        }
      }
    } catch (err) {
      pass.fail(err, `pod ${action.name}`);
    }
  }

  /**
   * Deletes one incarnation of a pod: gone already, or replaced meanwhile, is fine. A hung pod gets
   * a short grace period: its process cannot act on SIGTERM, and its work is fenced already (its
   * session is gone), so the pod's usual grace would only hold its replacement back.
   */
  private async deletePod(pass: ReconcilePass, name: string, uid: string, component: 'driver' | 'executor' | undefined, reason: DeleteReason): Promise<void> {
    try {
      await this.kube.delete('Pod', { namespace: pass.identity.namespace, name }, reason === 'unresponsive' ? { uid, gracePeriodSeconds: unresponsivePodGraceSeconds } : { uid });
      podsDeletedTotal.inc({ component: component ?? 'executor', reason });
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_KUBE_NOT_FOUND') || isStreamkeeperError(err, 'SK_KUBE_CONFLICT')) return;
      throw err;
    }
  }

  /** Creates the pods; returns those created (a name still taken is left for a later pass). */
  private async createPods(pass: ReconcilePass, spec: DefaultedStreamingJobSpec, creates: readonly Extract<PodAction, { kind: 'create' }>[], hashes: Record<'driver' | 'executor', string>): Promise<Stored<Pod>[]> {
    if (creates.length === 0) return [];
    const templates = { driver: this.template(pass, spec, 'driver'), executor: this.template(pass, spec, 'executor') };
    const driverRestarts = pass.driverRestarts().restarts;
    const created: Stored<Pod>[] = [];
    await Promise.all(
      creates.map(async (action) => {
        const stamps = { credential: pass.credential, ...(action.component === 'driver' ? { driverRestarts } : {}) };
        const pod = podFromTemplate(pass.identity, templates[action.component], hashes[action.component], action.name, stamps);
        try {
          created.push(await this.createExpected('Pod', pass.identity.namespace, action.name, () => this.kube.create('Pod', pod)));
          podsCreatedTotal.inc({ component: action.component });
        } catch (err) {
          // Still there from before (the cache lags, or the old pod is still terminating).
          if (isStreamkeeperError(err, 'SK_KUBE_ALREADY_EXISTS')) return;
          pass.fail(err, `create pod ${action.name}`);
        }
      }),
    );
    if (created.length > 0) {
      const names = created.map((pod) => pod.metadata.name).sort();
      pass.actionEvents.push({ type: 'Normal', reason: 'CreatedPods', action: 'CreatePod', note: `created pod${names.length === 1 ? '' : 's'} ${someOf(names, 10)}` });
    }
    return created;
  }

  /** Creates an object whose ADDED event the pass needs no reminder of. */
  private async createExpected<T>(kind: string, namespace: string, name: string, create: () => Promise<T>): Promise<T> {
    this.expectations?.expect(kind, namespace, name);
    try {
      return await create();
    } catch (err) {
      this.expectations?.cancel(kind, namespace, name);
      throw err;
    }
  }

  private async rescheduleTasks(pass: ReconcilePass, spec: DefaultedStreamingJobSpec): Promise<void> {
    if (pass.coordination.state !== 'synced') return;
    try {
      const reschedule = await this.coordination.rescheduleTasks(pass.identity, { maxTaskAttempts: spec.executors.maxTaskAttempts });
      pass.coordination = { ...pass.coordination, reschedule };
    } catch (err) {
      pass.fail(err, 'rescheduling tasks');
    }
  }

  /**
   * The last step: the status once (only if it changed; a stale write is a 409 and the pass is
   * retried), then the Events, then the time of the next pass.
   */
  private async recordStatus(pass: ReconcilePass): Promise<ReconcileResult> {
    const previous = pass.previousStatus;
    const status = computeStatus(pass.statusInput());
    // What the pass did is reported whatever happens to the status write.
    const errorEvents: JobEvent[] = pass.errors.map((error) => ({ type: 'Warning', reason: 'ReconcileError', action: 'Reconcile', note: error.message }));
    const actionEvents = this.sendEvents(pass, [...pass.actionEvents, ...errorEvents]);
    if (statusChanged(previous, status)) {
      try {
        pass.job = await this.kube.updateStatus('StreamingJob', { ...pass.job, status });
        statusWritesTotal.inc({ result: 'written' });
      } catch (err) {
        if (isStreamkeeperError(err, 'SK_KUBE_CONFLICT')) statusWritesTotal.inc({ result: 'conflict' });
        await actionEvents;
        throw err;
      }
    } else {
      statusWritesTotal.inc({ result: 'unchanged' });
    }
    for (const action of pass.afterStatus) {
      try {
        await action.run();
      } catch (err) {
        // The status already says why; the next pass finds the pod and finishes this.
        this.logger.warn({ job: pass.key, err: errorView(err).message }, `${action.doing}: deferred action failed`);
        pass.fail(err, action.doing);
      }
    }
    await Promise.all([actionEvents, this.sendEvents(pass, transitionEvents(previous, status))]);
    this.phases.set(pass.key, status.phase ?? 'Pending');
    if (pass.retryable !== undefined) throw pass.retryable;
    const requeueAfter = requeueAfterMs({
      invalidSpec: pass.findings.length > 0 || (pass.coordination.state === 'failed' && pass.coordination.error.kind === 'invalid-spec'),
      phase: status.phase ?? 'Pending',
      progressing: activeRollouts.has(pass.plan?.rollout.reason ?? ''),
      draining: pass.draining,
      awaitingProgress: status.lastCommittedBatch === undefined || status.totalLag === undefined,
      unresponsiveDueInMs: pass.unresponsiveDueInMs,
      coordinationUnavailable: pass.coordination.state === 'failed' && pass.coordination.error.kind === 'transient',
    }, this.progressRefreshMs);
    return requeueAfter === undefined ? {} : { requeueAfterMs: requeueAfter };
  }

  private async sendEvents(pass: ReconcilePass, events: readonly JobEvent[]): Promise<void> {
    await Promise.all(events.map((event) => this.events.record(pass.regarding, event)));
  }

  // ------------------------------------------------------------------ deletion ----

  /**
   * A deleted job keeps its finalizer until its ZooKeeper subtree is gone; its pods, Service and
   * Secret are then removed by the garbage collector through their owner references.
   */
  private async finalize(job: Stored<CustomObject>, logger: Logger): Promise<ReconcileResult> {
    const key = `${job.metadata.namespace ?? ''}/${job.metadata.name}`;
    const finalizers = job.metadata.finalizers ?? [];
    if (finalizers.includes(finalizer)) {
      const identity = { namespace: job.metadata.namespace ?? '', name: job.metadata.name, uid: job.metadata.uid };
      await this.coordination.deleteJob(identity);
      this.coordination.forgetJob(identity);
      await this.kube.patch('StreamingJob', refOf(job), { metadata: { finalizers: finalizers.filter((f) => f !== finalizer) } }, { resourceVersion: job.metadata.resourceVersion });
      logger.info({ job: key }, 'job deleted: ZooKeeper data removed, finalizer released');
    }
    this.phases.forget(key);
    this.specs.delete(key);
    this.secretsSeen.delete(key);
    return {};
  }
}

function refOf(job: Stored<CustomObject>): { namespace: string; name: string } {
  return { namespace: job.metadata.namespace ?? '', name: job.metadata.name };
}

/** Whether `standby` holds the `standby` node, made by this incarnation of the pod (not one left by an earlier one). */
function standbyRegistered(standby: ObservedPod | undefined, progress: JobProgress): boolean {
  if (standby === undefined || progress.standbyPod !== standby.name) return false;
  const startedAt = progress.standbyStartedAt === undefined ? Number.NaN : Date.parse(progress.standbyStartedAt);
  return Number.isNaN(startedAt) || startedAt >= standby.createdAtMs - registrationSkewMs;
}

function exitText(exit: string | undefined): string {
  return exit === undefined ? '' : ` (${exit})`;
}

function describeReason(reason: DeleteReason): string {
  switch (reason) {
    case 'terminated':
      return 'it terminated';
    case 'revoked-credential':
      return 'it holds a revoked ZooKeeper credential';
    case 'unresponsive':
      return 'its process lost its ZooKeeper registration while the pod runs: hung or cut off';
    case 'suspend':
      return 'the job is suspended';
    case 'scale-down':
      return 'scale-down';
    case 'rolling-update':
      return 'rolling update to the new pod template';
    case 'replace-draining':
      return 'it was draining and is replaced';
    case 'stray':
      return 'not a pod of the job\'s current layout';
  }
}
