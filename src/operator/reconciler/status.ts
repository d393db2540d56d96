/**
 * The job's status, computed by one pure function from what a pass observed: the spec (or why it
 * is invalid), the pods, what ZooKeeper reports and what the pass did. Phase and conditions are
 * chosen to read the same in `kubectl get`, `kubectl wait`, kstatus (Flux) and the Argo CD health
 * check (charts/streamkeeper/health/streamingjob.lua):
 * - Ready=True only when the job is in full what its spec asks: the driver and every desired
 *   executor up and its data moving (data-flow.ts), or (suspended) every pod stopped. `kubectl wait --for=condition=Ready` returns
 *   then, and kstatus reads it as Current.
 * - Reconciling=True (kstatus' name for Progressing=True) while the operator moves the job towards
 *   its spec: kstatus reads InProgress.
 * - Stalled=True for an invalid spec, a failed batch, or data that only the user can get moving
 *   again: kstatus reads Failed.
 */
import { conditionTypes, effectiveAggregation, executorsSummary, type DefaultedStreamingJobSpec, type JobPhase, type SpecFinding, type StreamingJobStatus } from '../../api/v1alpha1/index.js';
import type { ErrorKind } from '../../errors/index.js';
import type { AggregationState, ExecutorRegistrationState, JobProgress, RescheduleSummary } from '../job-coordination.js';
import { mergeConditions, someOf, truncate, type ConditionDecision } from './conditions.js';
import { dataFlowProblem, type DataFlowProblem } from './data-flow.js';
import { executorSelector } from './naming.js';
import { allPods, currentRegistrations, type JobPods, type ObservedPod } from './observed-pods.js';
import { executorReady, type PodPlan } from './pod-plan.js';
import { describeStuckPod, firstStuck, podStuckNeedsUser, podStuckReason } from './stuck-pods.js';

/**
 * kstatus' "abnormal-true" condition: present (True) only while the job cannot make progress
 * without a change from the user — an invalid spec or a failed batch — absent otherwise.
 */
export const stalledCondition = 'Stalled';

/**
 * kstatus' other "abnormal-true" condition: present (True) exactly while `Progressing` is True, so
 * Flux's `wait` and `healthChecks` see a rollout, a scale-up or a drain as InProgress.
 */
export const reconcilingCondition = 'Reconciling';

/** Condition types this operator writes (others on the object are left alone). */
export const ownedConditionTypes: readonly string[] = [...Object.values(conditionTypes), stalledCondition, reconcilingCondition];

/** How long a new pod may take to become ready before its absence counts against the job. */
export const startupGraceMs = 120_000;

export const maxStatusMessage = 1024;

/** An error as the status and Events show it. */
export interface ErrorView {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly message: string;
}

/** What the pass learned from ZooKeeper. */
export type CoordinationView =
  /** Not asked: the spec is invalid, so ZooKeeper keeps the last valid configuration. */
  | { readonly state: 'skipped' }
  | { readonly state: 'failed'; readonly error: ErrorView }
  | { readonly state: 'synced'; readonly configHash: string; readonly progress: JobProgress; readonly reschedule: RescheduleSummary | undefined };

export interface StatusInput {
  readonly jobName: string;
  readonly generation: number;
  readonly previous: StreamingJobStatus | undefined;
  readonly now: number;
  /** Why the spec is invalid; empty when it is valid. */
  readonly findings: readonly SpecFinding[];
  /** The defaulted spec, when valid. */
  readonly spec: DefaultedStreamingJobSpec | undefined;
  readonly pods: JobPods;
  readonly plan: PodPlan | undefined;
  readonly coordination: CoordinationView;
  /** `status.restarts` after this pass, from `driverRestarts()` (driver-restarts.ts). */
  readonly restarts: number;
  /** Errors from this pass's actions (pod create or delete, drains). */
  readonly errors: readonly ErrorView[];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** `spec.x: message`, and how many more there are. */
export function describeFindings(findings: readonly SpecFinding[]): string {
  const [first, ...rest] = findings;
  if (first === undefined) return '';
  const head = `${first.field === '' ? '' : `${first.field}: `}${first.message}`;
  return rest.length === 0 ? head : `${head} (and ${plural(rest.length, 'more problem')})`;
}

interface Counts {
  readonly desired: number;
  readonly ready: number;
  readonly draining: number;
  /**
   * Desired executors not ready yet — the pod not Ready, or Ready but not registered in ZooKeeper
   * yet — that were created within the start-up grace.
   */
  readonly starting: number;
}

/** Created within the start-up grace and neither ended nor leaving: whatever it lacks, it may still get. */
function withinStartup(pod: ObservedPod, now: number): boolean {
  return pod.lifecycle !== 'terminated' && !pod.terminating && now - pod.createdAtMs < startupGraceMs;
}

function countExecutors(input: StatusInput, registrations: ReadonlyMap<string, ExecutorRegistrationState> | undefined): Counts {
  const desired =
    input.spec === undefined ? (input.previous?.executors?.desired ?? input.pods.executors.size) : input.spec.suspend ? 0 : input.spec.executors.replicas;
  // Only executors of the desired set count: during a scale-down or a suspend the ones being
  // drained are on their way out, and "4/0" is no count a user can act on.
  const ready = [...input.pods.executors].filter(([ordinal, pod]) => ordinal < desired && executorReady(pod, registrations)).length;
  const draining = registrations === undefined ? 0 : [...registrations.values()].filter((state) => state === 'draining').length;
  const starting = [...input.pods.executors]
    .filter(([ordinal, pod]) => ordinal < desired && !executorReady(pod, registrations) && withinStartup(pod, input.now))
    .length;
  return { desired, ready, draining, starting };
}

interface Health {
  readonly phase: JobPhase;
  readonly ready: ConditionDecision;
  /** Set when the job's data does not move although its pods may be up. */
  readonly flow?: DataFlowProblem;
  /** Set when the Ready reason is a pod that cannot run and only the user can change that. */
  readonly podNeedsUser?: boolean;
}

function failedBatchesOf(coordination: CoordinationView): string[] {
  if (coordination.state !== 'synced') return [];
  return [...new Set([...coordination.progress.failedBatches, ...(coordination.reschedule?.failedBatches ?? [])])].sort();
}

/** Failed batches for a message: a job may fail thousands under `degrade`; a few are named. */
export function describeFailedBatches(ids: readonly string[]): string {
  return ids.length === 1 ? `batch ${ids[0] ?? ''}` : `${ids.length} batches (${someOf(ids)})`;
}

function decideHealth(input: StatusInput, counts: Counts): Health {
  const ready = (status: 'True' | 'False' | 'Unknown', reason: string, message: string): ConditionDecision => ({ type: conditionTypes.ready, status, reason, message });
  const previousPhase = input.previous?.phase;
  if (input.findings.length > 0) {
    const kept = allPods(input.pods).length > 0 ? '; the pods of the last valid spec keep running unchanged' : '';
    return { phase: 'Failed', ready: ready('False', 'InvalidSpec', `the spec is invalid: ${describeFindings(input.findings)}${kept}`) };
  }
  const spec = input.spec;
  const coordination = input.coordination;
  if (spec === undefined) return { phase: previousPhase ?? 'Pending', ready: ready('Unknown', 'Unknown', 'the spec has not been read') };
  if (coordination.state === 'failed' && coordination.error.kind === 'invalid-spec') {
    return { phase: 'Failed', ready: ready('False', 'InvalidSpec', `the spec cannot be applied: ${coordination.error.message}`) };
  }
  if (spec.suspend) {
    // A suspended job with no pod left is what the user asked for: Ready, so `kubectl wait` and
    // Flux's wait end (kstatus has no "suspended"); until then it is still being suspended.
    const left = allPods(input.pods).length;
    if (left > 0) return { phase: 'Suspended', ready: ready('False', 'Suspending', `suspending: ${plural(left, 'pod')} still to stop`) };
    return { phase: 'Suspended', ready: ready('True', 'Suspended', 'the job is suspended (spec.suspend) and no pod runs; resuming continues from the committed offsets') };
  }
  if (coordination.state !== 'synced') {
    const message = coordination.state === 'failed' ? coordination.error.message : 'ZooKeeper was not read';
    return { phase: previousPhase === 'Suspended' || previousPhase === undefined ? 'Pending' : previousPhase, ready: ready('Unknown', 'CoordinationUnavailable', `cannot read the job's state in ZooKeeper: ${message}`) };
  }
  const failedBatches = failedBatchesOf(coordination);
  if (failedBatches.length > 0 && spec.failurePolicy.onTaskExhausted === 'fail') {
    const blocked = coordination.progress.blocked;
    const cause = blocked === undefined ? '' : `; cause (${blocked.reason}): ${blocked.message}`;
    return {
      phase: 'Failed',
      ready: ready('False', 'BatchFailed', `${describeFailedBatches(failedBatches)} exhausted ${failedBatches.length === 1 ? 'its' : 'their'} task attempts (failurePolicy.onTaskExhausted: fail); processing stopped${cause}`),
    };
  }

  const driver = input.pods.driver;
  const driverUp = driver !== undefined && driver.ready && !driver.terminating && driver.lifecycle === 'running' && coordination.progress.driverRegistered;
  const driverStarting = driver !== undefined && withinStartup(driver, input.now);
  const everRan = input.previous?.lastCommittedBatch !== undefined || coordination.progress.lastCommittedBatch !== undefined || previousPhase === 'Running' || previousPhase === 'Degraded';
  const summary = `${counts.ready}/${counts.desired} executors ready`;
  const executorPods = [...input.pods.executors].filter(([ordinal]) => ordinal < counts.desired).map(([, pod]) => pod);
  if (!driverUp && driver !== undefined) {
    const stuck = firstStuck([driver]);
    if (stuck !== undefined) {
      const reason = podStuckReason(stuck.stuck);
      return { phase: everRan ? 'Degraded' : 'Pending', ready: ready('False', reason, `${describeStuckPod(stuck)}; ${summary}`), podNeedsUser: podStuckNeedsUser(reason) };
    }
  }
  if (driverUp && counts.desired > 0 && counts.ready === 0) {
    const stuck = firstStuck(executorPods);
    if (stuck !== undefined) {
      const reason = podStuckReason(stuck.stuck);
      return { phase: everRan ? 'Degraded' : 'Pending', ready: ready('False', reason, `${describeStuckPod(stuck)}; ${summary}`), podNeedsUser: podStuckNeedsUser(reason) };
    }
  }
  if (!driverUp) {
    const why = driver === undefined ? 'the driver pod does not exist yet' : !driver.ready ? `the driver pod ${driver.name} is not ready` : `the driver ${driver.name} has not registered in ZooKeeper`;
    const phase = everRan && !driverStarting ? 'Degraded' : 'Pending';
    return { phase, ready: ready('False', 'DriverNotReady', `${why}; ${summary}`) };
  }
  if (counts.desired === 0) {
    // What the user asked for, as a Deployment scaled to zero is: Ready, so that kstatus, Flux
    // and `kubectl wait` do not wait for executors nobody wants. Nothing is processed meanwhile.
    return { phase: 'Running', ready: ready('True', 'NoExecutors', 'spec.executors.replicas is 0: the driver runs and batches wait for executors') };
  }
  if (counts.ready === 0) {
    const phase = everRan && counts.starting === 0 ? 'Degraded' : 'Pending';
    return { phase, ready: ready('False', 'NoExecutorsReady', `the driver is ready but no executor is; ${summary}`) };
  }
  const flow = dataFlowProblem(spec, coordination.progress, input.now);
  if (flow !== undefined) return { phase: 'Degraded', ready: ready('False', flow.reason, `${flow.message}; ${summary}`), flow };
  const skipped = failedBatches.length === 0 ? '' : `; ${describeFailedBatches(failedBatches)} failed and ${failedBatches.length === 1 ? 'was' : 'were'} skipped (failurePolicy.onTaskExhausted: degrade)`;
  const notReady = counts.desired - counts.ready;
  if (notReady > 0) {
    // Ready waits for every desired executor, as `kubectl wait --for=condition=Ready` users
    // expect. Executors still starting, or the one a rolling update replaces, are expected: the
    // phase stays Running; any other shortage is Degraded.
    const rolling = input.plan?.rollout.reason === 'RollingUpdate' ? 1 : 0;
    const expected = notReady <= counts.starting + rolling;
    if (expected) return { phase: failedBatches.length > 0 ? 'Degraded' : 'Running', ready: ready('False', 'ExecutorsStarting', `processing while executors start: ${summary}${skipped}`) };
    const stuck = firstStuck(executorPods);
    return { phase: 'Degraded', ready: ready('False', 'ExecutorsUnavailable', `processing with fewer executors than desired: ${summary}${stuck === undefined ? '' : `; ${describeStuckPod(stuck)}`}${skipped}`) };
  }
  if (failedBatches.length > 0) return { phase: 'Degraded', ready: ready('True', 'Running', `processing continues${skipped}; ${summary}${standbyNote(spec, input.pods)}`) };
  // A missing standby costs no data flow, only the speed of the next failover: Ready stays True.
  if (spec.driver.standby && !standbyUp(input.pods)) return { phase: 'Running', ready: ready('True', 'Running', `the driver and ${summary}${standbyNote(spec, input.pods)}`) };
  return { phase: 'Running', ready: ready('True', 'Running', `the driver${spec.driver.standby ? ', its standby' : ''} and ${summary}`) };
}

function standbyUp(pods: JobPods): boolean {
  const standby = pods.standby;
  return standby !== undefined && standby.ready && !standby.terminating && standby.lifecycle === 'running';
}

/** What a missing standby driver means for the user: the next driver failover waits for a new pod. */
function standbyNote(spec: DefaultedStreamingJobSpec, pods: JobPods): string {
  if (!spec.driver.standby || standbyUp(pods)) return '';
  return `; the standby driver ${pods.standby === undefined ? 'pod does not exist yet' : `${pods.standby.name} is not ready`} (until it is, a driver failure waits for a new pod)`;
}

function progressingCondition(input: StatusInput, health: Health): ConditionDecision {
  const progressing = (status: 'True' | 'False', reason: string, message: string): ConditionDecision => ({ type: conditionTypes.progressing, status, reason, message });
  if (health.ready.reason === 'InvalidSpec') return progressing('False', 'InvalidSpec', 'nothing changes until the spec is fixed');
  if (health.ready.reason === 'BatchFailed') return progressing('False', 'BatchFailed', health.ready.message);
  if (health.flow !== undefined) return progressing('False', health.flow.reason, health.flow.message);
  const rollout = input.plan?.rollout;
  const reschedule = input.coordination.state === 'synced' ? input.coordination.reschedule : undefined;
  if (rollout !== undefined && rollout.reason !== 'UpToDate' && rollout.reason !== 'Suspended') return progressing('True', rollout.reason, rollout.message);
  if (reschedule !== undefined && reschedule.moved + reschedule.waiting > 0) {
    return progressing('True', 'ReschedulingTasks', `moving tasks to live executors (off dead or draining ones, or retrying failed ones): ${reschedule.moved} moved, ${reschedule.waiting} waiting for a live executor`);
  }
  if (input.coordination.state === 'failed') return progressing('True', 'WaitingForCoordination', health.ready.message);
  if (rollout?.reason === 'Suspended') return progressing('False', 'Suspended', rollout.message);
  return progressing('False', 'UpToDate', rollout?.message ?? 'the job matches its spec');
}

function configSyncedCondition(input: StatusInput): ConditionDecision {
  const synced = (status: 'True' | 'False' | 'Unknown', reason: string, message: string): ConditionDecision => ({ type: conditionTypes.configSynced, status, reason, message });
  const coordination = input.coordination;
  switch (coordination.state) {
    case 'skipped':
      return synced('False', 'InvalidSpec', 'the spec is invalid; ZooKeeper keeps the configuration of the last valid spec');
    case 'failed':
      if (coordination.error.code === 'SK_CONFIG_TOO_LARGE') return synced('False', 'ConfigTooLarge', coordination.error.message);
      if (coordination.error.kind === 'invalid-spec') return synced('False', 'InvalidConfig', coordination.error.message);
      return synced('Unknown', 'CoordinationUnavailable', `could not write the configuration to ZooKeeper: ${coordination.error.message}`);
    case 'synced':
      return synced('True', 'Synced', `ZooKeeper holds the configuration of generation ${input.generation} (${coordination.configHash.slice(0, 19)})`);
  }
}

function executorsAvailableCondition(input: StatusInput, counts: Counts): ConditionDecision {
  const available = (status: 'True' | 'False' | 'Unknown', reason: string, message: string): ConditionDecision => ({ type: conditionTypes.executorsAvailable, status, reason, message });
  const summary = `${counts.ready}/${counts.desired} executors ready`;
  if (input.coordination.state === 'failed') return available('Unknown', 'CoordinationUnavailable', 'executor registrations cannot be read from ZooKeeper');
  if (counts.ready > 0) return available('True', 'ExecutorsReady', input.coordination.state === 'synced' ? `${summary} (registered in ZooKeeper)` : `${summary} (pods ready)`);
  if (input.spec === undefined) return available('False', 'InvalidSpec', 'no executor runs, and none is started while the spec is invalid');
  if (input.spec.suspend) return available('False', 'Suspended', 'the job is suspended');
  if (counts.desired === 0) return available('False', 'NoExecutorsDesired', 'spec.executors.replicas is 0');
  return available('False', 'NoExecutorsReady', summary);
}

/** kstatus' Reconciling: the Progressing condition, present only while True. */
function reconciling(progressing: ConditionDecision): ConditionDecision | undefined {
  if (progressing.status !== 'True') return undefined;
  return { type: reconcilingCondition, status: 'True', reason: progressing.reason, message: progressing.message };
}

function stalled(health: Health): ConditionDecision | undefined {
  const byUser = health.ready.reason === 'InvalidSpec' || health.ready.reason === 'BatchFailed' || health.flow?.needsUser === true || health.podNeedsUser === true;
  if (!byUser) return undefined;
  return { type: stalledCondition, status: 'True', reason: health.ready.reason, message: health.ready.message };
}

export function computeStatus(input: StatusInput): StreamingJobStatus {
  const registrations = input.coordination.state === 'synced' ? currentRegistrations(input.coordination.progress.executors, input.pods) : undefined;
  const counts = countExecutors(input, registrations);
  const health = decideHealth(input, counts);
  const progressing = progressingCondition(input, health);
  const abnormal = [reconciling(progressing), stalled(health)].filter((decision): decision is ConditionDecision => decision !== undefined);
  const decided = [health.ready, progressing, configSyncedCondition(input), executorsAvailableCondition(input, counts), ...abnormal];
  const conditions = mergeConditions(input.previous?.conditions, decided, { generation: input.generation, now: input.now, owned: ownedConditionTypes });

  const previous = input.previous;
  const progress = input.coordination.state === 'synced' ? input.coordination.progress : undefined;
  const lastCommittedBatch = progress?.lastCommittedBatch ?? previous?.lastCommittedBatch;
  const totalLag = progress?.totalLag ?? previous?.totalLag;
  const watermark = progress?.watermark ?? previous?.watermark;
  const state = stateStatus(input.spec, progress?.state, previous?.state);
  const configHash = input.coordination.state === 'synced' ? input.coordination.configHash : previous?.configHash;
  const restarts = input.restarts;
  const errors = input.errors.length === 0 ? '' : `; ${input.errors.map((e) => e.message).join('; ')}`;
  const headline = health.ready.status === 'True' && progressing.status === 'True' ? progressing.message : health.ready.message;

  return {
    phase: health.phase,
    observedGeneration: input.generation,
    conditions,
    replicas: counts.ready,
    selector: executorSelector(input.jobName),
    executors: { desired: counts.desired, ready: counts.ready, draining: counts.draining, summary: executorsSummary(counts.ready, counts.desired) },
    ...(lastCommittedBatch === undefined ? {} : { lastCommittedBatch: { ...lastCommittedBatch } }),
    ...(totalLag === undefined ? {} : { totalLag }),
    ...(watermark === undefined ? {} : { watermark }),
    ...(state === undefined ? {} : { state }),
    ...(configHash === undefined ? {} : { configHash }),
    ...(restarts === 0 ? {} : { restarts }),
    message: truncate(`${headline}${errors}`, maxStatusMessage),
  };
}

/**
 * status.state of a stateful job: its state partitions from the spec (declared, or the builtin
 * wordcount's implied ones), with the sizes and last restore the driver reported — or, while
 * ZooKeeper is away, the last known ones.
 */
function stateStatus(spec: DefaultedStreamingJobSpec | undefined, reported: AggregationState | undefined, previous: StreamingJobStatus['state']): StreamingJobStatus['state'] {
  // An invalid spec says nothing about the state: keep what the status showed.
  const partitions = spec === undefined ? previous?.partitions : effectiveAggregation(spec)?.statePartitions;
  if (partitions === undefined) return undefined;
  if (reported === undefined) {
    const { partitions: _previous, ...known } = previous ?? {};
    return { partitions, ...known };
  }
  return { partitions, keys: reported.keys, bytes: reported.bytes, ...(reported.lastRestore === undefined ? {} : { lastRestore: { ...reported.lastRestore } }) };
}

/** Whether two statuses differ in anything but condition timestamps (which only follow status). */
export function statusChanged(previous: StreamingJobStatus | undefined, next: StreamingJobStatus): boolean {
  if (previous === undefined) return true;
  const strip = (status: StreamingJobStatus): unknown => ({
    ...status,
    conditions: (status.conditions ?? []).map(({ lastTransitionTime: _time, ...rest }) => rest),
  });
  return JSON.stringify(canonical(strip(previous))) !== JSON.stringify(canonical(strip(next)));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== undefined) sorted[key] = canonical(child);
  }
  return sorted;
}
