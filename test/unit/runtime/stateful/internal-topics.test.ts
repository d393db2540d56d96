import { describe, expect, it } from '@jest/globals';
import { InMemoryKafka } from '../../../../src/testing/index.js';
import { deleteInternalTopics, ensureInternalTopics } from '../../../../src/runtime/stateful/internal-topics.js';

const job = { namespace: 'team-a', name: 'bytes-per-url' };

describe('a job\'s internal topics', () => {
  it('are named after the job, created once with statePartitions partitions, and deleted with it', async () => {
    const kafka = new InMemoryKafka();
    const admin = kafka.client().admin;
    expect(await ensureInternalTopics(admin, job, 6)).toEqual({ repartition: 'streamkeeper.team-a.bytes-per-url.repartition', changelog: 'streamkeeper.team-a.bytes-per-url.changelog' });
    await ensureInternalTopics(admin, job, 6);
    expect(kafka.topicOffsets('streamkeeper.team-a.bytes-per-url.changelog')).toHaveLength(6);
    expect(await deleteInternalTopics(admin, job)).toBe(true);
    expect(kafka.listTopics()).toEqual([]);
    expect(await deleteInternalTopics(admin, job)).toBe(false);
  });

  it('refuse another partition count, naming spec.aggregation.statePartitions', async () => {
    const kafka = new InMemoryKafka();
    await ensureInternalTopics(kafka.client().admin, job, 6);
    await expect(ensureInternalTopics(kafka.client().admin, job, 8)).rejects.toMatchObject({ code: 'SK_INVALID_SPEC', field: 'spec.aggregation.statePartitions', message: expect.stringContaining('has 6 partitions but spec.aggregation.statePartitions is 8') as unknown });
  });
});
