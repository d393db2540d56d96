/**
 * The part of a job's spec that is mirrored to ZooKeeper's `config` znode: what the driver and
 * executors re-read at a batch boundary without a restart. Secrets appear only by name.
 */
import { effectiveAggregation, parseDuration, parseQuantity, sinkCluster, type DefaultedAggregation, type DefaultedStreamingJobSpec } from '../../api/v1alpha1/index.js';
import type { AggregationConfig, JobConfigContent, WindowConfig } from '../job-coordination.js';

export function jobConfigContent(spec: DefaultedStreamingJobSpec): JobConfigContent {
  const source = spec.source.kafka;
  const sink = spec.sink.kafka;
  const sinkSide = sinkCluster(spec);
  const policy = spec.failurePolicy;
  // The builtin wordcount alone runs its implied running totals: the runtime sees them as any aggregation.
  const aggregation = effectiveAggregation(spec);
  return {
    config: { ...(spec.config ?? {}) },
    processor: { name: spec.processor.builtin ?? spec.processor.module ?? '', params: { ...(spec.processor.params ?? {}) } },
    batchInterval: spec.batchInterval,
    maxRecordsPerPartition: source.maxRecordsPerPartition,
    partitionGroups: source.partitionGroups,
    maxTaskAttempts: spec.executors.maxTaskAttempts,
    source: {
      bootstrapServers: [...source.bootstrapServers],
      topics: [...source.topics],
      startingOffsets: source.startingOffsets,
      ...(source.sasl === undefined ? {} : { secretRef: { name: source.sasl.secretRef.name } }),
      ...(source.tls?.enabled === true && source.tls.caSecretRef !== undefined ? { caSecretRef: { name: source.tls.caSecretRef.name } } : {}),
    },
    sink: {
      bootstrapServers: [...sinkSide.bootstrapServers],
      topic: sink.topic,
      delivery: sink.delivery,
      ...(sinkSide.sasl === undefined ? {} : { secretRef: { name: sinkSide.sasl.secretRef.name } }),
      ...(sinkSide.tls?.enabled === true && sinkSide.tls.caSecretRef !== undefined ? { caSecretRef: { name: sinkSide.tls.caSecretRef.name } } : {}),
    },
    failurePolicy: {
      onTaskExhausted: policy.onTaskExhausted,
      poisonRecords: policy.poisonRecords,
      ...(policy.deadLetterTopic === undefined ? {} : { deadLetterTopic: policy.deadLetterTopic }),
    },
    ...(aggregation === undefined ? {} : { aggregation: aggregationConfig(aggregation) }),
  };
}

function aggregationConfig(aggregation: DefaultedAggregation): AggregationConfig {
  return {
    ...(aggregation.groupBy.field === undefined ? {} : { groupBy: aggregation.groupBy.field }),
    ...(aggregation.aggregates === undefined ? {} : { aggregates: aggregation.aggregates.map((a) => ({ name: a.name, function: a.function, ...(a.field === undefined ? {} : { field: a.field }) })) }),
    ...(aggregation.module === undefined ? {} : { module: aggregation.module }),
    statePartitions: aggregation.statePartitions,
    // Validation refused an unreadable quantity before the config is derived.
    stateMemoryBytes: parseQuantity(aggregation.stateMemory) ?? 0,
    standbyReplicas: aggregation.standbyReplicas,
    ...(aggregation.window === undefined ? {} : { window: windowConfig(aggregation.window) }),
  };
}

function windowConfig(window: NonNullable<DefaultedAggregation['window']>): WindowConfig {
  // Validation refused unreadable durations before the config is derived.
  const sizeMs = parseDuration(window.size) ?? 0;
  return {
    type: window.type,
    sizeMs,
    advanceMs: window.advance === undefined ? sizeMs : (parseDuration(window.advance) ?? 0),
    ...(window.eventTime.field === undefined ? {} : { eventTimeField: window.eventTime.field }),
    allowedLatenessMs: parseDuration(window.allowedLateness) ?? 0,
    emit: window.emit,
    lateRecords: window.lateRecords,
    idleTimeoutMs: parseDuration(window.idleTimeout) ?? 0,
  };
}
