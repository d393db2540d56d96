/**
 * What the operator does for a job's runtime, played in-process by runtime tests: sets up the
 * job's subtree, publishes its config, and runs the Rescheduler on membership changes (an
 * executor's node going, or its process seen ending — `podTerminated`) and periodically, as the
 * operator's level-based passes do.
 */
import { randomBytes } from 'node:crypto';
import { defaultPartitionGroups } from '../../src/api/v1alpha1/index.js';
import { AclScheme, jobUser } from '../../src/coordination/acl.js';
import { ConfigMirror, type JobConfigContent } from '../../src/coordination/config-mirror.js';
import { CoordinationLayout, type JobRef } from '../../src/coordination/layout.js';
import { ExecutorMembership, type ExecutorSet } from '../../src/coordination/membership.js';
import { Rescheduler } from '../../src/coordination/rescheduler.js';
import { ZooKeeperSession } from '../../src/coordination/session.js';
import { deleteJobSubtree, ensureJobSubtree } from '../../src/coordination/subtree.js';
import type { Subscription } from '../../src/coordination/session.js';
import type { ZooKeeperConnector } from '../../src/coordination/zookeeper/client.js';
import { digestAuth, generateCredential, type DigestCredential } from '../../src/coordination/zookeeper/digest.js';

export function jobConfig(overrides: Partial<JobConfigContent> & { readonly topics?: readonly string[]; readonly sinkTopic?: string; readonly brokers?: readonly string[] } = {}): JobConfigContent {
  const { topics = ['in'], sinkTopic = 'out', brokers = ['127.0.0.1:9092'], ...rest } = overrides;
  return {
    config: {},
    processor: { name: 'passthrough', params: {} },
    batchInterval: '100ms',
    maxRecordsPerPartition: 1000,
    // What the operator mirrors for a spec without the field: the runtime runs the grouped protocol.
    partitionGroups: defaultPartitionGroups,
    maxTaskAttempts: 4,
    source: { bootstrapServers: [...brokers], topics: [...topics], startingOffsets: 'earliest' },
    sink: { bootstrapServers: [...brokers], topic: sinkTopic, delivery: 'exactlyOnce' },
    failurePolicy: { onTaskExhausted: 'fail', poisonRecords: 'fail' },
    ...rest,
  };
}

export class OperatorStandIn {
  readonly root = `/sk-${randomBytes(4).toString('hex')}`;
  readonly layout = new CoordinationLayout(this.root);
  readonly credential: DigestCredential;
  readonly errors: unknown[] = [];
  private readonly operatorCredential = generateCredential('streamkeeper-operator');
  private readonly scheme = AclScheme.digest(this.operatorCredential);
  private session: ZooKeeperSession | undefined;
  private rescheduler: Rescheduler | undefined;
  private subscription: Subscription | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private last: ExecutorSet | undefined;
  private generation = 0;
  private passes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connector: ZooKeeperConnector,
    private readonly connectString: string,
    readonly job: JobRef,
    private maxTaskAttempts = 4,
  ) {
    this.credential = generateCredential(jobUser(job));
  }

  get operator(): ZooKeeperSession {
    if (this.session === undefined) throw new Error('not started');
    return this.session;
  }

  /** A session authenticated as the job, as its pods have. */
  jobSession(): Promise<ZooKeeperSession> {
    return ZooKeeperSession.open({ connector: this.connector, connectString: this.connectString, auth: [digestAuth(this.credential)], sessionTimeoutMs: 4000, backoff: { initialMs: 10, maxMs: 250 } });
  }

  async start(config: JobConfigContent, reschedulePeriodMs = 200): Promise<void> {
    this.session = await ZooKeeperSession.open({ connector: this.connector, connectString: this.connectString, auth: this.scheme.operatorAuth, sessionTimeoutMs: 4000, backoff: { initialMs: 10, maxMs: 250 } });
    await ensureJobSubtree(this.session, this.layout, this.job, { ancestors: this.scheme.ancestors(), job: this.scheme.job(this.credential) });
    await this.publish(config);
    this.rescheduler = new Rescheduler(this.session, this.layout);
    this.subscription = new ExecutorMembership(this.session, this.layout).watch(this.job, (executors) => {
      for (const [pod, before] of this.last ?? []) {
        const now = executors.get(pod);
        if (before.state === 'active' && (now === undefined || now.session !== before.session)) void this.schedule((r) => r.executorGone(this.job, pod, 'znode-gone', this.policy(), before.session));
      }
      this.last = executors;
      void this.schedule((r) => r.reconcile(this.job, this.policy()));
    });
    this.timer = setInterval(() => {
      void this.schedule((r) => r.reconcile(this.job, this.policy()));
    }, reschedulePeriodMs);
  }

  async publish(config: JobConfigContent): Promise<string> {
    this.maxTaskAttempts = config.maxTaskAttempts;
    this.generation += 1;
    return (await new ConfigMirror(this.operator, this.layout).publish(this.job, this.generation, config)).hash;
  }

  /**
   * The StreamingJob was deleted: the operator fences the job's subtree and removes it, while the
   * pods still run (they go later, with their owner).
   */
  async deleteJob(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.subscription?.close();
    await this.passes;
    await deleteJobSubtree(this.operator, this.layout, this.job, this.scheme.fence());
  }

  /** The Pod informer saw the pod's process end. */
  podTerminated(pod: string): Promise<unknown> {
    return this.schedule((r) => r.executorGone(this.job, pod, 'pod-terminated', this.policy()));
  }

  private policy(): { maxTaskAttempts: number } {
    return { maxTaskAttempts: this.maxTaskAttempts };
  }

  /** One pass at a time, as the operator's work queue runs one reconcile per key. */
  private schedule(pass: (rescheduler: Rescheduler) => Promise<unknown>): Promise<unknown> {
    const rescheduler = this.rescheduler;
    if (rescheduler === undefined) return Promise.resolve();
    this.passes = this.passes.then(() => pass(rescheduler)).catch((err: unknown) => {
      if (this.session?.isClosed !== true) this.errors.push(err);
    });
    return this.passes;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.subscription?.close();
    await this.passes;
    await this.session?.close();
  }
}
