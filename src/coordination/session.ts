/**
 * A ZooKeeper session that outlives its clients. Operations retry through connection loss; when
 * the session expires (the client is dead for good) a new client is built, credentials are added
 * again, registered ephemerals are re-created, every subscription re-reads and re-arms its
 * one-shot watch, and `rescan` listeners are told to re-read everything they cache — so no change
 * that happened while the session was gone goes unnoticed.
 */
import { setMaxListeners } from 'node:events';
import { StreamkeeperError, isStreamkeeperError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { backoffDelay, validateBackoff, type BackoffPolicy } from '../machinery/backoff.js';
import { sleep, systemClock, type Clock } from '../machinery/clock.js';
import { systemRandom, type Random } from '../machinery/random.js';
import { noopObserver, type CoordinationObserver, type SessionState } from './observer.js';
import {
  anyVersion,
  createNode,
  isOpenAcl,
  openAcl,
  type Acl,
  type ConnectionState,
  type CreateMode,
  type NodeData,
  type Watcher,
  type ZNodeStat,
  type ZooKeeperClient,
  type ZooKeeperConnector,
} from './zookeeper/client.js';
import { isConnectionLoss, isSessionExpired } from './zookeeper/errors.js';

/** Reconnect delays when the caller names none: fast first retries, capped at 5 s. */
const zooKeeperBackoff: BackoffPolicy = { initialMs: 100, maxMs: 5000, multiplier: 2 };

export interface ZooKeeperSessionOptions {
  readonly connector: ZooKeeperConnector;
  /** `host:port[,host:port...][/chroot]` */
  readonly connectString: string;
  readonly sessionTimeoutMs?: number;
  /** How long one connection attempt may take. */
  readonly connectTimeoutMs?: number;
  /** Added to every client this session builds, before it is used. */
  readonly auth?: readonly { readonly scheme: string; readonly credential: string }[];
  readonly backoff?: Partial<BackoffPolicy>;
  /**
   * How long one operation keeps retrying through connection loss and expiry before it fails
   * with a transient error (also the limit for `open`).
   */
  readonly operationTimeoutMs?: number;
  /**
   * How long an operation waits for a lost connection to come back before it fails with a
   * transient error (at most `operationTimeoutMs`, the default). Short for a caller that would
   * rather report an outage than wait it out: the operator's status pass.
   */
  readonly connectionWaitMs?: number;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly observer?: CoordinationObserver;
  readonly logger?: Logger;
}

export interface Subscription {
  close(): void;
}

export type DataListener = (node: NodeData | null) => void;
export type ChildrenListener = (children: readonly string[] | null) => void;
export type ChildrenDataListener = (children: ReadonlyMap<string, NodeData>) => void;
export type ErrorListener = (err: unknown) => void;

function isRetryable(err: unknown): boolean {
  return isConnectionLoss(err) || isSessionExpired(err);
}

function closedError(): StreamkeeperError {
  return new StreamkeeperError('SK_ZK_SESSION_EXPIRED', 'the ZooKeeper session was closed');
}

export class ZooKeeperSession {
  private client: ZooKeeperClient | undefined;
  private current: SessionState = 'connecting';
  private closed = false;
  private disconnected = false;
  private replacing: Promise<void> | undefined;
  /** Aborted on close: wakes every sleep and wait of this session. */
  private readonly stopping = new AbortController();
  private readonly closedSignal = deferred();
  private readonly stateListeners = new Set<(state: SessionState) => void>();
  private readonly rescanListeners = new Set<() => void>();
  private readonly subscriptions = new Set<WatchLoop<unknown>>();
  private readonly ephemerals = new Map<string, EphemeralNode>();
  private readonly addedAuth: { scheme: string; credential: string }[] = [];
  private stateChanged: { promise: Promise<void>; resolve: () => void } = deferred();
  readonly clock: Clock;
  readonly random: Random;
  readonly backoff: BackoffPolicy;
  readonly operationTimeoutMs: number;
  readonly connectionWaitMs: number;
  readonly logger: Logger;
  private readonly observer: CoordinationObserver;

  private constructor(private readonly options: ZooKeeperSessionOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.backoff = validateBackoff({ ...zooKeeperBackoff, ...options.backoff });
    this.operationTimeoutMs = options.operationTimeoutMs ?? 30_000;
    if (!(this.operationTimeoutMs > 0)) throw new RangeError(`operationTimeoutMs must be greater than 0 (got ${this.operationTimeoutMs})`);
    this.connectionWaitMs = Math.min(options.connectionWaitMs ?? this.operationTimeoutMs, this.operationTimeoutMs);
    if (!(this.connectionWaitMs > 0)) throw new RangeError(`connectionWaitMs must be greater than 0 (got ${options.connectionWaitMs})`);
    this.logger = options.logger ?? silentLogger();
    this.observer = options.observer ?? noopObserver;
    // Every pending retry sleeps on this signal; thousands may wait at once during an outage.
    setMaxListeners(0, this.stopping.signal);
  }

  /** Connects, retrying with backoff for up to `operationTimeoutMs`. */
  static async open(options: ZooKeeperSessionOptions): Promise<ZooKeeperSession> {
    const session = new ZooKeeperSession(options);
    session.observer.sessionState?.('connecting');
    const client = await session.connectWithRetry(session.clock.now() + session.operationTimeoutMs);
    session.install(client);
    return session;
  }

  get state(): SessionState {
    return this.current;
  }

  // A getter, not the field: TypeScript would otherwise keep its narrowing across awaits.
  get isClosed(): boolean {
    return this.closed;
  }

  /** The servers this session connects to, as given (`host:port[,host:port...][/chroot]`). */
  get connectString(): string {
    return this.options.connectString;
  }

  /** The id of the current ZooKeeper session, if there is one. */
  get sessionId(): string | undefined {
    return this.client?.sessionId;
  }

  /** The client in use right now (tests use it to expire the session on purpose). */
  get currentClient(): ZooKeeperClient | undefined {
    return this.client;
  }

  onStateChange(listener: (state: SessionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called after a new session replaced an expired one: re-read everything you cache. */
  onRescan(listener: () => void): () => void {
    this.rescanListeners.add(listener);
    return () => this.rescanListeners.delete(listener);
  }

  /** Backoff delay before retry number `attempt`. */
  retryDelay(attempt: number): number {
    return backoffDelay(attempt, this.backoff, this.random);
  }

  /** Sleeps, waking early when the session closes. */
  sleep(ms: number): Promise<void> {
    return sleep(this.clock, ms, this.stopping.signal);
  }

  // ---- connection management ----

  private async connectWithRetry(deadline: number): Promise<ZooKeeperClient> {
    for (let attempt = 0; ; attempt += 1) {
      if (this.closed) throw closedError();
      try {
        const client = await this.options.connector({
          connectString: this.options.connectString,
          sessionTimeoutMs: this.options.sessionTimeoutMs,
          connectTimeoutMs: this.options.connectTimeoutMs,
          auth: this.options.auth,
        });
        try {
          for (const { scheme, credential } of this.addedAuth) await client.addAuth(scheme, credential);
          if (this.isClosed) throw closedError();
        } catch (err) {
          await client.close();
          throw err;
        }
        return client;
      } catch (err) {
        if (this.isClosed) throw closedError();
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) {
          throw new StreamkeeperError('SK_ZK_CONNECTION_LOSS', `could not open a ZooKeeper session at ${this.options.connectString}: ${(err as Error).message}`, { cause: err });
        }
        const delay = Math.min(this.retryDelay(attempt), remaining);
        this.logger.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot connect to ZooKeeper; retrying');
        await this.sleep(delay);
      }
    }
  }

  private install(client: ZooKeeperClient): void {
    this.client = client;
    this.disconnected = false;
    client.onStateChange((state) => {
      this.onClientState(client, state);
    });
    this.logger.info({ session: client.sessionId }, 'zookeeper session established');
    if (client.state === 'connected') this.setState('connected');
    else this.onClientState(client, client.state);
  }

  private onClientState(client: ZooKeeperClient, state: ConnectionState): void {
    if (client !== this.client || this.closed) return;
    switch (state) {
      case 'connecting':
        this.disconnected = true;
        this.logger.warn({ session: client.sessionId }, 'zookeeper connection lost; reconnecting');
        this.setState('connecting');
        return;
      case 'connected':
        if (this.disconnected) {
          this.disconnected = false;
          this.observer.reconnected?.();
          this.logger.info({ session: client.sessionId }, 'zookeeper connection re-established');
        }
        this.setState('connected');
        return;
      case 'expired':
      case 'auth-failed':
      case 'closed':
        this.client = undefined;
        if (state === 'expired') this.observer.sessionExpired?.();
        this.logger.warn({ session: client.sessionId, state }, 'zookeeper session ended; opening a new one');
        this.setState('expired');
        void this.replace();
        return;
    }
  }

  private setState(state: SessionState): void {
    if (this.current === state) return;
    this.current = state;
    this.observer.sessionState?.(state);
    const changed = this.stateChanged;
    this.stateChanged = deferred();
    changed.resolve();
    for (const listener of [...this.stateListeners]) listener(state);
  }

  /** Builds a new client after expiry and restores what the old one had. */
  private replace(): Promise<void> {
    this.replacing ??= (async () => {
      let client: ZooKeeperClient;
      try {
        client = await this.connectWithRetry(Number.POSITIVE_INFINITY);
      } catch {
        return; // closed meanwhile
      } finally {
        this.replacing = undefined;
      }
      this.install(client);
      this.observer.reconnected?.();
      await this.restore();
    })();
    return this.replacing;
  }

  private async restore(): Promise<void> {
    await Promise.all(
      [...this.ephemerals.values()].map((node) =>
        node.ensure().catch((err: unknown) => {
          if (!this.closed) this.logger.error({ err: (err as Error).message, path: node.path }, 'could not re-create an ephemeral node after session expiry');
        }),
      ),
    );
    for (const listener of [...this.rescanListeners]) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'rescan listener failed');
      }
    }
    for (const subscription of this.subscriptions) subscription.kick();
  }

  /**
   * The current client once it is connected; waits through reconnects until `deadline`, and for
   * at most `connectionWaitMs` from the call.
   */
  private async connectedClient(operationDeadline: number): Promise<ZooKeeperClient> {
    const startedAt = this.clock.now();
    const deadline = Math.min(operationDeadline, startedAt + this.connectionWaitMs);
    for (;;) {
      if (this.closed) throw closedError();
      const client = this.client;
      if (client?.state === 'connected') return client;
      const remaining = deadline - this.clock.now();
      // Naming the servers tells a reader of the job's status which ZooKeeper is down.
      if (remaining <= 0) throw new StreamkeeperError('SK_ZK_CONNECTION_LOSS', `no connection to ZooKeeper at ${this.options.connectString} for ${deadline - startedAt} ms`);
      const wake = new AbortController();
      const sleeping = sleep(this.clock, remaining, wake.signal);
      await Promise.race([this.stateChanged.promise, sleeping, this.closedSignal.promise]);
      wake.abort();
    }
  }

  /**
   * Runs `operation` on a connected client, retrying with backoff through connection loss and
   * session expiry for up to `operationTimeoutMs`. A retried write may already have been applied
   * (its reply was lost): callers make writes idempotent or conditional and re-read on conflict.
   */
  async run<T>(operation: (zk: ZooKeeperClient) => Promise<T>): Promise<T> {
    const deadline = this.clock.now() + this.operationTimeoutMs;
    for (let attempt = 0; ; attempt += 1) {
      const zk = await this.connectedClient(deadline);
      try {
        return await operation(zk);
      } catch (err) {
        if (this.closed || !isRetryable(err)) throw err;
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) throw err;
        await this.sleep(Math.min(this.retryDelay(attempt), remaining));
      }
    }
  }

  // ---- plain operations, each retried through connection loss and expiry ----

  get(path: string): Promise<NodeData> {
    return this.run((zk) => zk.get(path));
  }

  /** The node's data, or null when it does not exist. */
  async getIfExists(path: string): Promise<NodeData | null> {
    try {
      return await this.get(path);
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return null;
      throw err;
    }
  }

  exists(path: string): Promise<ZNodeStat | null> {
    return this.run((zk) => zk.exists(path));
  }

  children(path: string): Promise<string[]> {
    return this.run((zk) => zk.children(path));
  }

  create(path: string, data: Buffer, mode: CreateMode, acl: readonly Acl[]): Promise<string> {
    return this.run((zk) => createNode(zk, path, data, mode, acl));
  }

  set(path: string, data: Buffer, version: number): Promise<ZNodeStat> {
    return this.run((zk) => zk.set(path, data, version));
  }

  delete(path: string, version: number): Promise<void> {
    return this.run((zk) => zk.delete(path, version));
  }

  getAcl(path: string): Promise<{ readonly acl: Acl[]; readonly stat: ZNodeStat }> {
    return this.run((zk) => zk.getAcl(path));
  }

  setAcl(path: string, acl: readonly Acl[], aclVersion: number): Promise<void> {
    return this.run((zk) => zk.setAcl(path, acl, aclVersion));
  }

  /** Adds credentials now and to every client built later. */
  async addAuth(scheme: string, credential: string): Promise<void> {
    await this.run((zk) => zk.addAuth(scheme, credential));
    this.addedAuth.push({ scheme, credential });
  }

  // ---- ephemerals ----

  /**
   * Creates an ephemeral node that this session keeps: re-created with its latest data whenever
   * a new session replaces an expired one. A node left by an earlier process (a session that has
   * not timed out yet) is waited out, not stolen.
   */
  /**
   * Creates an ephemeral node that this session re-creates after an expiry. A node of another
   * session is waited for until it goes — or, with `waitForOthers: false`, refused at once with
   * SK_ZK_NODE_EXISTS (a standby that keeps its own watch on the node).
   */
  async registerEphemeral(path: string, data: Buffer, acl: readonly Acl[] = openAcl, options: { readonly waitForOthers?: boolean } = {}): Promise<EphemeralNode> {
    if (this.ephemerals.has(path)) throw new StreamkeeperError('SK_ZK_NODE_EXISTS', `${path} is already registered by this session`, { field: path });
    const node = new EphemeralNode(this, path, data, acl);
    this.ephemerals.set(path, node);
    try {
      await node.ensure(options.waitForOthers ?? true);
    } catch (err) {
      this.ephemerals.delete(path);
      throw err;
    }
    return node;
  }

  /** @internal */
  forgetEphemeral(node: EphemeralNode): void {
    if (this.ephemerals.get(node.path) === node) this.ephemerals.delete(node.path);
  }

  // ---- subscriptions ----

  /**
   * Delivers the node's current data (null while it does not exist) and then every change:
   * creation, each new version, deletion. Changes that land between a watch firing and the
   * re-read are delivered as their final state (ZooKeeper watches are one-shot).
   */
  watchData(path: string, listener: DataListener, onError?: ErrorListener): Subscription {
    return this.subscribe(new DataWatch(this, path, listener, onError));
  }

  /** Delivers the sorted child names (null while the node does not exist) and every change. */
  watchChildren(path: string, listener: ChildrenListener, onError?: ErrorListener): Subscription {
    return this.subscribe(new ChildrenWatch(this, path, listener, onError));
  }

  /**
   * Delivers every child with its data, each time a child is added, removed or changed. The
   * first delivery waits until every child listed has been read once.
   */
  watchChildrenData(path: string, listener: ChildrenDataListener, onError?: ErrorListener): Subscription {
    return new ChildrenDataWatch(this, path, listener, onError);
  }

  private subscribe<T>(loop: WatchLoop<T>): Subscription {
    this.subscriptions.add(loop as WatchLoop<unknown>);
    loop.kick();
    return loop;
  }

  /** @internal */
  unsubscribe(loop: WatchLoop<unknown>): void {
    this.subscriptions.delete(loop);
  }

  /**
   * Resolves when the node changes (any watch event), after `maxMs` or when `signal` aborts,
   * whichever is first; to whether the node existed when the watch was set.
   */
  async waitForChange(path: string, maxMs: number, signal?: AbortSignal): Promise<boolean> {
    const fired = deferred();
    const wake = new AbortController();
    const watcher: Watcher = () => {
      fired.resolve();
    };
    const stat = await this.run((zk) => zk.exists(path, watcher));
    const stop = signal === undefined ? wake.signal : AbortSignal.any([wake.signal, signal]);
    await Promise.race([fired.promise, sleep(this.clock, maxMs, stop), this.closedSignal.promise]);
    wake.abort();
    return stat !== null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopping.abort();
    this.closedSignal.resolve();
    for (const subscription of [...this.subscriptions]) subscription.close();
    this.ephemerals.clear();
    const client = this.client;
    this.client = undefined;
    this.setState('closed');
    await client?.close();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** An ephemeral node the session keeps alive across session replacement. */
export class EphemeralNode {
  private removed = false;

  constructor(
    private readonly session: ZooKeeperSession,
    readonly path: string,
    private currentData: Buffer,
    private readonly acl: readonly Acl[],
  ) {}

  get data(): Buffer {
    return this.currentData;
  }

  /** Writes new data and keeps it for re-creation. */
  async update(data: Buffer): Promise<void> {
    this.currentData = data;
    try {
      await this.session.set(this.path, data, anyVersion);
    } catch (err) {
      // Gone with an expired session: the re-creation under way writes the new data.
      if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE')) throw err;
    }
  }

  /** Keeps `data` for re-creation without writing it (someone else already wrote it). */
  remember(data: Buffer): void {
    this.currentData = data;
  }

  /**
   * Deletes the node and stops re-creating it. Only a node this session owns: after an expiry the
   * path may already be another process's (a standby driver that took over), which stays.
   */
  async remove(): Promise<void> {
    this.removed = true;
    this.session.forgetEphemeral(this);
    if (this.session.isClosed) return;
    await this.session.run(async (zk) => {
      const stat = await zk.exists(this.path);
      if (stat === null || stat.ephemeralOwner !== zk.sessionId) return;
      try {
        await zk.delete(this.path, stat.version);
      } catch (err) {
        if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE') && !isStreamkeeperError(err, 'SK_ZK_BAD_VERSION')) throw err;
      }
    });
  }

  /**
   * Creates the node on the current session, or adopts it when this session already owns it. A
   * node of another session is waited for, unless `waitForOthers` is false (then SK_ZK_NODE_EXISTS).
   */
  async ensure(waitForOthers = true): Promise<void> {
    for (let attempt = 0; !this.removed && !this.session.isClosed; attempt += 1) {
      const outcome = await this.session.run(async (zk) => {
        try {
          await createNode(zk, this.path, this.currentData, 'ephemeral', this.acl);
          return 'created';
        } catch (err) {
          if (!isStreamkeeperError(err, 'SK_ZK_NODE_EXISTS')) throw err;
          const stat = await zk.exists(this.path);
          if (stat === null) return 'retry';
          if (stat.ephemeralOwner !== zk.sessionId) return 'foreign';
          // Ours: an earlier attempt went through but its reply was lost, possibly before the
          // ACL was set (ACL version still 0). Lock it now.
          if (stat.aversion === 0 && !isOpenAcl(this.acl)) await zk.setAcl(this.path, this.acl, 0);
          return 'adopted';
        }
      });
      if (outcome === 'created' || outcome === 'adopted') return;
      if (outcome === 'foreign') {
        if (!waitForOthers) throw new StreamkeeperError('SK_ZK_NODE_EXISTS', `${this.path} belongs to another session`, { field: this.path });
        this.session.logger.info({ path: this.path }, 'waiting for the ephemeral node of an earlier session to go');
        await this.session.waitForChange(this.path, this.session.retryDelay(attempt + 3));
      }
    }
  }
}

/**
 * One subscription: read with a one-shot watch, deliver if changed, re-read when the watch
 * fires. At most one read is in flight; a watch firing during a read schedules another.
 */
abstract class WatchLoop<T> implements Subscription {
  private token = 0;
  private running = false;
  private dirty = false;
  private closed = false;
  private last: { value: T } | undefined;

  constructor(
    protected readonly session: ZooKeeperSession,
    protected readonly path: string,
    private readonly listener: (value: T) => void,
    private readonly onError: ErrorListener | undefined,
  ) {}

  protected abstract read(zk: ZooKeeperClient, watcher: Watcher): Promise<T>;
  protected abstract same(a: T, b: T): boolean;

  kick(): void {
    if (this.closed) return;
    this.dirty = true;
    if (!this.running) void this.pump();
  }

  close(): void {
    this.closed = true;
    this.session.unsubscribe(this as WatchLoop<unknown>);
  }

  private stopped(): boolean {
    return this.closed || this.session.isClosed;
  }

  private async pump(): Promise<void> {
    this.running = true;
    let failures = 0;
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        this.token += 1;
        const token = this.token;
        const watcher: Watcher = (event) => {
          // `lost`: the session ended; the session re-kicks every subscription once it is back.
          if (event.type !== 'lost' && token === this.token) this.kick();
        };
        let value: T;
        try {
          value = await this.session.run((zk) => this.read(zk, watcher));
          failures = 0;
        } catch (err) {
          if (this.stopped()) return;
          if (!isRetryable(err) && !(err instanceof StreamkeeperError && err.kind === 'transient')) {
            this.report(err);
            return; // permanent (e.g. no access): a rescan tries again
          }
          this.session.logger.warn({ path: this.path, err: (err as Error).message }, 'zookeeper watch read failed; retrying');
          await this.session.sleep(this.session.retryDelay(failures));
          failures += 1;
          this.dirty = true;
          continue;
        }
        if (this.stopped()) return;
        if (this.last !== undefined && this.same(this.last.value, value)) continue;
        this.last = { value };
        try {
          this.listener(value);
        } catch (err) {
          this.session.logger.error({ path: this.path, err: (err as Error).message }, 'zookeeper watch listener failed');
        }
      }
    } finally {
      this.running = false;
    }
  }

  private report(err: unknown): void {
    if (this.onError === undefined) this.session.logger.error({ path: this.path, err: (err as Error).message }, 'zookeeper watch stopped');
    else this.onError(err);
  }
}

class DataWatch extends WatchLoop<NodeData | null> {
  protected async read(zk: ZooKeeperClient, watcher: Watcher): Promise<NodeData | null> {
    for (;;) {
      try {
        return await zk.get(this.path, watcher);
      } catch (err) {
        if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE')) throw err;
      }
      // Absent: an exists watch fires on creation. If it appeared meanwhile, read it again.
      if ((await zk.exists(this.path, watcher)) === null) return null;
    }
  }

  protected same(a: NodeData | null, b: NodeData | null): boolean {
    if (a === null || b === null) return a === b;
    return a.stat.version === b.stat.version && a.stat.ctime === b.stat.ctime && a.data.equals(b.data);
  }
}

class ChildrenWatch extends WatchLoop<readonly string[] | null> {
  protected async read(zk: ZooKeeperClient, watcher: Watcher): Promise<readonly string[] | null> {
    for (;;) {
      try {
        return await zk.children(this.path, watcher);
      } catch (err) {
        if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE')) throw err;
      }
      if ((await zk.exists(this.path, watcher)) === null) return null;
    }
  }

  protected same(a: readonly string[] | null, b: readonly string[] | null): boolean {
    if (a === null || b === null) return a === b;
    return a.length === b.length && a.every((name, i) => name === b[i]);
  }
}

/** A children watch plus one data watch per child, delivered as one map. */
class ChildrenDataWatch implements Subscription {
  private readonly perChild = new Map<string, Subscription>();
  private readonly values = new Map<string, NodeData>();
  /** Children listed but not read yet: nothing is delivered until they all have been. */
  private readonly unread = new Set<string>();
  private readonly names: Subscription;
  private closed = false;
  private listed = false;

  constructor(
    private readonly session: ZooKeeperSession,
    private readonly path: string,
    private readonly listener: ChildrenDataListener,
    private readonly onError: ErrorListener | undefined,
  ) {
    this.names = session.watchChildren(path, (children) => {
      this.onChildren(children ?? []);
    }, onError);
  }

  private onChildren(children: readonly string[]): void {
    if (this.closed) return;
    this.listed = true;
    const wanted = new Set(children);
    for (const [name, subscription] of [...this.perChild]) {
      if (wanted.has(name)) continue;
      subscription.close();
      this.perChild.delete(name);
      this.values.delete(name);
      this.unread.delete(name);
    }
    for (const name of children) {
      if (this.perChild.has(name)) continue;
      this.unread.add(name);
      const childPath = this.path === '/' ? `/${name}` : `${this.path}/${name}`;
      this.perChild.set(
        name,
        this.session.watchData(childPath, (node) => {
          this.onChild(name, node);
        }, this.onError),
      );
    }
    this.deliver();
  }

  private onChild(name: string, node: NodeData | null): void {
    if (this.closed || !this.perChild.has(name)) return;
    this.unread.delete(name);
    if (node === null) this.values.delete(name);
    else this.values.set(name, node);
    this.deliver();
  }

  private deliver(): void {
    if (!this.listed || this.unread.size > 0) return;
    const snapshot = new Map([...this.values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    try {
      this.listener(snapshot);
    } catch (err) {
      this.session.logger.error({ path: this.path, err: (err as Error).message }, 'zookeeper watch listener failed');
    }
  }

  close(): void {
    this.closed = true;
    this.names.close();
    for (const subscription of this.perChild.values()) subscription.close();
    this.perChild.clear();
  }
}
