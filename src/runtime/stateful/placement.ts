/**
 * Which executor runs each state partition's aggregate task, and which keep warm standby copies
 * of its state, as a pure decision. A partition stays with the executor that ran it (its cached
 * state is current, its transactional producer open), so state moves only when that executor
 * goes; it then moves to a standby, whose copy is only a few changelog records behind. A new
 * executor is never given a partition it would have to restore in full while its owner lives: it
 * becomes a standby first.
 */
import { leastLoaded } from '../../coordination/assignment.js';
import type { TaskRecord } from '../../coordination/task-state.js';

export interface StatePlacement {
  readonly owner: string;
  /** In order of preference for a takeover; never the owner. */
  readonly standbys: readonly string[];
}

/**
 * Placements for `partitions` among the `active` executors (none: empty), given the previous
 * placements. Owner: the previous owner if active, else its first active standby, else the
 * executor owning the fewest partitions. Standbys: the previous ones still active, then the
 * executors holding the fewest copies (owned or standby), up to `standbyReplicas` and never the
 * owner. Ties go to the name that sorts first, so the same inputs give the same placements.
 */
export function placeStatePartitions(partitions: readonly number[], previous: ReadonlyMap<number, StatePlacement>, active: readonly string[], standbyReplicas: number): Map<number, StatePlacement> {
  const placed = new Map<number, StatePlacement>();
  if (active.length === 0) return placed;
  const live = new Set(active);
  const sorted = [...new Set(partitions)].sort((a, b) => a - b);
  const owned = new Map<string, number>(active.map((pod) => [pod, 0]));
  const copies = new Map<string, number>(active.map((pod) => [pod, 0]));
  const count = (of: Map<string, number>, pod: string): void => {
    of.set(pod, (of.get(pod) ?? 0) + 1);
  };
  // Every live placement counts first, so new partitions go where there is least.
  for (const [partition, before] of previous) {
    if (sorted.includes(partition)) continue;
    if (live.has(before.owner)) {
      count(owned, before.owner);
      count(copies, before.owner);
    }
    for (const pod of before.standbys) if (live.has(pod)) count(copies, pod);
  }
  const owners = new Map<number, string>();
  for (const partition of sorted) {
    const before = previous.get(partition);
    const owner = before === undefined ? undefined : live.has(before.owner) ? before.owner : before.standbys.find((pod) => live.has(pod));
    if (owner !== undefined) {
      owners.set(partition, owner);
      count(owned, owner);
      count(copies, owner);
    }
  }
  for (const partition of sorted) {
    if (owners.has(partition)) continue;
    const owner = leastLoaded(owned) ?? active[0] ?? '';
    owners.set(partition, owner);
    count(owned, owner);
    count(copies, owner);
  }
  for (const partition of sorted) {
    const owner = owners.get(partition) ?? '';
    const wanted = Math.min(standbyReplicas, active.length - 1);
    const standbys = (previous.get(partition)?.standbys ?? []).filter((pod) => live.has(pod) && pod !== owner).slice(0, wanted);
    for (const pod of standbys) count(copies, pod);
    while (standbys.length < wanted) {
      const pod = leastLoaded(new Map([...copies].filter(([candidate]) => candidate !== owner && !standbys.includes(candidate))));
      if (pod === undefined) break;
      standbys.push(pod);
      count(copies, pod);
    }
    placed.set(partition, { owner, standbys });
  }
  return placed;
}

/** A state partition's placement as its latest aggregate task told, with that task's batch. */
export interface ObservedPlacement extends StatePlacement {
  readonly batch: string;
}

/**
 * Updates `into` with the placement of each state partition's newest aggregate task among
 * `tasks` (those reading `repartition`); older tasks never override newer ones.
 */
export function observePlacements(tasks: Iterable<TaskRecord>, repartition: string, into: Map<number, ObservedPlacement>): void {
  for (const task of tasks) {
    // A state partition's task reads that one repartition partition, in no partition group.
    const range = task.ranges[0];
    if (task.group !== undefined || task.ranges.length !== 1 || range?.topic !== repartition) continue;
    const seen = into.get(range.partition);
    if (seen !== undefined && seen.batch > task.batch) continue;
    into.set(range.partition, { batch: task.batch, owner: task.owner, standbys: (task.standbys ?? []).filter((pod) => pod !== task.owner) });
  }
}

/** The state partitions `pod` runs and those it keeps warm standby copies of. */
export function heldBy(placements: ReadonlyMap<number, StatePlacement>, pod: string): { readonly owned: number[]; readonly standby: number[] } {
  const owned: number[] = [];
  const standby: number[] = [];
  for (const [partition, placement] of [...placements].sort((a, b) => a[0] - b[0])) {
    if (placement.owner === pod) owned.push(partition);
    else if (placement.standbys.includes(pod)) standby.push(partition);
  }
  return { owned, standby };
}
