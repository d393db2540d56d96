/**
 * The internal topics a job with an aggregation owns on the sink cluster: the repartition topic
 * (partials routed by key hash) and the compacted changelog (the state). Both have exactly
 * `statePartitions` partitions; a topic found with another count means the count changed under
 * an existing job, which would separate keys from their state, so it is refused naming the field.
 */
import type { JobRef } from '../../coordination/layout.js';
import { StreamkeeperError } from '../../errors/index.js';
import type { KafkaAdmin } from '../kafka/index.js';
import { changelogTopic, repartitionTopic } from '../kafka-names.js';

export interface InternalTopics {
  readonly repartition: string;
  readonly changelog: string;
}

export function internalTopics(job: JobRef): InternalTopics {
  return { repartition: repartitionTopic(job), changelog: changelogTopic(job) };
}

/** Topic configs: the changelog keeps the latest value per key forever; the repartition topic is a plain log. */
export const changelogConfigs: Readonly<Record<string, string>> = { 'cleanup.policy': 'compact', 'min.compaction.lag.ms': '0' };
export const repartitionConfigs: Readonly<Record<string, string>> = { 'cleanup.policy': 'delete' };

/** Creates the job's internal topics when missing (idempotent); SK_INVALID_SPEC when one has another partition count. */
export async function ensureInternalTopics(admin: KafkaAdmin, job: JobRef, statePartitions: number): Promise<InternalTopics> {
  const topics = internalTopics(job);
  for (const [topic, configs] of [[topics.repartition, repartitionConfigs], [topics.changelog, changelogConfigs]] as const) {
    const created = await admin.createTopic(topic, { partitions: statePartitions, configs });
    if (created) continue;
    const partitions = (await admin.topicOffsets(topic)).length;
    if (partitions !== statePartitions) {
      throw new StreamkeeperError(
        'SK_INVALID_SPEC',
        `the job's internal topic ${topic} has ${partitions} partitions but spec.aggregation.statePartitions is ${statePartitions}; the count is fixed when the job is created (recreate the job to change it)`,
        { field: 'spec.aggregation.statePartitions' },
      );
    }
  }
  return topics;
}

/** Deletes the job's internal topics; true when any existed. */
export async function deleteInternalTopics(admin: KafkaAdmin, job: JobRef): Promise<boolean> {
  const topics = internalTopics(job);
  const deleted = await Promise.all([admin.deleteTopic(topics.repartition), admin.deleteTopic(topics.changelog)]);
  return deleted.some(Boolean);
}
