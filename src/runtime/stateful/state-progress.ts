/**
 * The job's aggregation state as its status shows it: each state partition's size after its last
 * committed aggregate task, and the latest restore from the changelog. The driver folds the task
 * completions of each settled batch into its progress report (the offsets znode), where the
 * operator reads it without Kafka access. Bounded by the number of state partitions.
 */
import type { StateProgress } from '../../coordination/task-ledger.js';
import type { TaskRecord } from '../../coordination/task-state.js';

/**
 * `previous` updated with the state reports of a batch's succeeded aggregate tasks (those over
 * `repartition`): their partitions' sizes replace the earlier ones, and the slowest restore among
 * them, if any, becomes the latest, dated `at` (when the batch settled).
 */
export function foldStateProgress(previous: StateProgress | undefined, tasks: readonly TaskRecord[], repartition: string, at: string): StateProgress | undefined {
  const partitions: Record<string, { keys: number; bytes: number }> = { ...(previous?.partitions ?? {}) };
  let slowest: NonNullable<StateProgress['lastRestore']> | undefined;
  for (const task of tasks) {
    const report = task.stateReport;
    // An aggregate task reads one state partition's range of the repartition topic.
    const range = task.ranges.length === 1 ? task.ranges[0] : undefined;
    if (report === undefined || task.state !== 'succeeded' || range?.topic !== repartition) continue;
    partitions[String(range.partition)] = { keys: report.keys, bytes: report.bytes };
    const restore = report.restore;
    if (restore !== undefined && (slowest === undefined || restore.millis > slowest.millis)) slowest = { partition: range.partition, records: restore.records, millis: restore.millis, full: restore.full, at };
  }
  const lastRestore = slowest ?? previous?.lastRestore;
  if (Object.keys(partitions).length === 0 && lastRestore === undefined) return undefined;
  return { partitions, ...(lastRestore === undefined ? {} : { lastRestore }) };
}
