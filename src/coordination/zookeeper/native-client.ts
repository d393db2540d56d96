/**
 * ZooKeeperClient over the native `zookeeper` package (the C client, built at install time).
 *
 * The package's API has sharp edges this adapter exists to blunt:
 * - every async method asserts it got a callback and aborts the whole process otherwise
 *   (`add_auth` included), so each call here always passes one;
 * - a call on a closed handle returns an error code synchronously and never calls back, so the
 *   return code is checked before waiting;
 * - nodes are always created with an open ACL, so `create(..., acl)` locks the node with a
 *   conditional setAcl right after (see docs/zookeeper.md for what that window means);
 * - one-shot watches are silently dropped when the session ends, so pending watchers are told
 *   (`lost`) when the client closes or expires;
 * - the addon declares the session expired (and closes it) after 10 consecutive socket reads
 *   that did not complete a reply — which is just a large reply arriving in pieces, e.g. when
 *   watches are re-registered after a reconnect or a long child list is read under load. The
 *   limit is raised so far that only real expiries (decided by the server) end a session;
 * - `a_get_acl` crashes the process (a null pointer in the addon) whenever the request fails —
 *   missing node, no access, connection loss. `getAcl` therefore reads the node first and only
 *   asks for its ACL when that succeeded; the coordination code keeps getAcl off its paths
 *   altogether (see docs/zookeeper.md), since a node can still vanish in between.
 */
import { createRequire } from 'node:module';
import { StreamkeeperError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import {
  anyVersion,
  type Acl,
  type ConnectionState,
  type CreateMode,
  type NodeData,
  type Watcher,
  type WatchEventType,
  type ZNodeStat,
  type ZooKeeperClient,
  type ZooKeeperConnectOptions,
} from './client.js';
import { ZkRc, isSessionExpired, zkError } from './errors.js';

type Callback = (rc: number, error: string, ...rest: unknown[]) => void;
type WatchCallback = (type: number, state: number, path: string) => void;

/** The part of the package's callback API this adapter uses. */
interface NativeHandle {
  readonly client_id: string;
  readonly client_password: string;
  init(config: Record<string, unknown>): NativeHandle;
  on(event: string, listener: (...args: unknown[]) => void): NativeHandle;
  close(): void;
  a_create(path: string, data: Buffer, flags: number, cb: Callback): number;
  a_exists(path: string, watch: boolean, cb: Callback): number;
  aw_exists(path: string, watchCb: WatchCallback, cb: Callback): number;
  a_get(path: string, watch: boolean, cb: Callback): number;
  aw_get(path: string, watchCb: WatchCallback, cb: Callback): number;
  a_get_children(path: string, watch: boolean, cb: Callback): number;
  aw_get_children(path: string, watchCb: WatchCallback, cb: Callback): number;
  a_set(path: string, data: Buffer, version: number, cb: Callback): number;
  a_delete_(path: string, version: number, cb: Callback): number;
  a_get_acl(path: string, cb: Callback): number;
  a_set_acl(path: string, version: number, acl: { perms: number; scheme: string; auth: string }[], cb: Callback): number;
  add_auth(scheme: string, auth: string, cb: Callback): number;
}

interface NativeModule {
  new (config: Record<string, unknown>): NativeHandle;
}

const require = createRequire(import.meta.url);
let nativeModule: NativeModule | undefined;

function loadNative(): NativeModule {
  // Loaded lazily: unit tests that only use the in-memory client never need the addon.
  nativeModule ??= require('zookeeper') as NativeModule;
  return nativeModule;
}

const createFlags: Record<CreateMode, number> = { persistent: 0, ephemeral: 1, 'persistent-sequential': 2, 'ephemeral-sequential': 3 };
const sessionState = { expired: -112, authFailed: -113 } as const;
const eventTypes = new Map<number, WatchEventType>([
  [1, 'created'],
  [2, 'deleted'],
  [3, 'changed'],
  [4, 'children'],
]);

interface NativeStat {
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly ctime: number | Date;
  readonly mtime: number | Date;
}

function toStat(native: NativeStat): ZNodeStat {
  return {
    version: native.version,
    cversion: native.cversion,
    aversion: native.aversion,
    ephemeralOwner: native.ephemeralOwner,
    dataLength: native.dataLength,
    numChildren: native.numChildren,
    ctime: Number(native.ctime),
    mtime: Number(native.mtime),
  };
}

/** Reads that may end without a complete reply before the addon gives up (see the header). */
const partialReadLimit = 2 ** 30;

/** C client log level: 0 silences the library's own stderr lines; this adapter logs instead. */
function nativeLogLevel(env: NodeJS.ProcessEnv): number {
  const value = Number(env.STREAMKEEPER_ZK_CLIENT_LOG_LEVEL ?? '0');
  return Number.isInteger(value) && value >= 0 && value <= 4 ? value : 0;
}

export class NativeZooKeeperClient implements ZooKeeperClient {
  private currentState: ConnectionState = 'connecting';
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  private readonly pendingWatchers = new Set<Watcher>();
  private closing: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;

  private constructor(
    private readonly handle: NativeHandle,
    private readonly logger: Logger | undefined,
  ) {}

  /** Connects and resolves once the session is established and `options.auth` is added. */
  static async connect(options: ZooKeeperConnectOptions, logger?: Logger): Promise<NativeZooKeeperClient> {
    const Native = loadNative();
    const handle = new Native({
      connect: options.connectString,
      timeout: options.sessionTimeoutMs ?? 10_000,
      debug_level: nativeLogLevel(process.env),
      host_order_deterministic: false,
      data_as_buffer: true,
      response_counter_limit: partialReadLimit,
    });
    const client = new NativeZooKeeperClient(handle, logger);
    await client.establish(options.connectTimeoutMs ?? 15_000, options.connectString);
    for (const { scheme, credential } of options.auth ?? []) await client.addAuth(scheme, credential);
    return client;
  }

  /** Opens a second handle on an existing session (same id and password). Tests use it to expire sessions. */
  static async attach(connectString: string, session: { id: string; password: string }): Promise<NativeZooKeeperClient> {
    const Native = loadNative();
    const handle = new Native({ connect: connectString, timeout: 10_000, debug_level: 0, data_as_buffer: true, response_counter_limit: partialReadLimit, client_id: session.id, client_password: session.password });
    const client = new NativeZooKeeperClient(handle, undefined);
    await client.establish(15_000, connectString);
    return client;
  }

  /**
   * Ends `client`'s session the way a server-side timeout would (tests and benches): a second
   * handle on the same session is opened and closed. The first handle may win the session back
   * in between, and then the close is refused ("session moved"), so this repeats until the first
   * handle reports the expiry.
   */
  static async expireSession(connectString: string, client: NativeZooKeeperClient, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const expired = new Promise<void>((resolveExpired) => {
      if (client.state === 'expired') resolveExpired();
      client.onStateChange((state) => {
        if (state === 'expired') resolveExpired();
      });
    });
    while (client.state !== 'expired') {
      if (Date.now() > deadline) throw new StreamkeeperError('SK_TIMEOUT', `session ${client.sessionId} did not expire within ${timeoutMs} ms`);
      try {
        const twin = await NativeZooKeeperClient.attach(connectString, client.sessionCredentials);
        await twin.close();
      } catch (err) {
        // Already gone on the server: the first handle learns it when it reconnects.
        if (!isSessionExpired(err)) throw err;
      }
      await Promise.race([expired, new Promise((resolveLater) => setTimeout(resolveLater, 1000).unref())]);
    }
  }

  private establish(timeoutMs: number, connectString: string): Promise<void> {
    return new Promise((resolveConnected, reject) => {
      const timer = setTimeout(() => {
        this.handle.close();
        reject(new StreamkeeperError('SK_ZK_CONNECTION_LOSS', `could not connect to ZooKeeper at ${connectString} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.handle.on('connect', () => {
        clearTimeout(timer);
        this.transition('connected');
        resolveConnected();
      });
      this.handle.on('connecting', () => {
        this.transition('connecting');
      });
      this.handle.on('close', (_zk, code) => {
        clearTimeout(timer);
        const state: ConnectionState = code === sessionState.expired ? 'expired' : code === sessionState.authFailed ? 'auth-failed' : 'closed';
        this.transition(state);
        this.failPendingWatchers();
        this.resolveClosed?.();
        if (state !== 'closed') reject(new StreamkeeperError('SK_ZK_SESSION_EXPIRED', `ZooKeeper session ended (${state}) while connecting to ${connectString}`));
      });
      this.handle.init({});
    });
  }

  get sessionId(): string {
    return this.handle.client_id;
  }

  /** Id and password of the session, for `attach`. Never logged. */
  get sessionCredentials(): { id: string; password: string } {
    return { id: this.handle.client_id, password: this.handle.client_password };
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private transition(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.logger?.debug({ session: this.handle.client_id, state }, 'zookeeper connection state');
    for (const listener of [...this.listeners]) listener(state);
  }

  private failPendingWatchers(): void {
    const watchers = [...this.pendingWatchers];
    this.pendingWatchers.clear();
    for (const watcher of watchers) watcher({ type: 'lost', path: '' });
  }

  /** Runs one native call: resolves with the callback's extra arguments, rejects on any error code. */
  private call(operation: string, path: string, invoke: (cb: Callback) => number): Promise<unknown[]> {
    return new Promise((resolveCall, reject) => {
      let rc: number;
      try {
        rc = invoke((code, error, ...rest) => {
          if (code === ZkRc.ok) resolveCall(rest);
          else reject(zkError(code, operation, path, error));
        });
      } catch (err) {
        reject(new StreamkeeperError('SK_ZK_ERROR', `${operation} ${path}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      // A non-zero return means the request was never sent and the callback will not run.
      if (rc !== ZkRc.ok) reject(zkError(rc, operation, path, rc === ZkRc.invalidState ? 'the ZooKeeper session is closed or expired' : undefined));
    });
  }

  private nativeWatcher(watcher: Watcher, path: string): WatchCallback {
    this.pendingWatchers.add(watcher);
    let fired = false;
    return (type) => {
      const eventType = eventTypes.get(type);
      // Session events on a data watch (type -1) announce state changes, not node changes; the
      // C client keeps the watch registered across reconnects, so only real events fire it.
      if (eventType === undefined || fired) return;
      fired = true;
      this.pendingWatchers.delete(watcher);
      watcher({ type: eventType, path });
    };
  }

  async create(path: string, data: Buffer, mode: CreateMode = 'persistent', acl?: readonly Acl[]): Promise<string> {
    const [createdPath] = await this.call('create', path, (cb) => this.handle.a_create(path, data, createFlags[mode], cb));
    const created = String(createdPath);
    if (acl !== undefined) {
      try {
        await this.setAcl(created, acl, 0);
      } catch (err) {
        // Never leave a node behind that is open to everyone.
        await this.delete(created, anyVersion).catch(() => undefined);
        throw err;
      }
    }
    return created;
  }

  async get(path: string, watcher?: Watcher): Promise<NodeData> {
    const [stat, data] =
      watcher === undefined
        ? await this.call('get', path, (cb) => this.handle.a_get(path, false, cb))
        : await this.call('get', path, (cb) => this.handle.aw_get(path, this.nativeWatcher(watcher, path), cb));
    return { data: Buffer.isBuffer(data) ? data : Buffer.alloc(0), stat: toStat(stat as NativeStat) };
  }

  async exists(path: string, watcher?: Watcher): Promise<ZNodeStat | null> {
    try {
      const [stat] =
        watcher === undefined
          ? await this.call('exists', path, (cb) => this.handle.a_exists(path, false, cb))
          : await this.call('exists', path, (cb) => this.handle.aw_exists(path, this.nativeWatcher(watcher, path), cb));
      return toStat(stat as NativeStat);
    } catch (err) {
      // exists() on a missing node still registers the watch (it fires on creation).
      if ((err as { zkCode?: number }).zkCode === ZkRc.noNode) return null;
      throw err;
    }
  }

  async set(path: string, data: Buffer, version: number): Promise<ZNodeStat> {
    const [stat] = await this.call('set', path, (cb) => this.handle.a_set(path, data, version, cb));
    return toStat(stat as NativeStat);
  }

  async delete(path: string, version: number): Promise<void> {
    await this.call('delete', path, (cb) => this.handle.a_delete_(path, version, cb));
  }

  async children(path: string, watcher?: Watcher): Promise<string[]> {
    const [names] =
      watcher === undefined
        ? await this.call('children', path, (cb) => this.handle.a_get_children(path, false, cb))
        : await this.call('children', path, (cb) => this.handle.aw_get_children(path, this.nativeWatcher(watcher, path), cb));
    return [...(names as string[])].sort();
  }

  async getAcl(path: string): Promise<{ acl: Acl[]; stat: ZNodeStat }> {
    // Fails with NoNode / NoAuth / connection loss here, where failing is safe (see the header).
    await this.get(path);
    const [acl, stat] = await this.call('getAcl', path, (cb) => this.handle.a_get_acl(path, cb));
    return { acl: (acl as { perms: number; scheme: string; auth: string }[]).map((a) => ({ perms: a.perms, scheme: a.scheme, id: a.auth })), stat: toStat(stat as NativeStat) };
  }

  async setAcl(path: string, acl: readonly Acl[], aclVersion: number): Promise<void> {
    const native = acl.map((a) => ({ perms: a.perms, scheme: a.scheme, auth: a.id }));
    await this.call('setAcl', path, (cb) => this.handle.a_set_acl(path, aclVersion, native, cb));
  }

  async addAuth(scheme: string, credential: string): Promise<void> {
    // add_auth without a callback aborts the process (a native assertion): always pass one.
    await this.call('addAuth', scheme, (cb) => this.handle.add_auth(scheme, credential, cb));
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.currentState === 'expired' || this.currentState === 'closed' || this.currentState === 'auth-failed') {
      this.closing = Promise.resolve();
      return this.closing;
    }
    this.closing = new Promise((resolveClose) => {
      this.resolveClosed = resolveClose;
      this.handle.close();
      // close() emits 'close' synchronously in current versions; do not hang if it does not.
      setTimeout(resolveClose, 1000).unref();
    });
    return this.closing;
  }
}
