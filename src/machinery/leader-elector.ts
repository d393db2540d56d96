/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm: every write is
 * conditional on the resourceVersion read; another holder's lease counts as expired only when
 * its record has not changed for leaseDuration as measured on OUR clock (no trust in clock
 * agreement between replicas); a leader that cannot renew within renewDeadline stops acting —
 * before anyone else can take over, because renewDeadline < leaseDuration. One departure: a
 * standby watching a held Lease looks every retryPeriod without jitter and wakes exactly at its
 * expiry, so a crashed leader is replaced within leaseDuration + retryPeriod (client-go's jittered
 * waits allow up to leaseDuration + 4.4 × retryPeriod).
 *
 * Use: `const elector = new LeaderElector({ ..., onStartedLeading, onStoppedLeading });
 * void elector.run();` and on shutdown `await elector.stop()`, which first stops the leader's
 * work (awaiting onStoppedLeading) and then releases the Lease so a standby takes over at once.
 * After losing the Lease, `run()` resolves; the operator exits so it restarts with clean state.
 */
import { hostname } from 'node:os';
import { isStreamkeeperError } from '../errors/index.js';
import type { KubeClient } from '../kube/client.js';
import type { Lease, ObjectRef, Stored } from '../kube/objects.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { isAborted, sleep, systemClock, type Clock, type Timer } from './clock.js';
import { noLeaderMetrics, type LeaderMetrics } from './metrics-hooks.js';

/** client-go's jitter for acquire retries: wait between retryPeriod and 2.2 × retryPeriod. */
export const jitterFactor = 1.2;

export interface LeaderElectorOptions {
  readonly client: Pick<KubeClient, 'get' | 'create' | 'update'>;
  readonly lease: { readonly namespace: string; readonly name: string };
  /** Who we are in `spec.holderIdentity`; see `leaderIdentity()`. */
  readonly identity: string;
  /** How long a standby waits on an unchanged lease before taking it. Default 15 s. */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps acting without a successful renewal. Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Time between attempts (acquire and renew). Default 2 s. */
  readonly retryPeriodMs?: number;
  /** Clear the holder on `stop()` so a standby takes over at once. Default true. */
  readonly releaseOnStop?: boolean;
  /** Start the leader's work; `signal` aborts when leadership ends. Not awaited. */
  readonly onStartedLeading: (signal: AbortSignal) => void;
  /** Stop the leader's work (awaited before the Lease is released). */
  readonly onStoppedLeading: () => void | Promise<void>;
  /** Someone (possibly us) is now the holder. */
  readonly onNewLeader?: (identity: string) => void;
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Told when this replica gains and loses the lease; default: nobody. */
  readonly metrics?: LeaderMetrics;
  readonly logger?: Logger;
}

/** The holder identity: the pod name when the downward API provides it, else host and pid. */
export function leaderIdentity(env: NodeJS.ProcessEnv = process.env, host: string = hostname(), pid: number = process.pid): string {
  const podName = env.POD_NAME;
  return podName !== undefined && podName !== '' ? podName : `${host}_${pid}`;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Resolves with the promise's value, or undefined as soon as `signal` aborts. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      resolve(undefined);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export class LeaderElector {
  private readonly options: LeaderElectorOptions;
  private readonly ref: ObjectRef;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly metrics: LeaderMetrics;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private leadership: AbortController | undefined;
  private deadline: Timer | undefined;
  private running: Promise<void> | undefined;
  /** The record as last read or written, when that happened (our clock), and the object. */
  private observedRecord = '';
  private observedAt = 0;
  private observedLease: Stored<Lease> | undefined;
  private reportedLeader: string | undefined;
  /** When the other holder's lease expires (our clock), as of the last failed attempt. */
  private heldByOtherUntil: number | undefined;
  private stoppedLeading: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.ref = { namespace: options.lease.namespace, name: options.lease.name };
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (options.identity === '') throw new RangeError('identity must not be empty');
    if (!(this.retryPeriodMs > 0)) throw new RangeError('retryPeriodMs must be greater than 0');
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) throw new RangeError('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(this.renewDeadlineMs > this.retryPeriodMs * jitterFactor)) throw new RangeError(`renewDeadlineMs must be greater than retryPeriodMs × ${jitterFactor}`);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? noLeaderMetrics;
    this.logger = (options.logger ?? silentLogger()).child({ lease: `${this.ref.namespace ?? ''}/${this.ref.name}`, identity: options.identity });
  }

  isLeader(): boolean {
    return this.leadership !== undefined && !this.leadership.signal.aborted;
  }

  /** The holder as last observed ('' when released, undefined before the first read). */
  get observedLeader(): string | undefined {
    return this.reportedLeader;
  }

  /** Campaigns, then leads until the Lease is lost or `stop()` is called. */
  run(): Promise<void> {
    this.running ??= this.campaign();
    return this.running;
  }

  /** Stops campaigning or leading; a leader stops its work first, then releases the Lease. */
  async stop(options: { readonly release?: boolean } = {}): Promise<void> {
    const release = options.release ?? this.options.releaseOnStop ?? true;
    const wasLeader = this.isLeader();
    this.stopping.abort();
    if (wasLeader) await this.loseLeadership('stopping');
    await this.running;
    if (wasLeader && release) await this.release();
  }

  private async campaign(): Promise<void> {
    this.logger.info('campaigning for leadership');
    const stop = this.stopping.signal;
    while (!isAborted(stop)) {
      const acquired = await unlessAborted(this.tryAcquireOrRenew(), stop);
      if (acquired === true) break;
      if (isAborted(stop)) return;
      await sleep(this.clock, this.nextAttemptInMs(), stop);
    }
    if (isAborted(stop)) return;
    this.becomeLeader();
    await this.renewUntilLost();
  }

  /**
   * When a standby looks again. While another replica holds the Lease: every retry period, so its
   * last renewal is seen at most one retry period late, and exactly when that renewal expires — a
   * crashed leader is replaced within leaseDuration + retryPeriod of its last renewal. Otherwise
   * (the Lease was free or expired but the attempt failed: another candidate won, or the API
   * server failed) client-go's jittered wait, so that candidates do not retry in lockstep.
   */
  private nextAttemptInMs(): number {
    const remaining = this.heldByOtherUntil === undefined ? 0 : this.heldByOtherUntil - this.clock.now();
    if (remaining > 0) return Math.min(this.retryPeriodMs, remaining);
    return this.retryPeriodMs * (1 + jitterFactor * this.random());
  }

  private becomeLeader(): void {
    const leadership = new AbortController();
    this.leadership = leadership;
    this.metrics.leading(true);
    this.logger.info('became leader');
    this.armDeadline(this.clock.now());
    try {
      this.options.onStartedLeading(leadership.signal);
    } catch (err) {
      this.logger.error({ err }, 'onStartedLeading threw');
    }
  }

  private async renewUntilLost(): Promise<void> {
    const leadership = this.leadership;
    if (leadership === undefined) return;
    while (!isAborted(leadership.signal)) {
      await sleep(this.clock, this.retryPeriodMs, leadership.signal);
      if (isAborted(leadership.signal)) break;
      const attemptedAt = this.clock.now();
      const renewed = await unlessAborted(this.tryAcquireOrRenew(), leadership.signal);
      if (isAborted(leadership.signal)) break;
      if (renewed === true) {
        this.armDeadline(attemptedAt);
      } else if (this.reportedLeader !== undefined && this.reportedLeader !== this.options.identity) {
        await this.loseLeadership(`the lease is now held by ${this.reportedLeader}`);
      }
      // Otherwise keep trying every retryPeriod until the renew deadline fires.
    }
    await this.stoppedLeading;
  }

  /** Leadership ends at `renewedAt + renewDeadline` unless renewed again before. */
  private armDeadline(renewedAt: number): void {
    this.deadline?.cancel();
    const remaining = renewedAt + this.renewDeadlineMs - this.clock.now();
    this.deadline = this.clock.setTimer(remaining, () => {
      void this.loseLeadership(`could not renew within ${this.renewDeadlineMs} ms`);
    });
  }

  private loseLeadership(reason: string): Promise<void> {
    const leadership = this.leadership;
    if (leadership === undefined || leadership.signal.aborted) return this.stoppedLeading ?? Promise.resolve();
    this.deadline?.cancel();
    leadership.abort();
    this.metrics.leading(false);
    if (reason === 'stopping') this.logger.info('stopped leading');
    else this.logger.warn({ reason }, 'lost leadership; stopping the leader\'s work');
    this.stoppedLeading = (async () => {
      try {
        await this.options.onStoppedLeading();
      } catch (err) {
        this.logger.error({ err }, 'onStoppedLeading threw');
      }
    })();
    return this.stoppedLeading;
  }

  /** One attempt to take or keep the Lease; false on any failure (the caller retries). */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const identity = this.options.identity;
    this.heldByOtherUntil = undefined;
    const leaseDurationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    let current: Stored<Lease>;
    try {
      current = await this.options.client.get('Lease', this.ref);
    } catch (err) {
      if (!isStreamkeeperError(err, 'SK_KUBE_NOT_FOUND')) {
        this.logger.debug({ err: String(err) }, 'cannot read the lease');
        return false;
      }
      try {
        const created = await this.options.client.create('Lease', {
          metadata: { namespace: this.ref.namespace ?? '', name: this.ref.name },
          spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        this.observe(created);
        return true;
      } catch (createErr) {
        this.logger.debug({ err: String(createErr) }, 'cannot create the lease');
        return false;
      }
    }
    const record = current.spec ?? {};
    const raw = JSON.stringify(record);
    if (raw !== this.observedRecord) {
      this.observedRecord = raw;
      // Dated when the read returned, not when it was sent: a renewal the server applied while
      // the request was in flight is newer than `now`, and counting its lease from `now` would
      // take over a few milliseconds before it expired (client-go dates it the same way).
      this.observedAt = this.clock.now();
      this.observedLease = current;
      this.reportLeader(record.holderIdentity ?? '');
    }
    const holder = record.holderIdentity ?? '';
    const heldMs = (record.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (holder !== '' && holder !== identity && this.observedAt + heldMs > now) {
      this.heldByOtherUntil = this.observedAt + heldMs;
      return false;
    }
    const ours = holder === identity;
    const next: Lease = {
      ...current,
      spec: {
        ...record,
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: ours && record.acquireTime !== undefined ? record.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: ours ? (record.leaseTransitions ?? 0) : (record.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.observe(await this.options.client.update('Lease', next));
      return true;
    } catch (err) {
      this.logger.debug({ err: String(err) }, 'cannot update the lease');
      return false;
    }
  }

  private observe(lease: Stored<Lease>): void {
    this.observedRecord = JSON.stringify(lease.spec ?? {});
    this.observedAt = this.clock.now();
    this.observedLease = lease;
    this.reportLeader(lease.spec?.holderIdentity ?? '');
  }

  private reportLeader(holder: string): void {
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder !== '') this.logger.info({ leader: holder }, 'new leader observed');
    try {
      this.options.onNewLeader?.(holder);
    } catch (err) {
      this.logger.error({ err }, 'onNewLeader threw');
    }
  }

  /** Clears the holder, conditional on the lease being as we last wrote it. */
  private async release(): Promise<void> {
    const lease = this.observedLease;
    if (lease?.spec?.holderIdentity !== this.options.identity) return;
    const now = microTime(this.clock.now());
    try {
      const released = await this.options.client.update('Lease', {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      });
      this.observe(released);
      this.logger.info('released the lease');
    } catch (err) {
      // Someone else wrote the lease since: it is not ours to release.
      this.logger.warn({ err: String(err) }, 'could not release the lease');
    }
  }
}
