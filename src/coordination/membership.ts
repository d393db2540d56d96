/**
 * Which executors of a job are alive: each executor keeps an ephemeral `executors/<pod>` node
 * (re-created by its session after expiry); the operator and the driver watch the set. The node
 * also carries the executor's state, so a drain request from the operator reaches the executor
 * through a watch and survives the executor's session being replaced.
 */
import { StreamkeeperError, isStreamkeeperError } from '../errors/index.js';
import { systemClock, type Clock } from '../machinery/clock.js';
import type { CoordinationLayout, JobRef } from './layout.js';
import type { EphemeralNode, Subscription, ZooKeeperSession } from './session.js';
import type { Acl, NodeData } from './zookeeper/client.js';

export type ExecutorState = 'active' | 'draining';

/** The content of `executors/<pod>`. */
export interface ExecutorRegistration {
  readonly pod: string;
  /** ISO time the executor process registered first. */
  readonly startedAt: string;
  readonly state: ExecutorState;
}

/** A registration as seen by others: plus the ZooKeeper session that owns the node. */
export interface LiveExecutor extends ExecutorRegistration {
  readonly session: string;
}

export type ExecutorSet = ReadonlyMap<string, LiveExecutor>;

export function encodeRegistration(registration: ExecutorRegistration): Buffer {
  return Buffer.from(JSON.stringify(registration));
}

/** Reads a registration; anything unreadable counts as an active executor (its node is what matters). */
export function decodeRegistration(pod: string, node: NodeData): LiveExecutor {
  let parsed: Partial<ExecutorRegistration> = {};
  try {
    parsed = JSON.parse(node.data.toString('utf8')) as Partial<ExecutorRegistration>;
  } catch {
    // fall through with defaults
  }
  return {
    pod,
    startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : '',
    state: parsed.state === 'draining' ? 'draining' : 'active',
    session: node.stat.ephemeralOwner,
  };
}

/** Executors that may be given tasks: live and not draining, by name. */
export function activeExecutors(executors: ExecutorSet): string[] {
  return [...executors.values()]
    .filter((e) => e.state === 'active')
    .map((e) => e.pod)
    .sort();
}

export type DrainRequestOutcome = 'requested' | 'already-draining' | 'not-registered';

const maxDrainAttempts = 8;

/**
 * Deletes the ephemeral registration of a pod whose process is known to be dead, at `version` as
 * read, instead of leaving it until its session times out. Safe only while no new process of the
 * same pod can exist: the caller creates the replacement pod after this returns.
 */
export async function removeDeadRegistration(session: ZooKeeperSession, path: string, version: number): Promise<void> {
  try {
    await session.delete(path, version);
  } catch (err) {
    if (!isStreamkeeperError(err, 'SK_ZK_NO_NODE') && !isStreamkeeperError(err, 'SK_ZK_BAD_VERSION')) throw err;
  }
}

export class ExecutorMembership {
  private readonly clock: Clock;

  constructor(
    private readonly session: ZooKeeperSession,
    private readonly layout: CoordinationLayout,
    options: { readonly clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Executor side: registers this pod. `acl` is the job's ACL (see `readJobAcl`). */
  async register(job: JobRef, pod: string, acl: readonly Acl[]): Promise<ExecutorRegistrationHandle> {
    const registration: ExecutorRegistration = { pod, startedAt: new Date(this.clock.now()).toISOString(), state: 'active' };
    const node = await this.session.registerEphemeral(this.layout.executor(job, pod), encodeRegistration(registration), acl);
    return new ExecutorRegistrationHandle(this.session, node, registration);
  }

  /** The live executors right now. */
  async read(job: JobRef): Promise<ExecutorSet> {
    let pods: string[];
    try {
      pods = await this.session.children(this.layout.executors(job));
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return new Map();
      throw err;
    }
    const nodes = await Promise.all(pods.map(async (pod) => ({ pod, node: await this.session.getIfExists(this.layout.executor(job, pod)) })));
    const set = new Map<string, LiveExecutor>();
    for (const { pod, node } of nodes) if (node !== null) set.set(pod, decodeRegistration(pod, node));
    return set;
  }

  /** Delivers the live set now and after every registration, departure or state change. */
  watch(job: JobRef, listener: (executors: ExecutorSet) => void, onError?: (err: unknown) => void): Subscription {
    return this.session.watchChildrenData(
      this.layout.executors(job),
      (children) => {
        const set = new Map<string, LiveExecutor>();
        for (const [pod, node] of children) set.set(pod, decodeRegistration(pod, node));
        listener(set);
      },
      onError,
    );
  }

  /**
   * Operator side: asks an executor to drain (it stops taking tasks and hands back the ones it
   * has not started). Level-based: call it on every pass until the executor is drained.
   */
  async requestDrain(job: JobRef, pod: string): Promise<DrainRequestOutcome> {
    const path = this.layout.executor(job, pod);
    for (let attempt = 0; attempt < maxDrainAttempts; attempt += 1) {
      const node = await this.session.getIfExists(path);
      if (node === null) return 'not-registered';
      const current = decodeRegistration(pod, node);
      if (current.state === 'draining') return 'already-draining';
      const next: ExecutorRegistration = { pod, startedAt: current.startedAt, state: 'draining' };
      try {
        await this.session.set(path, encodeRegistration(next), node.stat.version);
        return 'requested';
      } catch (err) {
        if (isStreamkeeperError(err, 'SK_ZK_NO_NODE')) return 'not-registered';
        if (!isStreamkeeperError(err, 'SK_ZK_BAD_VERSION')) throw err;
      }
    }
    throw new StreamkeeperError('SK_ZK_BAD_VERSION', `${path} kept changing while a drain was being requested`, { field: path });
  }
}

/** An executor's own registration. */
export class ExecutorRegistrationHandle {
  private current: ExecutorRegistration;
  private readonly drainListeners = new Set<() => void>();
  private ownWatch: Subscription | undefined;

  constructor(
    private readonly session: ZooKeeperSession,
    private readonly node: EphemeralNode,
    registration: ExecutorRegistration,
  ) {
    this.current = registration;
  }

  get state(): ExecutorState {
    return this.current.state;
  }

  /** Scale-down or rolling update seen by the executor itself (e.g. SIGTERM). */
  async markDraining(): Promise<void> {
    if (this.current.state === 'draining') return;
    this.current = { ...this.current, state: 'draining' };
    await this.node.update(encodeRegistration(this.current));
    this.notifyDrain();
  }

  /** Called once when a drain is asked for, by the operator (through the node) or `markDraining`. */
  onDrainRequested(listener: () => void): () => void {
    this.drainListeners.add(listener);
    this.ownWatch ??= this.session.watchData(this.node.path, (node) => {
      if (node === null || this.current.state === 'draining') return;
      if (decodeRegistration(this.current.pod, node).state !== 'draining') return;
      // The operator wrote it: keep it for re-creation after expiry, without writing again.
      this.current = { ...this.current, state: 'draining' };
      this.node.remember(encodeRegistration(this.current));
      this.notifyDrain();
    });
    if (this.current.state === 'draining') listener();
    return () => this.drainListeners.delete(listener);
  }

  private notifyDrain(): void {
    for (const listener of [...this.drainListeners]) listener();
  }

  async deregister(): Promise<void> {
    this.ownWatch?.close();
    await this.node.remove();
  }
}
