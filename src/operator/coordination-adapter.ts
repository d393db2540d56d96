/**
 * The JobCoordination port on ZooKeeper, through src/coordination: subtree and ACLs (subtree.ts,
 * acl.ts), the config mirror, executor membership, the task ledger and the rescheduler. It also
 * turns membership and driver watches into "look at this job" notifications; a watch callback
 * only records what it saw and notifies — the work happens in the next reconcile pass.
 */
import { decodeJobNode, encodeJobNode, jobUser, newJobCredential, type AclScheme } from '../coordination/acl.js';
import { ConfigMirror } from '../coordination/config-mirror.js';
import { jobKey, type CoordinationLayout, type JobRef } from '../coordination/layout.js';
import { ExecutorMembership, removeDeadRegistration, type ExecutorSet } from '../coordination/membership.js';
import { decodeDriverRegistration } from '../coordination/progress-report.js';
import type { CoordinationObserver } from '../coordination/observer.js';
import { Rescheduler } from '../coordination/rescheduler.js';
import type { Subscription, ZooKeeperSession } from '../coordination/session.js';
import { deleteJobSubtree, ensureJobSubtree, relockJobSubtree } from '../coordination/subtree.js';
import { TaskLedger } from '../coordination/task-ledger.js';
import type { Acl } from '../coordination/zookeeper/client.js';
import { StreamkeeperError, isStreamkeeperError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import {
  credentialFingerprint,
  type CoordinatedJob,
  type CredentialIssuer,
  type DesiredJobConfig,
  type DrainResult,
  type EnsureJobResult,
  type ExecutorRegistration,
  type JobCoordination,
  type AggregationState,
  type JobProgress,
  type RescheduleSummary,
  type TaskPolicy,
} from './job-coordination.js';
import type { Clock } from '../machinery/clock.js';

export interface ZooKeeperJobCoordinationOptions {
  /** The operator's session, authenticated with the operator's credential (unless ACLs are open). */
  readonly session: ZooKeeperSession;
  readonly layout: CoordinationLayout;
  readonly acls: AclScheme;
  readonly observer?: CoordinationObserver;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

interface JobWatch {
  readonly subscriptions: Subscription[];
  /** The executor set last delivered. */
  last: ExecutorSet | undefined;
  /** Active executors whose node went since the last pass, with the session that owned it. */
  readonly departures: Map<string, string>;
}

const toRef = (job: CoordinatedJob): JobRef => ({ namespace: job.namespace, name: job.name });

export class ZooKeeperJobCoordination implements JobCoordination {
  readonly credentials: 'per-job' | 'open';
  private readonly session: ZooKeeperSession;
  private readonly layout: CoordinationLayout;
  private readonly acls: AclScheme;
  private readonly mirror: ConfigMirror;
  private readonly membership: ExecutorMembership;
  private readonly ledger: TaskLedger;
  private readonly rescheduler: Rescheduler;
  private readonly logger: Logger;
  /** Jobs whose subtree this replica has set up, by key: the incarnation and its credential. */
  private readonly ensured = new Map<string, { readonly uid: string; readonly credential: string | undefined }>();
  private readonly watches = new Map<string, JobWatch>();
  private readonly listeners = new Set<(job: JobRef) => void>();
  private closed = false;

  constructor(options: ZooKeeperJobCoordinationOptions) {
    this.session = options.session;
    this.layout = options.layout;
    this.acls = options.acls;
    this.credentials = options.acls.open ? 'open' : 'per-job';
    this.logger = (options.logger ?? silentLogger()).child({ component: 'job-coordination' });
    const clock = options.clock === undefined ? {} : { clock: options.clock };
    this.mirror = new ConfigMirror(this.session, this.layout, { ...(options.observer === undefined ? {} : { observer: options.observer }), logger: this.logger });
    this.membership = new ExecutorMembership(this.session, this.layout, clock);
    this.ledger = new TaskLedger(this.session, this.layout, clock);
    this.rescheduler = new Rescheduler(this.session, this.layout, { ...clock, ...(options.observer === undefined ? {} : { observer: options.observer }), logger: this.logger });
  }

  async ensureJob(job: CoordinatedJob, config: DesiredJobConfig, issue: CredentialIssuer): Promise<EnsureJobResult> {
    const ref = toRef(job);
    const key = jobKey(ref);
    let credentialIssued = false;
    for (let attempt = 0; ; attempt += 1) {
      let ensured = this.ensured.get(key);
      if (ensured?.uid !== job.uid) {
        const subtree = await this.ensureSubtree(ref, issue);
        credentialIssued = subtree.issued || credentialIssued;
        ensured = { uid: job.uid, credential: subtree.credential };
        this.ensured.set(key, ensured);
        this.watch(ref);
      }
      try {
        const published = await this.mirror.publish(ref, config.generation, config.content);
        return { configHash: published.hash, configWritten: published.outcome === 'written', credentialIssued, credential: ensured.credential };
      } catch (err) {
        // The subtree went away behind our back (a wiped ZooKeeper): set it up again, once.
        if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE') || attempt > 0) throw err;
        this.ensured.delete(key);
      }
    }
  }

  /**
   * Creates the subtree; issues a credential first when the job node records no ACL yet (a new
   * job, or one whose credential was revoked).
   */
  private async ensureSubtree(ref: JobRef, issue: CredentialIssuer): Promise<{ issued: boolean; credential: string | undefined }> {
    let acl: Acl[];
    let issued = false;
    if (this.acls.open) {
      acl = this.acls.job(undefined);
    } else {
      const node = await this.session.getIfExists(this.layout.job(ref));
      const recorded = node === null ? undefined : decodeJobNode(node.data);
      if (recorded !== undefined && recorded.length > 0) {
        acl = [...recorded];
      } else {
        const credential = newJobCredential(ref);
        await issue(credential);
        acl = this.acls.job(credential);
        issued = true;
      }
    }
    await ensureJobSubtree(this.session, this.layout, ref, { ancestors: this.acls.ancestors(), job: acl });
    return { issued, credential: this.acls.open ? undefined : jobCredentialOf(acl, ref) };
  }

  async revokeCredential(job: CoordinatedJob): Promise<boolean> {
    if (this.acls.open) return false;
    const ref = toRef(job);
    const path = this.layout.job(ref);
    this.ensured.delete(jobKey(ref));
    const node = await this.session.getIfExists(path);
    const recorded = node === null ? undefined : decodeJobNode(node.data);
    if (node === null || recorded === undefined || recorded.length === 0) return false;
    // Every node first, the record last: a record saying "no credential" means none is admitted.
    // The operator-only ACL is the one that fences a subtree being deleted.
    const nodes = await relockJobSubtree(this.session, this.layout, ref, this.acls.fence());
    await this.session.set(path, encodeJobNode([]), node.stat.version);
    this.logger.warn({ job: jobKey(ref), nodes }, 'revoked the job\'s ZooKeeper credential: its subtree admits only the operator until a new one is issued');
    return true;
  }

  async jobProgress(job: CoordinatedJob): Promise<JobProgress> {
    const ref = toRef(job);
    const [executors, driver, standby, offsets, batches] = await Promise.all([
      this.membership.read(ref),
      this.session.getIfExists(this.layout.driver(ref)),
      this.session.getIfExists(this.layout.standby(ref)),
      this.ledger.readOffsets(ref).catch((err: unknown) => {
        // Offsets this version cannot read show as no progress; the driver's next commit rewrites them.
        if (isStreamkeeperError(err, 'SK_ZK_ERROR')) return null;
        throw err;
      }),
      this.ledger.readBatches(ref).catch((err: unknown) => {
        if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return [];
        throw err;
      }),
    ]);
    const registered = new Map<string, ExecutorRegistration>();
    for (const [pod, executor] of executors) {
      // A terminated pod's node lingers until its session times out; it is no executor.
      if (this.rescheduler.deaths.isDead(ref, pod, executor.session)) continue;
      const startedAt = Date.parse(executor.startedAt);
      registered.set(pod, { state: executor.state, registeredAtMs: Number.isNaN(startedAt) ? undefined : startedAt });
    }
    const report = driver === null ? undefined : decodeDriverRegistration(driver.data);
    return {
      executors: registered,
      driverRegistered: driver !== null,
      driverPod: report === undefined || report.pod === '' ? undefined : report.pod,
      ...standbyOf(standby === null ? undefined : decodeDriverRegistration(standby.data)),
      driverStartedAt: report === undefined || report.startedAt === '' ? undefined : report.startedAt,
      blocked: report?.blocked,
      lastError: report?.lastError,
      ...driverProgress(offsets),
      failedBatches: batches.filter((b) => b.record.state === 'failed').map((b) => b.record.id),
    };
  }

  async executorGone(job: CoordinatedJob, pod: string, policy: TaskPolicy): Promise<void> {
    await this.rescheduler.executorGone(toRef(job), pod, 'pod-terminated', policy);
  }

  async driverGone(job: CoordinatedJob, pod: string): Promise<void> {
    const path = this.layout.driver(toRef(job));
    const node = await this.session.getIfExists(path);
    // Versioned: a standby that takes the node in between is not removed with the dead driver's.
    if (node !== null && decodeDriverRegistration(node.data).pod === pod) await removeDeadRegistration(this.session, path, node.stat.version);
  }

  async drain(job: CoordinatedJob, pod: string, policy: TaskPolicy): Promise<DrainResult> {
    const report = await this.rescheduler.drain(toRef(job), pod, policy);
    return { drained: report.drained, holding: report.holding.length };
  }

  async rescheduleTasks(job: CoordinatedJob, policy: TaskPolicy): Promise<RescheduleSummary> {
    const ref = toRef(job);
    let moved = 0;
    const departures = this.watches.get(jobKey(ref))?.departures;
    for (const [pod, session] of [...(departures ?? [])]) {
      departures?.delete(pod);
      const gone = await this.rescheduler.executorGone(ref, pod, 'znode-gone', policy, session);
      moved += gone.report?.moved.length ?? 0;
    }
    const report = await this.rescheduler.reconcile(ref, policy);
    return { moved: moved + report.moved.length, waiting: report.waiting.length, exhausted: report.exhausted.length, failedBatches: [...report.failedBatches] };
  }

  async deleteJob(job: CoordinatedJob): Promise<void> {
    const ref = toRef(job);
    this.forgetJob(job);
    const deleted = await deleteJobSubtree(this.session, this.layout, ref, this.acls.fence());
    this.logger.info({ job: jobKey(ref), nodes: deleted }, 'job subtree deleted');
  }

  forgetJob(job: CoordinatedJob): void {
    const ref = toRef(job);
    const key = jobKey(ref);
    for (const subscription of this.watches.get(key)?.subscriptions ?? []) subscription.close();
    this.watches.delete(key);
    this.ensured.delete(key);
    this.rescheduler.forgetJob(ref);
  }

  connectionLost(): StreamkeeperError | undefined {
    if (this.closed || this.session.state === 'connected') return undefined;
    return new StreamkeeperError('SK_ZK_CONNECTION_LOSS', `the operator has no connection to ZooKeeper at ${this.session.connectString}; it reconnects by itself`);
  }

  onConnectionChange(listener: () => void): () => void {
    let connected = this.session.state === 'connected';
    return this.session.onStateChange((state) => {
      // 'closed' is the operator stopping, not an outage.
      if (state === 'closed' || (state === 'connected') === connected) return;
      connected = state === 'connected';
      listener();
    });
  }

  onMembershipChange(listener: (job: JobRef) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closed = true;
    for (const watch of this.watches.values()) for (const subscription of watch.subscriptions) subscription.close();
    this.watches.clear();
    this.listeners.clear();
    return Promise.resolve();
  }

  // ------------------------------------------------------------------ watches ----

  /** Watches the job's executors and driver registration (once per job). */
  private watch(ref: JobRef): void {
    const key = jobKey(ref);
    if (this.closed || this.watches.has(key)) return;
    const watch: JobWatch = { subscriptions: [], last: undefined, departures: new Map() };
    this.watches.set(key, watch);
    const onError = (err: unknown): void => {
      this.logger.warn({ job: key, err: err instanceof Error ? err.message : String(err) }, 'watch on the job\'s ZooKeeper nodes failed');
    };
    watch.subscriptions.push(
      this.membership.watch(
        ref,
        (executors) => {
          for (const [pod, before] of watch.last ?? []) {
            const now = executors.get(pod);
            // An active executor whose node went (or was replaced by a new session) died; a
            // draining one leaving is the end of a drain.
            if (before.state === 'active' && (now === undefined || now.session !== before.session)) watch.departures.set(pod, before.session);
          }
          const first = watch.last === undefined;
          watch.last = executors;
          // The first delivery is the state the pass that started the watch has just read.
          if (!first) this.notify(ref);
        },
        onError,
      ),
    );
    let driverSeen = false;
    watch.subscriptions.push(
      this.session.watchData(
        this.layout.driver(ref),
        () => {
          if (driverSeen) this.notify(ref);
          driverSeen = true;
        },
        onError,
      ),
    );
  }

  private notify(ref: JobRef): void {
    for (const listener of this.listeners) listener({ namespace: ref.namespace, name: ref.name });
  }
}

/** The fingerprint of the job's own entry in its subtree's ACL (the other is the operator's). */
function jobCredentialOf(acl: readonly Acl[], ref: JobRef): string | undefined {
  const entry = acl.find((e) => e.scheme === 'digest' && e.id.startsWith(`${jobUser(ref)}:`));
  return entry === undefined ? undefined : credentialFingerprint(entry.id);
}

/**
 * What the driver reports in the offsets node: the last committed batch (its commit time from the
 * driver's progress report; the node's mtime only as a fallback, since lag refreshes also write
 * the node) and the total lag it last measured. Read leniently: a field this version cannot read
 * is reported as unknown.
 */
export function driverProgress(offsets: { readonly record: unknown; readonly modifiedAt: number } | null): Pick<JobProgress, 'lastCommittedBatch' | 'totalLag' | 'watermark' | 'state'> {
  if (offsets === null || typeof offsets.record !== 'object' || offsets.record === null) return { lastCommittedBatch: undefined, totalLag: undefined };
  const record = offsets.record as { batch?: unknown; progress?: { committedAt?: unknown; totalLag?: unknown; watermark?: unknown; state?: unknown } };
  const lag = record.progress?.totalLag;
  const totalLag = typeof lag === 'number' && Number.isInteger(lag) && lag >= 0 ? lag : undefined;
  const reportedWatermark = record.progress?.watermark;
  // Whole seconds, as the other times in the status: the watermark moves every batch, the status need not.
  const watermark = typeof reportedWatermark === 'string' && !Number.isNaN(Date.parse(reportedWatermark)) ? new Date(Math.floor(Date.parse(reportedWatermark) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
  const state = aggregationState(record.progress?.state);
  const measured = { totalLag, ...(watermark === undefined ? {} : { watermark }), ...(state === undefined ? {} : { state }) };
  if (typeof record.batch !== 'string' || !/^\d+$/.test(record.batch)) return { lastCommittedBatch: undefined, ...measured };
  const reported = record.progress?.committedAt;
  const committedMs = typeof reported === 'string' && !Number.isNaN(Date.parse(reported)) ? Date.parse(reported) : offsets.modifiedAt;
  return { lastCommittedBatch: { id: Number(record.batch), committedAt: new Date(committedMs).toISOString().replace(/\.\d{3}Z$/, 'Z') }, ...measured };
}

/** The standby driver's registration, as `JobProgress` carries it. */
function standbyOf(registration: { readonly pod: string; readonly startedAt: string } | undefined): Pick<JobProgress, 'standbyPod' | 'standbyStartedAt'> {
  if (registration === undefined || registration.pod === '') return {};
  return { standbyPod: registration.pod, ...(registration.startedAt === '' ? {} : { standbyStartedAt: registration.startedAt }) };
}

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * The driver's report of an aggregation's state (`progress.state`, DriverProgress in
 * coordination/task-ledger.ts) summed for the status; entries this version cannot read are left out.
 */
export function aggregationState(reported: unknown): AggregationState | undefined {
  if (typeof reported !== 'object' || reported === null) return undefined;
  const { partitions, lastRestore } = reported as { partitions?: unknown; lastRestore?: unknown };
  let partitionsReported = 0;
  let keys = 0;
  let bytes = 0;
  if (typeof partitions === 'object' && partitions !== null) {
    for (const size of Object.values(partitions as Record<string, unknown>)) {
      const { keys: k, bytes: b } = (typeof size === 'object' && size !== null ? size : {}) as { keys?: unknown; bytes?: unknown };
      if (!isCount(k) || !isCount(b)) continue;
      partitionsReported += 1;
      keys += k;
      bytes += b;
    }
  }
  const r = (typeof lastRestore === 'object' && lastRestore !== null ? lastRestore : {}) as { partition?: unknown; records?: unknown; millis?: unknown; full?: unknown; at?: unknown };
  const millis = typeof r.millis === 'number' && Number.isFinite(r.millis) && r.millis >= 0 ? Math.round(r.millis) : undefined;
  const restore =
    isCount(r.partition) && isCount(r.records) && millis !== undefined && typeof r.full === 'boolean' && typeof r.at === 'string' && !Number.isNaN(Date.parse(r.at))
      ? { partition: r.partition, kind: r.full ? ('full' as const) : ('incremental' as const), records: r.records, durationMs: millis, at: new Date(Date.parse(r.at)).toISOString().replace(/\.\d{3}Z$/, 'Z') }
      : undefined;
  if (partitionsReported === 0 && restore === undefined) return undefined;
  return { partitionsReported, keys, bytes, ...(restore === undefined ? {} : { lastRestore: restore }) };
}
