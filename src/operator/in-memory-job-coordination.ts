/**
 * The JobCoordination port in memory, for the reconciler's unit tests: jobs, executors and the
 * tasks they hold are plain maps that tests steer (register an executor, give it tasks, fail a
 * call), and every call is recorded so a test can check what happened in which order. The same
 * contract suite as the ZooKeeper adapter keeps it honest.
 */
import { randomBytes } from 'node:crypto';
import { configHash } from '../coordination/config-mirror.js';
import { digestId, type DigestCredential } from '../coordination/zookeeper/digest.js';
import { StreamkeeperError } from '../errors/index.js';
import {
  credentialFingerprint,
  type CoordinatedJob,
  type CredentialIssuer,
  type DesiredJobConfig,
  type DrainResult,
  type EnsureJobResult,
  type ExecutorRegistrationState,
  type JobCoordination,
  type JobProgress,
  type ProgressBlocker,
  type RescheduleSummary,
  type TaskPolicy,
} from './job-coordination.js';

export type CoordinationMethod = 'ensureJob' | 'revokeCredential' | 'jobProgress' | 'executorGone' | 'driverGone' | 'drain' | 'rescheduleTasks' | 'deleteJob';

export interface CoordinationCall {
  readonly method: CoordinationMethod;
  readonly job: string;
  readonly pod?: string;
}

interface ExecutorEntry {
  state: ExecutorRegistrationState;
  registeredAtMs: number;
  /** Tasks it holds (assigned to it, unfinished). */
  holding: number;
}

interface JobEntry {
  uid: string;
  generation: number;
  hash: string;
  /** Fingerprint of the credential the subtree admits; undefined with open ACLs or once revoked. */
  credential: string | undefined;
  readonly executors: Map<string, ExecutorEntry>;
  /** Tasks whose owner died with no live executor to take them. */
  waiting: number;
  driverRegistered: boolean;
  driverPod: string | undefined;
  driverStartedAt: string | undefined;
  standby: { readonly pod: string; readonly startedAt: string | undefined } | undefined;
  blocked: ProgressBlocker | undefined;
  lastError: string | undefined;
  lastCommittedBatch: { id: number; committedAt: string } | undefined;
  failedBatches: string[];
  totalLag: number | undefined;
}

type JobName = { readonly namespace: string; readonly name: string };

/** What the in-memory port names as its servers when its connection is lost. */
export const inMemoryServers = 'in-memory';

const keyOf = (job: JobName): string => `${job.namespace}/${job.name}`;

export class InMemoryJobCoordination implements JobCoordination {
  readonly calls: CoordinationCall[] = [];
  private readonly jobs = new Map<string, JobEntry>();
  private readonly listeners = new Set<(job: JobName) => void>();
  private readonly failures: { method: CoordinationMethod | undefined; error: Error; remaining: number }[] = [];
  private readonly connectionListeners = new Set<() => void>();
  private lost = false;
  private closed = false;

  constructor(
    readonly credentials: 'per-job' | 'open' = 'per-job',
    private readonly now: () => number = Date.now,
  ) {}

  // ------------------------------------------------------------------ test controls ----

  /** The next `times` calls of `method` (any method if undefined) throw `error`. */
  failNext(method: CoordinationMethod | undefined, error: Error, times = 1): void {
    this.failures.push({ method, error, remaining: times });
  }

  /**
   * The operator's connection to ZooKeeper is lost (true) or back (false): while it is lost,
   * `connectionLost` says so and every call fails with SK_ZK_CONNECTION_LOSS.
   */
  setConnectionLost(lost: boolean): void {
    if (this.lost === lost) return;
    this.lost = lost;
    for (const listener of [...this.connectionListeners]) listener();
  }

  /** Whether the job's subtree exists. */
  hasJob(job: JobName): boolean {
    return this.jobs.has(keyOf(job));
  }

  /** The configuration hash ZooKeeper would hold, and the generation it was written at. */
  mirroredConfig(job: JobName): { hash: string; generation: number } | undefined {
    const entry = this.jobs.get(keyOf(job));
    return entry === undefined ? undefined : { hash: entry.hash, generation: entry.generation };
  }

  /** Fingerprint of the credential the job's subtree admits now (undefined: none). */
  credentialOf(job: JobName): string | undefined {
    return this.jobs.get(keyOf(job))?.credential;
  }

  /** Whether the job's subtree admits a session authenticated with `credential`. */
  admits(job: JobName, credential: DigestCredential | undefined): boolean {
    const entry = this.jobs.get(keyOf(job));
    if (entry === undefined) return false;
    if (this.credentials === 'open') return true;
    return credential !== undefined && entry.credential === credentialFingerprint(digestId(credential));
  }

  /** An executor pod started and registered. */
  registerExecutor(job: JobName, pod: string): void {
    this.entry(job).executors.set(pod, { state: 'active', registeredAtMs: this.now(), holding: 0 });
    this.notify(job);
  }

  /** An executor's session ended (process exited or expired). Its tasks wait for a live executor. */
  removeExecutor(job: JobName, pod: string): void {
    const entry = this.entry(job);
    const executor = entry.executors.get(pod);
    if (executor === undefined) return;
    entry.executors.delete(pod);
    entry.waiting += executor.holding;
    this.notify(job);
  }

  registerExecutors(job: JobName, pods: Iterable<string>): void {
    for (const pod of pods) this.registerExecutor(job, pod);
  }

  setHolding(job: JobName, pod: string, tasks: number): void {
    const executor = this.entry(job).executors.get(pod);
    if (executor === undefined) throw new Error(`${pod} is not registered`);
    executor.holding = tasks;
  }

  holding(job: JobName, pod: string): number | undefined {
    return this.jobs.get(keyOf(job))?.executors.get(pod)?.holding;
  }

  executorState(job: JobName, pod: string): ExecutorRegistrationState | undefined {
    return this.jobs.get(keyOf(job))?.executors.get(pod)?.state;
  }

  /** The driver in `pod` (by default `<job>-driver`) holds the `driver` node, or nobody does. */
  setDriverRegistered(job: JobName, registered: boolean, startedAt?: string, pod = `${job.name}-driver`): void {
    const entry = this.entry(job);
    entry.driverRegistered = registered;
    entry.driverPod = registered ? pod : undefined;
    entry.driverStartedAt = registered ? startedAt : undefined;
    if (!registered) {
      entry.blocked = undefined;
      entry.lastError = undefined;
    }
  }

  /** A standby driver in `pod` holds the `standby` node (undefined: nobody does). */
  setStandbyRegistered(job: JobName, pod: string | undefined, startedAt?: string): void {
    this.entry(job).standby = pod === undefined ? undefined : { pod, startedAt };
  }

  /** The registered driver reports why the job cannot move data (undefined: no cause). */
  reportBlocked(job: JobName, blocked: ProgressBlocker | undefined, lastError?: string): void {
    const entry = this.entry(job);
    if (!entry.driverRegistered) return;
    entry.blocked = blocked;
    entry.lastError = lastError;
  }

  /** The driver committed a batch. */
  commitBatch(job: JobName, id: number, committedAt: string, totalLag?: number): void {
    const entry = this.entry(job);
    entry.lastCommittedBatch = { id, committedAt };
    entry.totalLag = totalLag;
  }

  failBatch(job: JobName, id: string): void {
    this.entry(job).failedBatches.push(id);
  }

  callsOf(method: CoordinationMethod): CoordinationCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  // ------------------------------------------------------------------ the port ----

  async ensureJob(job: CoordinatedJob, config: DesiredJobConfig, issue: CredentialIssuer): Promise<EnsureJobResult> {
    await this.enter('ensureJob', job);
    const existing = this.jobs.get(keyOf(job));
    let credentialIssued = false;
    let credential = existing?.credential;
    // A new job, or one whose credential was revoked: the Secret first, then the subtree.
    if (this.credentials === 'per-job' && credential === undefined) {
      const issued = { user: `job.${job.namespace}.${job.name}`, password: randomBytes(18).toString('base64url') };
      await issue(issued);
      credential = credentialFingerprint(digestId(issued));
      credentialIssued = true;
    }
    const entry: JobEntry = existing ?? {
      uid: job.uid,
      generation: config.generation,
      hash: '',
      credential,
      executors: new Map(),
      waiting: 0,
      driverRegistered: false,
      driverPod: undefined,
      driverStartedAt: undefined,
      standby: undefined,
      blocked: undefined,
      lastError: undefined,
      lastCommittedBatch: undefined,
      failedBatches: [],
      totalLag: undefined,
    };
    entry.credential = credential;
    this.jobs.set(keyOf(job), entry);
    const hash = configHash(config.content);
    const configWritten = entry.hash !== hash;
    if (configWritten) {
      entry.hash = hash;
      entry.generation = config.generation;
    }
    return { configHash: hash, configWritten, credentialIssued, credential };
  }

  async revokeCredential(job: CoordinatedJob): Promise<boolean> {
    await this.enter('revokeCredential', job);
    const entry = this.jobs.get(keyOf(job));
    if (entry?.credential === undefined) return false;
    entry.credential = undefined;
    return true;
  }

  async jobProgress(job: CoordinatedJob): Promise<JobProgress> {
    await this.enter('jobProgress', job);
    const entry = this.jobs.get(keyOf(job));
    if (entry === undefined) {
      return { executors: new Map(), driverRegistered: false, driverStartedAt: undefined, blocked: undefined, lastError: undefined, lastCommittedBatch: undefined, failedBatches: [], totalLag: undefined };
    }
    return {
      executors: new Map([...entry.executors].map(([pod, executor]) => [pod, { state: executor.state, registeredAtMs: executor.registeredAtMs }])),
      driverRegistered: entry.driverRegistered,
      driverPod: entry.driverPod,
      driverStartedAt: entry.driverStartedAt,
      ...(entry.standby === undefined ? {} : { standbyPod: entry.standby.pod, standbyStartedAt: entry.standby.startedAt }),
      blocked: entry.blocked === undefined ? undefined : { ...entry.blocked },
      lastError: entry.lastError,
      lastCommittedBatch: entry.lastCommittedBatch === undefined ? undefined : { ...entry.lastCommittedBatch },
      failedBatches: [...entry.failedBatches],
      totalLag: entry.totalLag,
    };
  }

  async executorGone(job: CoordinatedJob, pod: string, _policy: TaskPolicy): Promise<void> {
    await this.enter('executorGone', job, pod);
    const entry = this.jobs.get(keyOf(job));
    const executor = entry?.executors.get(pod);
    if (entry === undefined || executor === undefined) return;
    // Its session is seen as dead at once; the node itself goes when the session times out.
    entry.executors.delete(pod);
    entry.waiting += executor.holding;
    this.moveWaiting(entry);
  }

  async driverGone(job: CoordinatedJob, pod: string): Promise<void> {
    await this.enter('driverGone', job, pod);
    const entry = this.jobs.get(keyOf(job));
    if (entry !== undefined && entry.driverPod === pod) {
      entry.driverRegistered = false;
      entry.driverPod = undefined;
      entry.driverStartedAt = undefined;
      entry.blocked = undefined;
      entry.lastError = undefined;
    }
  }

  async drain(job: CoordinatedJob, pod: string, _policy: TaskPolicy): Promise<DrainResult> {
    await this.enter('drain', job, pod);
    const executor = this.jobs.get(keyOf(job))?.executors.get(pod);
    if (executor === undefined) return { drained: true, holding: 0 };
    executor.state = 'draining';
    return { drained: executor.holding === 0, holding: executor.holding };
  }

  async rescheduleTasks(job: CoordinatedJob, _policy: TaskPolicy): Promise<RescheduleSummary> {
    await this.enter('rescheduleTasks', job);
    const entry = this.jobs.get(keyOf(job));
    if (entry === undefined) return { moved: 0, waiting: 0, exhausted: 0, failedBatches: [] };
    const moved = this.moveWaiting(entry);
    return { moved, waiting: entry.waiting, exhausted: 0, failedBatches: [...entry.failedBatches] };
  }

  async deleteJob(job: CoordinatedJob): Promise<void> {
    await this.enter('deleteJob', job);
    this.jobs.delete(keyOf(job));
  }

  forgetJob(_job: CoordinatedJob): void {
    // Nothing is watched per job here.
  }

  connectionLost(): StreamkeeperError | undefined {
    return this.lost && !this.closed ? new StreamkeeperError('SK_ZK_CONNECTION_LOSS', `the operator has no connection to ZooKeeper at ${inMemoryServers}; it reconnects by itself`) : undefined;
  }

  onConnectionChange(listener: () => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  onMembershipChange(listener: (job: JobName) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.connectionListeners.clear();
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ internals ----

  private async enter(method: CoordinationMethod, job: JobName, pod?: string): Promise<void> {
    await Promise.resolve();
    if (this.closed) throw new Error('the coordination port is closed');
    const lost = this.connectionLost();
    if (lost !== undefined) throw lost;
    this.calls.push({ method, job: keyOf(job), ...(pod === undefined ? {} : { pod }) });
    const failure = this.failures.find((f) => f.remaining > 0 && (f.method === undefined || f.method === method));
    if (failure !== undefined) {
      failure.remaining -= 1;
      throw failure.error;
    }
  }

  private entry(job: JobName): JobEntry {
    const entry = this.jobs.get(keyOf(job));
    if (entry === undefined) throw new Error(`job ${keyOf(job)} has not been set up (ensureJob)`);
    return entry;
  }

  /** Gives waiting tasks to the least-loaded active executor; returns how many moved. */
  private moveWaiting(entry: JobEntry): number {
    const active = [...entry.executors].filter(([, e]) => e.state === 'active').sort(([a], [b]) => a.localeCompare(b));
    if (active.length === 0 || entry.waiting === 0) return 0;
    const moved = entry.waiting;
    for (let i = 0; i < moved; i++) {
      const target = active.reduce((best, candidate) => (candidate[1].holding < best[1].holding ? candidate : best));
      target[1].holding += 1;
    }
    entry.waiting = 0;
    return moved;
  }

  private notify(job: JobName): void {
    for (const listener of this.listeners) listener({ namespace: job.namespace, name: job.name });
  }
}
