// The librdkafka adapter beyond the shared contract: what its admin client reports when no broker answers.
import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError } from '../../../src/errors/index.js';
import { createRdkafkaClient } from '../../../src/runtime/kafka/rdkafka-client.js';

describe('librdkafka adapter, admin', () => {
  it('reports brokers that do not answer as SK_KAFKA_UNREACHABLE, not as a timeout', async () => {
    // Port 1 on loopback: nothing listens, every connection is refused.
    const client = createRdkafkaClient({ brokers: ['127.0.0.1:1'], clientId: 'sk-unreachable', requestTimeoutMs: 3000 });
    try {
      const failure = await client.admin.topicOffsets('any-topic').catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(StreamkeeperError);
      expect((failure as StreamkeeperError).code).toBe('SK_KAFKA_UNREACHABLE');
      expect((failure as StreamkeeperError).message).toContain('looking up any-topic');
    } finally {
      await client.close();
    }
  }, 30_000);
});
