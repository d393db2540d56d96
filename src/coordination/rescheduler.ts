/**
 * The operator's failure detector and task mover. An executor is dead when its ephemeral node
 * goes or its pod terminates, whichever the operator sees first (the second signal is a no-op);
 * its unfinished tasks move to the least-loaded live executors with attempt+1, or are exhausted
 * past `maxTaskAttempts`. Draining executors hand unstarted tasks back and are reported drained
 * once they hold nothing. Every move is a conditional set, so two reschedulers racing (an old and
 * a new leader) never assign a task twice: the loser re-reads and finds nothing left to do.
 */
import { silentLogger, type Logger } from '../logging/logger.js';
import { currentLoad, decideReschedule, planReschedule, rescheduleOutcome, type MovedTask, type RescheduleStep, type RescheduleView, type StepResult } from './assignment.js';
import { systemClock, type Clock } from '../machinery/clock.js';
import { ExecutorDeaths } from './executor-deaths.js';
import { jobKey, type CoordinationLayout, type JobRef } from './layout.js';
import { ExecutorMembership, activeExecutors, removeDeadRegistration, type DrainRequestOutcome } from './membership.js';
import { noopObserver, type CoordinationObserver, type ExecutorGoneReason } from './observer.js';
import type { ZooKeeperSession } from './session.js';
import { TaskLedger, type TransitionResult, type VersionedTask } from './task-ledger.js';
import type { TaskRecord } from './task-state.js';

export interface ReschedulePolicy {
  /** The job's `executors.maxTaskAttempts`. */
  readonly maxTaskAttempts: number;
}

export type { MovedTask } from './assignment.js';

export interface RescheduleReport {
  readonly moved: readonly MovedTask[];
  /** Tasks this pass exhausted. */
  readonly exhausted: readonly string[];
  /**
   * Batches with an exhausted task (found now or earlier). The driver records them as failed; the
   * operator's status sets the job Failed or Degraded, as failurePolicy.onTaskExhausted says.
   */
  readonly failedBatches: readonly string[];
  /** Tasks that need a new owner but found no live executor; they move when one registers. */
  readonly waiting: readonly string[];
  /** Moves another writer made first (this pass re-read and found nothing left to do). */
  readonly lostRaces: number;
}

export interface ExecutorGoneResult {
  /** False when this death was already seen through the other signal: nothing was done. */
  readonly firstSignal: boolean;
  readonly report: RescheduleReport | undefined;
}

export interface DrainReport {
  readonly request: DrainRequestOutcome;
  /** Tasks the executor still holds (running them to completion). */
  readonly holding: readonly string[];
  /** True when the executor holds nothing: its pod can be deleted. */
  readonly drained: boolean;
  readonly report: RescheduleReport;
}

export interface ReschedulerOptions {
  readonly observer?: CoordinationObserver;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

export class Rescheduler {
  /** Which executor sessions were seen dead: the one memory of deaths, read also for the job's progress. */
  readonly deaths: ExecutorDeaths;
  private readonly ledger: TaskLedger;
  private readonly membership: ExecutorMembership;
  private readonly observer: CoordinationObserver;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(
    private readonly session: ZooKeeperSession,
    private readonly layout: CoordinationLayout,
    options: ReschedulerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.deaths = new ExecutorDeaths();
    this.ledger = new TaskLedger(session, layout, { clock: this.clock });
    this.membership = new ExecutorMembership(session, layout, { clock: this.clock });
    this.observer = options.observer ?? noopObserver;
    this.logger = options.logger ?? silentLogger();
  }

  /**
   * An executor is gone: its node disappeared (`znode-gone`, pass the session of the node from
   * the last live set) or the Pod informer saw its pod terminate (`pod-terminated`). The first
   * signal of a death moves its tasks; the second is a no-op.
   */
  async executorGone(job: JobRef, pod: string, reason: ExecutorGoneReason, policy: ReschedulePolicy, session?: string): Promise<ExecutorGoneResult> {
    const observedAt = this.clock.now();
    let died: string | null = session ?? null;
    if (reason === 'pod-terminated') {
      // The node may still be there until its session times out: that session is the dead one.
      const path = this.layout.executor(job, pod);
      const node = await this.session.getIfExists(path);
      died = node === null ? null : node.stat.ephemeralOwner;
      // Left alone, the node would stay until its session times out: the driver would go on
      // assigning it tasks of new batches, and the replacement pod could not register.
      if (node !== null) await removeDeadRegistration(this.session, path, node.stat.version);
    }
    if (!this.deaths.record(job, pod, died, observedAt)) return { firstSignal: false, report: undefined };
    this.observer.executorFailed?.(reason);
    this.logger.info({ job: jobKey(job), pod, reason }, 'executor is gone; moving its tasks');
    return { firstSignal: true, report: await this.reconcile(job, policy) };
  }

  /**
   * Level-based pass: moves every unfinished task whose owner is not a live executor, every
   * released and every failed task. Safe to run at any time and from several operators at once.
   */
  async reconcile(job: JobRef, policy: ReschedulePolicy): Promise<RescheduleReport> {
    return (await this.pass(job, policy)).report;
  }

  /**
   * Asks `pod` to drain and moves what it handed back. Call on every pass until `drained`, then
   * delete the pod.
   */
  async drain(job: JobRef, pod: string, policy: ReschedulePolicy): Promise<DrainReport> {
    const request = await this.membership.requestDrain(job, pod);
    const { report, tasks } = await this.pass(job, policy);
    const holding = tasks.filter((t) => t.owner === pod && t.state === 'assigned').map((t) => t.id);
    return { request, holding, drained: holding.length === 0, report };
  }

  /** Forgets what was recorded about a job (it was deleted). */
  forgetJob(job: JobRef): void {
    this.deaths.forget(job);
  }

  private async pass(job: JobRef, policy: ReschedulePolicy): Promise<{ report: RescheduleReport; tasks: TaskRecord[] }> {
    const [executors, read] = await Promise.all([this.membership.read(job), this.ledger.readTasks(job)]);
    const isLive = this.deaths.liveness(job, executors);
    const targets = activeExecutors(executors).filter(isLive);
    const view: RescheduleView = { isLive, load: currentLoad(read.map((t) => t.record), targets), maxTaskAttempts: policy.maxTaskAttempts };
    const known = new Map(read.map((t) => [t.record.id, t]));
    const steps = planReschedule(
      read.map((t) => t.record),
      view,
    );
    const results = await Promise.all(steps.map((step) => this.apply(job, step, view, known)));
    const outcome = rescheduleOutcome(
      read.map((t) => t.record),
      steps,
      results.map((r): StepResult => (r.outcome === 'gone' ? r : { outcome: r.outcome, task: r.task.record })),
      isLive,
    );
    for (const { reason, outcome: to, count } of outcome.writes) this.observer.tasksRescheduled?.(reason, to, count);
    this.measureDeaths(job, outcome.tasks, isLive);
    const { moved, exhausted, failedBatches, waiting, lostRaces } = outcome;
    if (moved.length + exhausted.length > 0 || waiting.length > 0) {
      this.logger.info({ job: jobKey(job), moved: moved.length, exhausted: exhausted.length, waiting: waiting.length, failedBatches, lostRaces }, 'tasks rescheduled');
    }
    return { report: { moved, exhausted, failedBatches, waiting, lostRaces }, tasks: [...outcome.tasks] };
  }

  /** One step: the planned write first; after a conflict, decide again on the task as re-read. */
  private apply(job: JobRef, step: RescheduleStep, view: RescheduleView, known: ReadonlyMap<string, VersionedTask>): Promise<TransitionResult> {
    let first = true;
    return this.ledger.transition(
      job,
      step.task.id,
      (task) => {
        if (first) {
          first = false;
          return step.transition;
        }
        return decideReschedule(task, view)?.transition ?? { kind: 'noop', reason: `task ${task.id} no longer needs a new owner` };
      },
      known.get(step.task.id),
    );
  }

  /** Reports, once per death, how long it took until the dead executor held nothing. */
  private measureDeaths(job: JobRef, tasks: readonly TaskRecord[], isLive: (pod: string) => boolean): void {
    const holdsTasks = (pod: string): boolean => tasks.some((t) => t.owner === pod && t.state === 'assigned');
    for (const ms of this.deaths.settle(job, holdsTasks, isLive, this.clock.now())) this.observer.rescheduleDuration?.(ms / 1000);
  }
}
