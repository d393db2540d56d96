/**
 * The StreamingJob the demo applies: manifests/samples/wordcount.yaml as users see it, with only
 * what the local cluster changes — its broker address, a short batch interval so a run takes a
 * minute, and the namespace — so the demo exercises the shipped sample, not a private variant.
 */
import { parseDocument } from 'yaml';
import { StreamkeeperError } from '../errors/index.js';

export interface DemoJobSettings {
  readonly namespace: string;
  readonly bootstrapServers: readonly string[];
  readonly batchInterval: string;
  /** Executors the job starts with. */
  readonly executors: number;
}

export interface DemoJob {
  readonly name: string;
  readonly source: string;
  readonly sink: string;
  readonly lowercase: boolean;
  /** The manifest to apply. */
  readonly yaml: string;
  /** What changed from the sample, for the demo to say. */
  readonly changes: readonly string[];
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new StreamkeeperError('SK_INVALID_SPEC', `the sample has no ${field}`, { field });
  return value;
}

/** Adapts the sample manifest to the local cluster; SK_INVALID_SPEC if it is not a wordcount job. */
export function demoJob(sampleYaml: string, settings: DemoJobSettings): DemoJob {
  const document = parseDocument(sampleYaml);
  if (document.errors.length > 0) throw new StreamkeeperError('SK_INVALID_SPEC', `the sample is not valid YAML: ${document.errors[0]?.message ?? ''}`);
  const job = document.toJS() as { kind?: unknown; metadata?: { name?: unknown }; spec?: Record<string, unknown> } | null;
  if (job?.kind !== 'StreamingJob') throw new StreamkeeperError('SK_INVALID_SPEC', 'the sample is not a StreamingJob', { field: 'kind' });
  const name = requireString(job.metadata?.name, 'metadata.name');
  const spec = job.spec ?? {};
  const source = spec.source as { kafka?: { topics?: unknown[] } } | undefined;
  const sink = spec.sink as { kafka?: { topic?: unknown } } | undefined;
  const processor = spec.processor as { builtin?: unknown; params?: Record<string, unknown> } | undefined;
  if (processor?.builtin !== 'wordcount') throw new StreamkeeperError('SK_INVALID_SPEC', 'the sample does not run the wordcount processor', { field: 'spec.processor.builtin' });
  const topics = source?.kafka?.topics ?? [];
  if (topics.length !== 1) throw new StreamkeeperError('SK_INVALID_SPEC', 'the sample must read exactly one topic', { field: 'spec.source.kafka.topics' });
  const sourceTopic = requireString(topics[0], 'spec.source.kafka.topics[0]');
  const sinkTopic = requireString(sink?.kafka?.topic, 'spec.sink.kafka.topic');

  const changes = [
    `metadata.namespace: ${settings.namespace}`,
    `spec.source.kafka.bootstrapServers: ${settings.bootstrapServers.join(',')} (the local Kafka)`,
    `spec.batchInterval: ${settings.batchInterval}`,
    `spec.executors.replicas: ${settings.executors}`,
  ];
  document.setIn(['metadata', 'namespace'], settings.namespace);
  document.setIn(['spec', 'source', 'kafka', 'bootstrapServers'], [...settings.bootstrapServers]);
  document.setIn(['spec', 'batchInterval'], settings.batchInterval);
  document.setIn(['spec', 'executors', 'replicas'], settings.executors);
  return { name, source: sourceTopic, sink: sinkTopic, lowercase: processor.params?.lowercase === 'true', yaml: document.toString(), changes };
}
