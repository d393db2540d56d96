/**
 * An in-memory ZooKeeper for unit tests: sessions, ephemerals, sequential nodes, versions,
 * one-shot watches, digest ACLs, and the two failures that matter to callers — a connection
 * loss (the session survives) and a session expiry (the client is dead). The contract suite
 * keeps it honest against a real server.
 */
import { StreamkeeperError } from '../../errors/index.js';
import {
  Perm,
  anyVersion,
  openAcl,
  parentPath,
  type Acl,
  type ConnectionState,
  type CreateMode,
  type NodeData,
  type Watcher,
  type ZNodeStat,
  type ZooKeeperClient,
  type ZooKeeperConnectOptions,
} from './client.js';
import { digestId } from './digest.js';
import { ZkRc, zkError } from './errors.js';

interface Node {
  data: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: string;
  acl: Acl[];
  ctime: number;
  mtime: number;
  sequence: number;
}

interface PendingWatch {
  readonly session: InMemorySession;
  readonly watcher: Watcher;
}

/** The maximum data size, as ZooKeeper's default jute.maxbuffer (1 MiB). */
export const maxZNodeBytes = 1024 * 1024;

export class InMemoryZooKeeper {
  private readonly nodes = new Map<string, Node>([['/', newNode(Buffer.alloc(0), '0', [...openAcl], 0)]]);
  private readonly dataWatches = new Map<string, PendingWatch[]>();
  private readonly childWatches = new Map<string, PendingWatch[]>();
  private readonly sessions = new Map<string, InMemorySession>();
  private nextSession = 1;
  /** Counts successful writes as the server sees them (create, set, delete, setAcl; a create with an ACL is two), for tests that budget writes. */
  writes = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** A ZooKeeperConnector for code under test. */
  readonly connect = async (options?: Partial<ZooKeeperConnectOptions>): Promise<ZooKeeperClient> => {
    await Promise.resolve();
    const id = (this.nextSession++).toString(16).padStart(16, '0');
    const session = new InMemorySession(this, id);
    this.sessions.set(id, session);
    for (const { scheme, credential } of options?.auth ?? []) await session.addAuth(scheme, credential);
    return session;
  };

  /** Ends a session as the server would on timeout: ephemerals go, its watches are lost. */
  expire(sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return;
    this.sessions.delete(sessionId);
    this.dropSessionWatches(session);
    session.end('expired');
    for (const [path, node] of [...this.nodes]) {
      if (node.ephemeralOwner === sessionId) this.removeNode(path);
    }
  }

  /** Simulates a connection loss: calls fail with SK_ZK_CONNECTION_LOSS until `reconnect`. */
  disconnect(sessionId: string): void {
    this.sessions.get(sessionId)?.setState('connecting');
  }

  reconnect(sessionId: string): void {
    this.sessions.get(sessionId)?.setState('connected');
  }

  liveSessions(): string[] {
    return [...this.sessions.keys()];
  }

  /** Test inspection: every path currently in the tree. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  // ---- operations (called by sessions) ----

  private node(path: string, operation: string): Node {
    const node = this.nodes.get(path);
    if (node === undefined) throw zkError(ZkRc.noNode, operation, path);
    return node;
  }

  private checkPerm(session: InMemorySession, node: Node, perm: number, operation: string, path: string): void {
    const allowed = node.acl.some((entry) => (entry.perms & perm) !== 0 && (entry.scheme === 'world' ? entry.id === 'anyone' : session.hasIdentity(entry.scheme, entry.id)));
    if (!allowed) throw zkError(ZkRc.noAuth, operation, path);
  }

  create(session: InMemorySession, path: string, data: Buffer, mode: CreateMode, acl: readonly Acl[] | undefined): string {
    validatePath(path, 'create');
    if (data.length > maxZNodeBytes) throw zkError(ZkRc.badArguments, 'create', path, 'data larger than the znode limit');
    const parent = this.node(parentPath(path), 'create');
    this.checkPerm(session, parent, Perm.create, 'create', path);
    if (parent.ephemeralOwner !== '0') throw zkError(ZkRc.noChildrenForEphemerals, 'create', path);
    const sequential = mode === 'persistent-sequential' || mode === 'ephemeral-sequential';
    const actual = sequential ? `${path}${String(parent.sequence).padStart(10, '0')}` : path;
    if (sequential) parent.sequence += 1;
    if (this.nodes.has(actual)) throw zkError(ZkRc.nodeExists, 'create', actual);
    const owner = mode === 'ephemeral' || mode === 'ephemeral-sequential' ? session.sessionId : '0';
    const locked = acl !== undefined;
    const node = newNode(data, owner, expandAcl(session, acl ?? openAcl), this.now());
    // Like the native adapter, which creates with an open ACL and then sets the requested one:
    // two writes, and the node's ACL version is 1.
    if (locked) node.aversion = 1;
    this.nodes.set(actual, node);
    parent.cversion += 1;
    this.writes += locked ? 2 : 1;
    this.fire(this.dataWatches, actual, 'created');
    this.fire(this.childWatches, parentPath(actual), 'children');
    return actual;
  }

  get(session: InMemorySession, path: string, watcher?: Watcher): NodeData {
    const node = this.node(path, 'get');
    this.checkPerm(session, node, Perm.read, 'get', path);
    if (watcher !== undefined) this.watch(this.dataWatches, path, session, watcher);
    return { data: Buffer.from(node.data), stat: statOf(node, this.childCount(path)) };
  }

  exists(session: InMemorySession, path: string, watcher?: Watcher): ZNodeStat | null {
    if (watcher !== undefined) this.watch(this.dataWatches, path, session, watcher);
    const node = this.nodes.get(path);
    return node === undefined ? null : statOf(node, this.childCount(path));
  }

  set(session: InMemorySession, path: string, data: Buffer, version: number): ZNodeStat {
    const node = this.node(path, 'set');
    this.checkPerm(session, node, Perm.write, 'set', path);
    if (version !== anyVersion && version !== node.version) throw zkError(ZkRc.badVersion, 'set', path);
    if (data.length > maxZNodeBytes) throw zkError(ZkRc.badArguments, 'set', path, 'data larger than the znode limit');
    node.data = Buffer.from(data);
    node.version += 1;
    node.mtime = this.now();
    this.writes += 1;
    this.fire(this.dataWatches, path, 'changed');
    return statOf(node, this.childCount(path));
  }

  delete(session: InMemorySession, path: string, version: number): void {
    const node = this.node(path, 'delete');
    const parent = this.node(parentPath(path), 'delete');
    this.checkPerm(session, parent, Perm.delete, 'delete', path);
    if (version !== anyVersion && version !== node.version) throw zkError(ZkRc.badVersion, 'delete', path);
    if (this.childCount(path) > 0) throw zkError(ZkRc.notEmpty, 'delete', path);
    this.removeNode(path);
    this.writes += 1;
  }

  children(session: InMemorySession, path: string, watcher?: Watcher): string[] {
    const node = this.node(path, 'children');
    this.checkPerm(session, node, Perm.read, 'children', path);
    if (watcher !== undefined) this.watch(this.childWatches, path, session, watcher);
    return this.childNames(path);
  }

  getAcl(session: InMemorySession, path: string): { acl: Acl[]; stat: ZNodeStat } {
    const node = this.node(path, 'getAcl');
    // As on a real server: reading an ACL needs read or admin permission on the node.
    this.checkPerm(session, node, Perm.read | Perm.admin, 'getAcl', path);
    return { acl: node.acl.map((a) => ({ ...a })), stat: statOf(node, this.childCount(path)) };
  }

  setAcl(session: InMemorySession, path: string, acl: readonly Acl[], aclVersion: number): void {
    const node = this.node(path, 'setAcl');
    this.checkPerm(session, node, Perm.admin, 'setAcl', path);
    if (aclVersion !== anyVersion && aclVersion !== node.aversion) throw zkError(ZkRc.badVersion, 'setAcl', path);
    node.acl = expandAcl(session, acl);
    node.aversion += 1;
    this.writes += 1;
  }

  // ---- internals ----

  private childNames(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const candidate of this.nodes.keys()) {
      if (candidate !== '/' && candidate.startsWith(prefix) && !candidate.slice(prefix.length).includes('/')) names.push(candidate.slice(prefix.length));
    }
    return names.sort();
  }

  private childCount(path: string): number {
    return this.childNames(path).length;
  }

  private removeNode(path: string): void {
    this.nodes.delete(path);
    const parent = this.nodes.get(parentPath(path));
    if (parent !== undefined) parent.cversion += 1;
    this.fire(this.dataWatches, path, 'deleted');
    this.fire(this.childWatches, path, 'deleted');
    this.fire(this.childWatches, parentPath(path), 'children');
  }

  private watch(table: Map<string, PendingWatch[]>, path: string, session: InMemorySession, watcher: Watcher): void {
    const list = table.get(path) ?? [];
    list.push({ session, watcher });
    table.set(path, list);
  }

  private fire(table: Map<string, PendingWatch[]>, path: string, type: 'created' | 'deleted' | 'changed' | 'children'): void {
    const list = table.get(path);
    if (list === undefined) return;
    table.delete(path);
    for (const { watcher } of list) {
      // Like a real server, notifications arrive after the write that caused them returns.
      setImmediate(() => {
        watcher({ type, path });
      });
    }
  }

  private dropSessionWatches(session: InMemorySession): void {
    for (const table of [this.dataWatches, this.childWatches]) {
      for (const [path, list] of [...table]) {
        const kept = list.filter((w) => w.session !== session);
        if (kept.length === 0) table.delete(path);
        else table.set(path, kept);
      }
    }
  }

  /** Called when a session closes itself: its ephemerals go at once. */
  closeSession(session: InMemorySession): void {
    if (!this.sessions.has(session.sessionId)) return;
    this.sessions.delete(session.sessionId);
    this.dropSessionWatches(session);
    for (const [path, node] of [...this.nodes]) {
      if (node.ephemeralOwner === session.sessionId) this.removeNode(path);
    }
  }
}

function newNode(data: Buffer, ephemeralOwner: string, acl: Acl[], now: number): Node {
  return { data: Buffer.from(data), version: 0, cversion: 0, aversion: 0, ephemeralOwner, acl, ctime: now, mtime: now, sequence: 0 };
}

function statOf(node: Node, numChildren: number): ZNodeStat {
  return {
    version: node.version,
    cversion: node.cversion,
    aversion: node.aversion,
    ephemeralOwner: node.ephemeralOwner,
    dataLength: node.data.length,
    numChildren,
    ctime: node.ctime,
    mtime: node.mtime,
  };
}

function validatePath(path: string, operation: string): void {
  if (!path.startsWith('/') || (path.length > 1 && path.endsWith('/')) || path.includes('//')) {
    throw zkError(ZkRc.badArguments, operation, path, 'invalid path');
  }
}

/** The `auth` scheme means "whoever this session is authenticated as", as on a real server. */
function expandAcl(session: InMemorySession, acl: readonly Acl[]): Acl[] {
  const expanded: Acl[] = [];
  for (const entry of acl) {
    if (entry.scheme === 'auth') {
      const ids = session.identities();
      if (ids.length === 0) throw zkError(ZkRc.invalidAcl, 'setAcl', '', 'auth scheme needs an authenticated session');
      for (const id of ids) expanded.push({ perms: entry.perms, scheme: id.scheme, id: id.id });
    } else {
      expanded.push({ ...entry });
    }
  }
  return expanded;
}

class InMemorySession implements ZooKeeperClient {
  private currentState: ConnectionState = 'connected';
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  private readonly ids: { scheme: string; id: string }[] = [];
  private readonly pending = new Set<Watcher>();

  constructor(
    private readonly server: InMemoryZooKeeper,
    readonly sessionId: string,
  ) {}

  get state(): ConnectionState {
    return this.currentState;
  }

  hasIdentity(scheme: string, id: string): boolean {
    return this.ids.some((i) => i.scheme === scheme && i.id === id);
  }

  identities(): { scheme: string; id: string }[] {
    return [...this.ids];
  }

  setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    for (const listener of [...this.listeners]) listener(state);
  }

  end(state: 'expired' | 'closed'): void {
    this.setState(state);
    const watchers = [...this.pending];
    this.pending.clear();
    for (const w of watchers) w({ type: 'lost', path: '' });
  }

  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async run<T>(operation: string, path: string, body: () => T): Promise<T> {
    await Promise.resolve();
    if (this.currentState === 'connecting') throw zkError(ZkRc.connectionLoss, operation, path);
    if (this.currentState !== 'connected') throw zkError(ZkRc.sessionExpired, operation, path, 'the ZooKeeper session is closed or expired');
    return body();
  }

  private track(watcher: Watcher | undefined): Watcher | undefined {
    if (watcher === undefined) return undefined;
    this.pending.add(watcher);
    return (event) => {
      if (!this.pending.delete(watcher)) return;
      watcher(event);
    };
  }

  create(path: string, data: Buffer, mode: CreateMode = 'persistent', acl?: readonly Acl[]): Promise<string> {
    return this.run('create', path, () => this.server.create(this, path, data, mode, acl));
  }

  get(path: string, watcher?: Watcher): Promise<NodeData> {
    return this.run('get', path, () => this.server.get(this, path, this.track(watcher)));
  }

  exists(path: string, watcher?: Watcher): Promise<ZNodeStat | null> {
    return this.run('exists', path, () => this.server.exists(this, path, this.track(watcher)));
  }

  set(path: string, data: Buffer, version: number): Promise<ZNodeStat> {
    return this.run('set', path, () => this.server.set(this, path, data, version));
  }

  delete(path: string, version: number): Promise<void> {
    return this.run('delete', path, () => {
      this.server.delete(this, path, version);
    });
  }

  children(path: string, watcher?: Watcher): Promise<string[]> {
    return this.run('children', path, () => this.server.children(this, path, this.track(watcher)));
  }

  getAcl(path: string): Promise<{ acl: Acl[]; stat: ZNodeStat }> {
    return this.run('getAcl', path, () => this.server.getAcl(this, path));
  }

  setAcl(path: string, acl: readonly Acl[], aclVersion: number): Promise<void> {
    return this.run('setAcl', path, () => {
      this.server.setAcl(this, path, acl, aclVersion);
    });
  }

  addAuth(scheme: string, credential: string): Promise<void> {
    return this.run('addAuth', scheme, () => {
      if (scheme !== 'digest') throw new StreamkeeperError('SK_ZK_NO_AUTH', `addAuth: unsupported scheme ${scheme}`);
      const separator = credential.indexOf(':');
      const id = digestId({ user: credential.slice(0, separator), password: credential.slice(separator + 1) });
      if (!this.hasIdentity('digest', id)) this.ids.push({ scheme: 'digest', id });
    });
  }

  close(): Promise<void> {
    if (this.currentState === 'closed' || this.currentState === 'expired') return Promise.resolve();
    this.server.closeSession(this);
    this.end('closed');
    return Promise.resolve();
  }
}
