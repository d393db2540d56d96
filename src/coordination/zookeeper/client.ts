/**
 * The narrow ZooKeeper interface the coordination code is written against. One implementation
 * talks to a real ensemble through the native `zookeeper` package; an in-memory one backs unit
 * tests. A shared contract suite holds both to the same behaviour.
 *
 * A client is one ZooKeeper session. When the session expires the client is dead for good (as
 * with the underlying library): `ZooKeeperSession` builds a new one and restores what the old
 * one had (ephemerals, watches).
 */

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent-sequential' | 'ephemeral-sequential';

/** ZooKeeper permission bits, as in the protocol. */
export const Perm = { read: 1, write: 2, create: 4, delete: 8, admin: 16, all: 31 } as const;

export interface Acl {
  readonly perms: number;
  /** `world`, `digest`, `auth`, `ip`, … */
  readonly scheme: string;
  /** `anyone` for world; `user:base64(sha1(user:password))` for digest. */
  readonly id: string;
}

export const openAcl: readonly Acl[] = [{ perms: Perm.all, scheme: 'world', id: 'anyone' }];

/** Whether `acl` is the open ACL (anyone may do anything), what every node gets by default. */
export function isOpenAcl(acl: readonly Acl[]): boolean {
  return acl.length > 0 && acl.every((entry) => entry.scheme === 'world' && entry.id === 'anyone') && acl.some((entry) => entry.perms === openAcl[0]?.perms);
}

/**
 * Creates a node carrying `acl`. An open ACL is what every node gets anyway, so it is not set
 * again (one write saved); any other ACL is applied by the client before this resolves.
 */
export function createNode(zk: ZooKeeperClient, path: string, data: Buffer, mode: CreateMode, acl: readonly Acl[]): Promise<string> {
  return isOpenAcl(acl) ? zk.create(path, data, mode) : zk.create(path, data, mode, acl);
}

export interface ZNodeStat {
  /** Data version: the precondition of a conditional set or delete. */
  readonly version: number;
  /** Children version: bumps when a child is added or removed. */
  readonly cversion: number;
  /** ACL version: the precondition of a conditional setAcl. */
  readonly aversion: number;
  /** Session id owning an ephemeral node, `'0'` for persistent nodes. */
  readonly ephemeralOwner: string;
  readonly dataLength: number;
  readonly numChildren: number;
  readonly ctime: number;
  readonly mtime: number;
}

/** `-1`: any version (an unconditional write). */
export const anyVersion = -1;

export interface NodeData {
  readonly data: Buffer;
  readonly stat: ZNodeStat;
}

/** What a one-shot watch reports. `lost` means the session ended before the watch fired. */
export type WatchEventType = 'created' | 'deleted' | 'changed' | 'children' | 'lost';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly path: string;
}

export type Watcher = (event: WatchEvent) => void;

export type ConnectionState = 'connecting' | 'connected' | 'expired' | 'closed' | 'auth-failed';

export interface ZooKeeperClient {
  /** The session id (hex), stable for the life of this client. */
  readonly sessionId: string;
  readonly state: ConnectionState;

  /** Creates a node; with `acl`, the node is locked down before this resolves. Returns its path. */
  create(path: string, data: Buffer, mode?: CreateMode, acl?: readonly Acl[]): Promise<string>;
  get(path: string, watcher?: Watcher): Promise<NodeData>;
  /** The node's stat, or null when it does not exist; the watcher fires on create/delete/change. */
  exists(path: string, watcher?: Watcher): Promise<ZNodeStat | null>;
  /** Conditional when `version` is not `anyVersion`: fails with SK_ZK_BAD_VERSION if it changed. */
  set(path: string, data: Buffer, version: number): Promise<ZNodeStat>;
  delete(path: string, version: number): Promise<void>;
  children(path: string, watcher?: Watcher): Promise<string[]>;
  getAcl(path: string): Promise<{ readonly acl: Acl[]; readonly stat: ZNodeStat }>;
  setAcl(path: string, acl: readonly Acl[], aclVersion: number): Promise<void>;
  /** Adds credentials to the session (e.g. `digest`, `user:password`). */
  addAuth(scheme: string, credential: string): Promise<void>;

  /** Fires on every connection state change of this session. */
  onStateChange(listener: (state: ConnectionState) => void): () => void;
  close(): Promise<void>;
}

export interface ZooKeeperConnectOptions {
  /** `host:port[,host:port...][/chroot]` */
  readonly connectString: string;
  readonly sessionTimeoutMs?: number;
  /** How long `connect` waits for the first connection before failing. */
  readonly connectTimeoutMs?: number;
  /** Credentials added right after connecting, before the client is handed out. */
  readonly auth?: readonly { readonly scheme: string; readonly credential: string }[];
}

/** Builds clients; the session layer uses it to replace an expired client. */
export type ZooKeeperConnector = (options: ZooKeeperConnectOptions) => Promise<ZooKeeperClient>;

/** Parent of a znode path (`/a/b` → `/a`; `/a` → `/`). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function joinPath(...parts: string[]): string {
  const joined = parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '')
    .join('/');
  return `/${joined}`;
}
