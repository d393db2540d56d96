/**
 * A stand-in for the executor runtime's use of the coordination API: registers, watches the
 * task ledger, "processes" each task it holds for a moment, completes it with its claim, and
 * revalidates what it holds after a session expiry. Tests use it to put tasks in flight.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoordinationLayout, JobRef } from '../../../src/coordination/layout.js';
import { ExecutorMembership } from '../../../src/coordination/membership.js';
import type { Subscription, ZooKeeperSession } from '../../../src/coordination/session.js';
import { TaskLedger, type VersionedTask } from '../../../src/coordination/task-ledger.js';
import type { Acl } from '../../../src/coordination/zookeeper/client.js';
import { isStreamkeeperError } from '../../../src/errors/index.js';

export interface Completion {
  readonly taskId: string;
  readonly owner: string;
  readonly attempt: number;
}

export class SimulatedExecutor {
  readonly completed: Completion[] = [];
  stale = 0;
  errors: unknown[] = [];
  /** Set while paused: tasks wait on it before completing. */
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  /** Claims taken up (in flight or done): a claim is processed once, however often it is seen. */
  private readonly taken = new Set<string>();
  private subscription: Subscription | undefined;
  private readonly ledger: TaskLedger;

  constructor(
    readonly session: ZooKeeperSession,
    private readonly layout: CoordinationLayout,
    private readonly job: JobRef,
    readonly pod: string,
    private readonly workMs = 10,
  ) {
    this.ledger = new TaskLedger(session, layout);
  }

  async start(acl: readonly Acl[]): Promise<void> {
    await new ExecutorMembership(this.session, this.layout).register(this.job, this.pod, acl);
    this.subscription = this.ledger.watchTasks(this.job, (tasks) => {
      for (const task of tasks.values()) this.consider(task);
    });
  }

  /** Holds every task it is given without finishing it, until `resume`. */
  pause(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = { promise, open };
  }

  resume(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  private consider(task: VersionedTask): void {
    const { record } = task;
    const key = `${record.id}#${record.attempt}`;
    // Watch deliveries can repeat a task as it was before its completion landed: never redo a claim.
    if (record.owner !== this.pod || record.state !== 'assigned' || this.taken.has(key)) return;
    this.taken.add(key);
    void this.process(record.id, record.attempt);
  }

  private async process(taskId: string, attempt: number): Promise<void> {
    await sleep(this.workMs);
    await this.gate?.promise;
    try {
      await this.ledger.complete(this.job, taskId, { owner: this.pod, attempt }, { outcome: 'succeeded' });
      this.completed.push({ taskId, owner: this.pod, attempt });
    } catch (err) {
      if (isStreamkeeperError(err, 'SK_TASK_STALE')) this.stale += 1;
      else this.errors.push(err);
    }
  }

  stop(): void {
    this.subscription?.close();
  }
}
