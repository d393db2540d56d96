/**
 * The names a job uses in Kafka. They must never collide between jobs or partitions: a shared
 * transactional id would let one job fence the other, a shared group would mix their offsets.
 * Kubernetes names and Kafka topic names may both contain dots but never `/`, so `/` separates.
 */
import type { JobRef } from '../coordination/layout.js';
import { StreamkeeperError } from '../errors/index.js';

/** The consumer group whose offsets a job commits inside its transactions (on the sink cluster). */
export function consumerGroupId(job: JobRef): string {
  return `streamkeeper/${job.namespace}/${job.name}`;
}

/**
 * One transactional id per job and source partition: every attempt of every task on that
 * partition uses it, so opening a producer for a retry fences the previous attempt's zombie.
 */
export function transactionalId(job: JobRef, topic: string, partition: number): string {
  return `streamkeeper/${job.namespace}/${job.name}/${topic}/${partition}`;
}

/**
 * One transactional id per job and partition group: every task of the group (all of its
 * partitions) commits under it, so opening it for a retry fences the group's previous attempt.
 * Topic names cannot contain `:`, so no partition's id is ever a group's.
 */
export function groupTransactionalId(job: JobRef, group: number): string {
  return `streamkeeper/${job.namespace}/${job.name}/group:${group}`;
}

/** The transactional id a task commits under: its group's, or its one partition's. */
export function taskTransactionalId(job: JobRef, task: { readonly ranges: readonly { readonly topic: string; readonly partition: number }[]; readonly group?: number }): string {
  if (task.group !== undefined) return groupTransactionalId(job, task.group);
  const [range] = task.ranges;
  if (range === undefined || task.ranges.length !== 1) throw new StreamkeeperError('SK_ZK_ERROR', `a task without a partition group has exactly one range (it has ${task.ranges.length})`);
  return transactionalId(job, range.topic, range.partition);
}

export function clientId(job: JobRef, role: 'driver' | 'executor', pod: string): string {
  return `streamkeeper-${role}-${job.namespace}-${job.name}-${pod}`;
}

/**
 * The internal topics of a job with an aggregation, on the sink cluster. Namespaces cannot
 * contain `.`, so `streamkeeper.<namespace>.<name>.` is unambiguous; a Kubernetes name (at most
 * 253 characters) fits Kafka's 249-character limit because job names are limited to 63.
 */
function internalTopic(job: JobRef, purpose: 'repartition' | 'changelog'): string {
  return `streamkeeper.${job.namespace}.${job.name}.${purpose}`;
}

/** Pre-aggregated partials on their way to the state partition that owns their key. */
export function repartitionTopic(job: JobRef): string {
  return internalTopic(job, 'repartition');
}

/** Compacted: the latest accumulator of every key, partitioned like the repartition topic. */
export function changelogTopic(job: JobRef): string {
  return internalTopic(job, 'changelog');
}
