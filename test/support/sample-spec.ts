/** The one valid StreamingJob spec tests start from; each test changes only what it is about. */
import type { StreamingJobSpec } from '../../src/api/v1alpha1/index.js';

export function sampleSpec(overrides: Partial<StreamingJobSpec> = {}): StreamingJobSpec {
  return {
    image: 'streamkeeper/streamkeeper:0.1.0',
    source: { kafka: { bootstrapServers: ['kafka-0.kafka:9092'], topics: ['lines'] } },
    sink: { kafka: { topic: 'counts' } },
    processor: { builtin: 'wordcount' },
    executors: { replicas: 2 },
    ...overrides,
  };
}
