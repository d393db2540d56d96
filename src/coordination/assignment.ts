/**
 * Who gets which task, as pure functions: new tasks and tasks taken from dead, draining or
 * failing executors go to the least-loaded live executor, ties broken by pod name, so the same
 * inputs always give the same plan.
 */
import type { RescheduleReason } from './observer.js';
import { nextTaskState, rescheduleReason, type TaskRecord, type Transition } from './task-state.js';

/** The executor with the fewest tasks; among equals, the name that sorts first. */
export function leastLoaded(load: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const [pod, n] of load) {
    if (n < bestLoad || (n === bestLoad && best !== undefined && pod < best)) {
      best = pod;
      bestLoad = n;
    }
  }
  return best;
}

/** Assigned (unfinished, held) tasks per executor, counting only `executors`. */
export function currentLoad(tasks: Iterable<TaskRecord>, executors: Iterable<string>): Map<string, number> {
  const load = new Map<string, number>();
  for (const pod of executors) load.set(pod, 0);
  for (const task of tasks) {
    const n = load.get(task.owner);
    if (task.state === 'assigned' && n !== undefined) load.set(task.owner, n + 1);
  }
  return load;
}

/** Spreads new tasks over `load`'s executors (mutating `load` as it goes). Empty when there are none. */
export function assignTasks(taskIds: readonly string[], load: Map<string, number>): Map<string, string> {
  const plan = new Map<string, string>();
  for (const id of [...taskIds].sort()) {
    const pod = leastLoaded(load);
    if (pod === undefined) return new Map();
    plan.set(id, pod);
    load.set(pod, (load.get(pod) ?? 0) + 1);
  }
  return plan;
}

/**
 * A task's first live standby other than `previous` (it holds the task's state warm), else the
 * least-loaded executor other than `previous` (a failed task is retried elsewhere), else `previous`.
 */
function pickTarget(load: ReadonlyMap<string, number>, previous: string, standbys: readonly string[] = []): string | undefined {
  const standby = standbys.find((pod) => pod !== previous && load.has(pod));
  if (standby !== undefined) return standby;
  if (!load.has(previous) || load.size === 1) return leastLoaded(load);
  return leastLoaded(new Map([...load].filter(([pod]) => pod !== previous)));
}

export interface RescheduleView {
  /** True while the pod is a live executor (registered, and not known dead). */
  readonly isLive: (pod: string) => boolean;
  /** Current load of the executors that may take tasks (live and active, not draining). */
  readonly load: Map<string, number>;
  readonly maxTaskAttempts: number;
}

export interface RescheduleStep {
  readonly task: TaskRecord;
  readonly reason: RescheduleReason;
  readonly transition: Transition;
}

/**
 * Decides one task against the current view, counting a new assignment in `view.load`. Used for
 * the first decision and again after a conflicting write, on the task as re-read.
 */
export function decideReschedule(task: TaskRecord, view: RescheduleView): RescheduleStep | undefined {
  const reason = rescheduleReason(task, view.isLive);
  if (reason === undefined) return undefined;
  const transition = nextTaskState(task, { type: 'reschedule', reason, to: pickTarget(view.load, task.owner, task.standbys), maxTaskAttempts: view.maxTaskAttempts });
  if (transition.kind === 'write' && transition.next.state === 'assigned') {
    view.load.set(transition.next.owner, (view.load.get(transition.next.owner) ?? 0) + 1);
  }
  return { task, reason, transition };
}

/** The reschedule plan for a job's tasks, in task id order. */
export function planReschedule(tasks: readonly TaskRecord[], view: RescheduleView): RescheduleStep[] {
  const steps: RescheduleStep[] = [];
  for (const task of [...tasks].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const step = decideReschedule(task, view);
    if (step !== undefined) steps.push(step);
  }
  return steps;
}

export interface MovedTask {
  readonly taskId: string;
  readonly from: string;
  readonly to: string;
  readonly attempt: number;
  readonly reason: RescheduleReason;
}

/** How one planned step ended: the task as written, or as found when nothing was written; `gone` when it was deleted meanwhile. */
export type StepResult = { readonly outcome: 'written' | 'noop' | 'stale'; readonly task: TaskRecord } | { readonly outcome: 'gone' };

/** What a reschedule pass did, told from its steps and how each ended. */
export interface RescheduleOutcome {
  readonly moved: readonly MovedTask[];
  /** Tasks this pass exhausted. */
  readonly exhausted: readonly string[];
  /** Tasks that still need a new owner: no live executor could take them. */
  readonly waiting: readonly string[];
  /** Steps another writer made first (the task changed, and nothing is left to do). */
  readonly lostRaces: number;
  /** Writes by reason and outcome, for the metrics. */
  readonly writes: readonly { readonly reason: RescheduleReason; readonly outcome: 'assigned' | 'exhausted'; readonly count: number }[];
  /** The job's tasks after the pass, in the order read. */
  readonly tasks: readonly TaskRecord[];
  /** Batches with an exhausted task (found now or earlier), sorted. */
  readonly failedBatches: readonly string[];
}

/** Tells what a pass did from the tasks it read, its steps and how each step ended (`results[i]` for `steps[i]`). */
export function rescheduleOutcome(read: readonly TaskRecord[], steps: readonly RescheduleStep[], results: readonly StepResult[], isLive: (pod: string) => boolean): RescheduleOutcome {
  const final = new Map<string, TaskRecord>(read.map((t) => [t.id, t]));
  const moved: MovedTask[] = [];
  const exhausted: string[] = [];
  const waiting: string[] = [];
  const writes = new Map<string, { reason: RescheduleReason; outcome: 'assigned' | 'exhausted'; count: number }>();
  let lostRaces = 0;
  results.forEach((result, i) => {
    const step = steps[i];
    if (step === undefined) return;
    if (result.outcome === 'gone') {
      final.delete(step.task.id);
      return;
    }
    const task = result.task;
    final.set(task.id, task);
    if (result.outcome === 'written') {
      const outcome = task.state === 'exhausted' ? 'exhausted' : 'assigned';
      const key = `${step.reason}|${outcome}`;
      const counted = writes.get(key) ?? { reason: step.reason, outcome, count: 0 };
      writes.set(key, { ...counted, count: counted.count + 1 });
      if (outcome === 'exhausted') exhausted.push(task.id);
      else moved.push({ taskId: task.id, from: step.task.owner, to: task.owner, attempt: task.attempt, reason: step.reason });
    } else if (rescheduleReason(task, isLive) !== undefined) {
      waiting.push(task.id);
    } else if (task !== step.task) {
      lostRaces += 1;
    }
  });
  const tasks = [...final.values()];
  const failedBatches = [...new Set(tasks.filter((t) => t.state === 'exhausted').map((t) => t.batch))].sort();
  return { moved, exhausted, waiting, lostRaces, writes: [...writes.values()], tasks, failedBatches };
}
