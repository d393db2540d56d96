/**
 * An executor process: registers its ephemeral node, watches the job's tasks and runs the ones
 * assigned to it (a few at a time), each with what its batch recorded when it was planned (it
 * never reads the live configuration), and completes each with its claim (owner, attempt). Draining — asked by the operator through its
 * node, or SIGTERM — hands back every task not started, finishes the running ones and ends.
 */
import { readJobAcl } from '../coordination/acl.js';
import { jobKey, type CoordinationLayout, type JobRef } from '../coordination/layout.js';
import { ExecutorMembership, type ExecutorRegistrationHandle } from '../coordination/membership.js';
import type { Subscription, ZooKeeperSession } from '../coordination/session.js';
import { TaskLedger, type CompletionResult, type VersionedTask } from '../coordination/task-ledger.js';
import type { TaskClaim, TaskRecord } from '../coordination/task-state.js';
import { StreamkeeperError, classify, isStreamkeeperError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { batchPlan, type BatchPlanContext } from './job-settings.js';
import { JobPresence } from './job-presence.js';
import type { KafkaClient } from './kafka/index.js';
import { noopExecutorObserver, type ExecutorObserver, type TaskOutcome } from './observer.js';
import { ProcessorRegistry } from './processors/processor-runner.js';
import { TaskRunner, type TaskResult } from './task-runner.js';
import { systemClock, type Clock, type Timer } from '../machinery/clock.js';
import { repartitionTopic } from './kafka-names.js';
import { heldBy, observePlacements, type ObservedPlacement } from './stateful/placement.js';

/** Builds a Kafka client for one side of the job (source or sink) and its brokers. */
export type KafkaClientFactory = (side: 'source' | 'sink', brokers: readonly string[]) => KafkaClient;

export interface ExecutorOptions {
  readonly session: ZooKeeperSession;
  readonly layout: CoordinationLayout;
  readonly job: JobRef;
  readonly pod: string;
  readonly kafka: KafkaClientFactory;
  /** Tasks run at once (they wait on Kafka much more than on the CPU); moved tasks may use twice as many. */
  readonly maxConcurrentTasks?: number;
  readonly processors?: ProcessorRegistry;
  readonly observer?: ExecutorObserver;
  readonly logger?: Logger;
  readonly readTimeoutMs?: number;
  readonly clock?: Clock;
}

/** How often warm standby copies of state partitions read what their changelogs committed. */
const standbyRefreshMs = 500;
/** Batches whose plan is kept (tasks of one batch arrive together). */
const batchCacheSize = 64;
/** Runs of one attempt on this executor after transient failures, before it is reported failed. */
const localAttempts = 3;

function claimKey(task: TaskRecord): string {
  return `${task.id}#${task.attempt}`;
}

/**
 * Batch by batch (a partition's ranges are committed in order); within a batch, tasks moved from
 * a dead or failed executor first — the batch already waited for them — then by id.
 */
export function runOrder(a: TaskRecord, b: TaskRecord): number {
  if (a.batch !== b.batch) return a.batch < b.batch ? -1 : 1;
  const moved = Number(b.attempt > 1) - Number(a.attempt > 1);
  if (moved !== 0) return moved;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Whether the queue's head may start with `running` tasks under way. A task moved from a dead or
 * failed executor may use up to twice the limit: a takeover of several state partitions then runs
 * them at once instead of waiting, task by task, behind this executor's own work. Bounded still:
 * what one executor held, and at most 2 × `maxConcurrent` at once.
 */
export function mayStart(task: TaskRecord, running: number, maxConcurrent: number): boolean {
  return running < (task.attempt > 1 ? 2 * maxConcurrent : maxConcurrent);
}

interface RunningTask {
  readonly claim: TaskClaim;
  lost: boolean;
}

export class Executor {
  private readonly logger: Logger;
  private readonly observer: ExecutorObserver;
  private readonly ledger: TaskLedger;
  private readonly membership: ExecutorMembership;
  private readonly processors: ProcessorRegistry;
  private readonly maxConcurrent: number;
  private readonly batchPlans = new Map<string, Promise<BatchPlanContext>>();
  private readonly runners = new Map<string, TaskRunner>();
  /** Claims taken up (queued, running or done): each is processed once, however often it is delivered. */
  private readonly taken = new Set<string>();
  private queue: TaskRecord[] = [];
  /** When each claim taken up was first seen (clock ms), for the timeline a takeover logs. */
  private readonly receivedAt = new Map<string, number>();
  private readonly running = new Map<string, RunningTask>();
  private readonly subscriptions: Subscription[] = [];
  private registration: ExecutorRegistrationHandle | undefined;
  private draining = false;
  private stopped = false;
  /** The job's ZooKeeper data is gone: the job was deleted. */
  private gone = false;
  private drained: (() => void) | undefined;
  private readonly presence: JobPresence;
  private readonly clock: Clock;
  /** Who runs each state partition and who keeps standby copies, from the newest aggregate tasks seen. */
  private readonly statePlacements = new Map<number, ObservedPlacement>();
  /** The latest plan of a job with an aggregation, for refreshing standby copies between tasks. */
  private statefulPlan: BatchPlanContext | undefined;
  private standbyTimer: Timer | undefined;
  private refreshing = false;

  constructor(private readonly options: ExecutorOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = (options.logger ?? silentLogger()).child({ job: jobKey(options.job), pod: options.pod });
    this.observer = options.observer ?? noopExecutorObserver;
    this.ledger = new TaskLedger(options.session, options.layout);
    this.membership = new ExecutorMembership(options.session, options.layout);
    this.processors = options.processors ?? new ProcessorRegistry();
    this.maxConcurrent = options.maxConcurrentTasks ?? 4;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) throw new RangeError(`maxConcurrentTasks must be a positive integer (got ${this.maxConcurrent})`);
    this.presence = new JobPresence(options.session, options.layout, options.job);
  }

  /** Tasks running now and waiting to run, for readiness and tests. */
  get load(): { readonly running: number; readonly queued: number } {
    return { running: this.running.size, queued: this.queue.length };
  }

  get isRegistered(): boolean {
    return this.registration !== undefined;
  }

  /**
   * Registers and processes tasks until a drain completes (asked by the operator, or by `signal`,
   * e.g. SIGTERM) or the job's ZooKeeper data goes (the job was deleted). Resolves with the exit
   * code: 0 in either case.
   */
  async run(signal: AbortSignal): Promise<number> {
    const { session, layout, job, pod } = this.options;
    const finished = new Promise<void>((resolve) => {
      this.drained = resolve;
    });
    const onAbort = (): void => {
      void this.drain('stop requested (SIGTERM)');
    };
    try {
      this.subscriptions.push(this.presence.watch(() => { this.jobGone(); }));
      const acl = await readJobAcl(session, layout, job);
      this.registration = await this.membership.register(job, pod, acl);
      this.logger.info('executor registered');
      this.registration.onDrainRequested(() => {
        void this.drain('the operator asked this executor to drain');
      });
      this.subscriptions.push(
        this.ledger.watchTasks(job, (tasks) => { this.onTasks(tasks); }, (err) => {
          void this.watchFailed(err, 'warn', 'cannot read the job\'s tasks');
        }),
      );
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      await finished;
      if (!this.gone) this.logger.info('drained: every task finished or handed back');
      return 0;
    } catch (err) {
      if (this.gone || (await this.presence.explains(err))) {
        this.jobGone();
        return 0;
      }
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await this.shutdown();
    }
  }

  /**
   * The job was deleted: stop at once. Nothing is handed back (the tasks went with the job) and
   * running tasks are not waited for: their results have nowhere to go.
   */
  private jobGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.draining = true;
    this.queue = [];
    this.logger.info({ running: this.running.size }, 'the job\'s ZooKeeper data is gone (the StreamingJob was deleted); stopping');
    this.drained?.();
  }

  private async watchFailed(err: unknown, level: 'warn' | 'error', message: string): Promise<void> {
    if (await this.presence.explains(err)) this.jobGone();
    else this.logger[level]({ err: classify(err).message }, message);
  }

  private async shutdown(): Promise<void> {
    this.stopped = true;
    this.standbyTimer?.cancel();
    this.standbyTimer = undefined;
    for (const subscription of this.subscriptions.splice(0)) subscription.close();
    await this.registration?.deregister().catch((err: unknown) => {
      this.logger.warn({ err: classify(err).message }, 'could not remove the executor registration');
    });
    this.registration = undefined;
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.close()));
  }

  /** Stops taking tasks, hands back the queued ones, and ends once nothing runs. */
  private async drain(reason: string): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    this.logger.info({ reason, running: this.running.size, queued: this.queue.length }, 'draining');
    try {
      await this.registration?.markDraining();
    } catch (err) {
      this.logger.warn({ err: classify(err).message }, 'could not mark the registration as draining');
    }
    const queued = this.queue.splice(0);
    await Promise.all(queued.map((task) => this.release(task)));
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.draining && this.running.size === 0 && this.queue.length === 0) this.drained?.();
  }

  private async release(task: TaskRecord): Promise<void> {
    try {
      await this.ledger.release(this.options.job, task.id, { owner: task.owner, attempt: task.attempt });
      this.observer.taskFinished?.('released', 0);
      this.logger.info({ task: task.id, attempt: task.attempt }, 'task handed back (draining)');
    } catch (err) {
      if (!isStreamkeeperError(err, 'SK_TASK_STALE')) this.logger.warn({ task: task.id, err: classify(err).message }, 'could not hand a task back; the operator moves it when this executor is gone');
    }
  }

  private onTasks(tasks: ReadonlyMap<string, VersionedTask>): void {
    if (this.stopped) return;
    const { pod } = this.options;
    const held = (task: TaskRecord | undefined, claim: TaskClaim): boolean => task?.state === 'assigned' && task.owner === claim.owner && task.attempt === claim.attempt;
    for (const [id, running] of this.running) {
      if (!running.lost && !held(tasks.get(id)?.record, running.claim)) {
        running.lost = true;
        this.logger.warn({ task: id, attempt: running.claim.attempt }, 'this executor no longer holds a running task; its attempt aborts before committing');
      }
    }
    // Queued tasks that moved away (after a session expiry) are dropped.
    this.queue = this.queue.filter((task) => held(tasks.get(task.id)?.record, task));
    const present = new Set<string>();
    for (const { record } of tasks.values()) {
      present.add(claimKey(record));
      if (record.owner !== pod || record.state !== 'assigned' || this.taken.has(claimKey(record))) continue;
      this.taken.add(claimKey(record));
      this.receivedAt.set(claimKey(record), this.clock.now());
      if (this.draining) void this.release(record);
      else this.queue.push(record);
    }
    for (const key of this.taken) {
      if (!present.has(key) && !this.running.has(key.slice(0, key.lastIndexOf('#')))) {
        this.taken.delete(key);
        this.receivedAt.delete(key);
      }
    }
    this.queue.sort(runOrder);
    this.pump();
    observePlacements([...tasks.values()].map((t) => t.record), repartitionTopic(this.options.job), this.statePlacements);
    this.scheduleStandbyRefresh();
  }

  private scheduleStandbyRefresh(): void {
    if (this.stopped || this.draining || this.standbyTimer !== undefined || this.statePlacements.size === 0) return;
    this.standbyTimer = this.clock.setTimer(standbyRefreshMs, () => {
      void this.refreshStandbys().finally(() => {
        this.standbyTimer = undefined;
        this.scheduleStandbyRefresh();
      });
    });
  }

  /**
   * Keeps this executor's standby copies current and forgets state partitions it neither runs nor
   * stands by for. Standby copies are soft: a failure here only makes a later takeover restore more.
   */
  private async refreshStandbys(): Promise<void> {
    const plan = this.statefulPlan;
    const aggregation = plan?.processing.aggregation;
    if (this.refreshing || plan === undefined || aggregation === undefined) return;
    this.refreshing = true;
    try {
      const { owned, standby } = heldBy(this.statePlacements, this.options.pod);
      const runner = this.runnerFor(plan.brokers);
      await runner.forgetStatePartitions(this.options.job, new Set([...owned, ...standby]));
      if (standby.length === 0) return;
      const watermarks = await runner.changelogWatermarks(this.options.job);
      for (const partition of standby) {
        if (this.stopped || this.draining) return;
        const report = await runner.refreshStandby(this.options.job, partition, aggregation, watermarks);
        if (report === undefined) continue;
        if (report.full) this.logger.info(report, 'standby copy of a state partition restored from the changelog');
        else if (report.records > 0) this.logger.debug(report, 'standby copy of a state partition caught up');
      }
    } catch (err) {
      this.logger.warn({ err: classify(err).message }, 'cannot refresh the standby copies of state partitions; a takeover restores what they miss');
    } finally {
      this.refreshing = false;
    }
  }

  private pump(): void {
    if (this.stopped) return;
    while (!this.draining) {
      const head = this.queue[0];
      if (head === undefined || !mayStart(head, this.running.size, this.maxConcurrent)) break;
      const next = this.queue.shift();
      if (next === undefined) break;
      if (this.running.has(next.id)) {
        // An earlier attempt of the same task is still running here (it lost the task): wait.
        this.queue.unshift(next);
        break;
      }
      const entry: RunningTask = { claim: { owner: next.owner, attempt: next.attempt }, lost: false };
      this.running.set(next.id, entry);
      void this.runTask(next).finally(() => {
        this.running.delete(next.id);
        this.pump();
        this.checkDrained();
      });
    }
  }

  /** What the task's batch recorded when it was planned: all a task runs with. */
  private resolve(task: TaskRecord): Promise<BatchPlanContext> {
    let cached = this.batchPlans.get(task.batch);
    if (cached === undefined) {
      cached = this.ledger.readBatch(this.options.job, task.batch).then((batch) => {
        const plan = batchPlan(task.batch, batch?.record ?? null);
        if (plan.processing.aggregation !== undefined) this.statefulPlan = plan;
        return plan;
      });
      cached.catch(() => this.batchPlans.delete(task.batch));
      this.batchPlans.set(task.batch, cached);
      while (this.batchPlans.size > batchCacheSize) this.batchPlans.delete(this.batchPlans.keys().next().value as string);
    }
    return cached;
  }

  private runnerFor(brokers: BatchPlanContext['brokers']): TaskRunner {
    const key = `${brokers.source.join(',')}|${brokers.sink.join(',')}`;
    let runner = this.runners.get(key);
    if (runner === undefined) {
      runner = new TaskRunner({
        source: this.options.kafka('source', brokers.source),
        sink: this.options.kafka('sink', brokers.sink),
        processors: this.processors,
        logger: this.logger,
        observer: this.observer,
        clock: this.clock,
        ...(this.options.readTimeoutMs === undefined ? {} : { readTimeoutMs: this.options.readTimeoutMs }),
      });
      this.runners.set(key, runner);
    }
    return runner;
  }

  private async stillHeld(task: TaskRecord): Promise<boolean> {
    const current = await this.ledger.readTask(this.options.job, task.id);
    return current?.record.state === 'assigned' && current.record.owner === task.owner && current.record.attempt === task.attempt;
  }

  private async runTask(task: TaskRecord): Promise<void> {
    const started = this.clock.now();
    const logger = this.logger.child({ task: task.id, attempt: task.attempt });
    if (task.attempt > 1) this.observer.taskRetried?.();
    let outcome: TaskOutcome;
    try {
      const result = await this.attempt(task, logger);
      const stateReport = result.kind === 'processed' ? result.stateReport : undefined;
      await this.complete(task, { outcome: 'succeeded', ...(result.maxEventTime === undefined ? {} : { maxEventTime: result.maxEventTime }), ...(stateReport === undefined ? {} : { stateReport }) });
      outcome = result.kind === 'already-committed' ? 'already-committed' : 'succeeded';
      logger.debug({ result, ms: this.clock.now() - started }, 'task done');
    } catch (err) {
      if (this.gone) {
        outcome = 'stale';
        logger.info({ reason: classify(err).message }, 'task attempt abandoned: the job was deleted');
      } else if (isStreamkeeperError(err, 'SK_TASK_STALE')) {
        outcome = 'stale';
        logger.info({ reason: err.message }, 'task attempt superseded; its result is discarded');
      } else {
        const message = classify(err).message;
        logger.error({ err: message, ranges: task.ranges }, 'task failed');
        outcome = await this.complete(task, { outcome: 'failed', error: message.slice(0, 2048) }).then(
          () => 'failed' as const,
          (completion: unknown) => {
            if (isStreamkeeperError(completion, 'SK_TASK_STALE')) return 'stale' as const;
            logger.error({ err: classify(completion).message }, 'could not report the task failure; the operator moves the task when this executor is gone');
            return 'failed' as const;
          },
        );
      }
    }
    this.observer.taskFinished?.(outcome, (this.clock.now() - started) / 1000);
  }

  /**
   * Runs the task, trying again here after a transient failure (a broker or ZooKeeper hiccup)
   * before reporting it failed: a reported failure counts against maxTaskAttempts.
   */
  private async attempt(task: TaskRecord, logger: Logger): Promise<TaskResult> {
    for (let local = 1; ; local++) {
      try {
        const plan = await this.resolve(task);
        const receivedAt = this.receivedAt.get(claimKey(task));
        return await this.runnerFor(plan.brokers).run({ job: this.options.job, task, settings: plan.processing, config: plan.configMap, stillHeld: () => this.stillHeld(task), ...(plan.watermark === undefined ? {} : { watermark: plan.watermark }), ...(receivedAt === undefined ? {} : { receivedAt }) });
      } catch (err) {
        if (isStreamkeeperError(err, 'SK_TASK_STALE') || classify(err).kind !== 'transient' || local >= localAttempts || this.stopped) throw err;
        if (!(await this.stillHeld(task).catch(() => true))) throw new StreamkeeperError('SK_TASK_STALE', `task ${task.id} moved on while attempt ${task.attempt} was retried after: ${classify(err).message}`);
        const delay = this.options.session.retryDelay(local + 2);
        logger.warn({ err: classify(err).message, retryInMs: delay }, 'task hit a transient failure; trying again');
        await this.options.session.sleep(delay);
      }
    }
  }

  /**
   * Records the outcome with the attempt's claim. Transient ZooKeeper failures are retried until
   * the write lands or the task is found to have moved on (stale): a finished task must not stay
   * held by a live executor.
   */
  private async complete(task: TaskRecord, result: CompletionResult): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ledger.complete(this.options.job, task.id, { owner: task.owner, attempt: task.attempt }, result);
        return;
      } catch (err) {
        if (isStreamkeeperError(err, 'SK_TASK_STALE') || classify(err).kind !== 'transient' || this.options.session.isClosed) throw err;
        this.logger.warn({ task: task.id, err: classify(err).message }, 'could not record the task outcome; retrying');
        await this.options.session.sleep(this.options.session.retryDelay(Math.min(attempt, 6)));
      }
    }
  }
}
