/**
 * Defaults exactly as the API server applies the CRD's (structural defaulting), read from the
 * schema, so the operator sees the same spec whether or not the installed CRD defaulted it.
 */
import type { TSchema } from '@sinclair/typebox';
import { isPlainObject } from './kube-schema.js';
import { defaultStandbyReplicas, defaultStateMemory, defaultStatePartitions, StreamingJobSpecSchema } from './schema.js';
import type { DefaultedStreamingJobSpec, KafkaSasl, KafkaTls, StreamingJobSpec } from './types.js';

interface SchemaShape {
  readonly default?: unknown;
  readonly nullable?: boolean;
  readonly properties?: Readonly<Record<string, TSchema>>;
  readonly additionalProperties?: TSchema | boolean;
  readonly items?: TSchema;
}

/**
 * Returns a copy of `value` with every absent (or non-nullable null) property that declares a
 * default set to a copy of it, recursing into the result, as the API server does.
 */
export function applySchemaDefaults(value: unknown, schema: TSchema): unknown {
  const copy = structuredClone(value);
  fill(copy, schema);
  return copy;
}

function fill(value: unknown, schema: TSchema): void {
  const shape = schema as SchemaShape;
  if (Array.isArray(value)) {
    if (shape.items !== undefined) for (const item of value) fill(item, shape.items);
    return;
  }
  if (!isPlainObject(value)) return;
  const properties = shape.properties ?? {};
  for (const [key, property] of Object.entries(properties)) {
    const propertyShape = property as SchemaShape;
    if (value[key] === null && propertyShape.nullable !== true) Reflect.deleteProperty(value, key);
    if (value[key] === undefined && propertyShape.default !== undefined) value[key] = structuredClone(propertyShape.default);
  }
  for (const [key, child] of Object.entries(value)) {
    const property = properties[key];
    if (property !== undefined) fill(child, property);
    else if (typeof shape.additionalProperties === 'object') fill(child, shape.additionalProperties);
  }
}

/** The spec with the CRD's defaults filled in; the input is not modified. */
export function applyDefaults(spec: StreamingJobSpec): DefaultedStreamingJobSpec {
  return applySchemaDefaults(spec, StreamingJobSpecSchema) as DefaultedStreamingJobSpec;
}

/** The Kafka cluster the sink writes to, once the "same as the source" default is resolved. */
export interface SinkCluster {
  readonly bootstrapServers: readonly string[];
  readonly tls: KafkaTls | undefined;
  readonly sasl: KafkaSasl | undefined;
}

/**
 * A sink without bootstrapServers writes to the source's cluster with the source's TLS and SASL
 * settings, unless it sets its own; a sink with bootstrapServers uses only its own settings.
 */
export function sinkCluster(spec: DefaultedStreamingJobSpec): SinkCluster {
  const source = spec.source.kafka;
  const sink = spec.sink.kafka;
  if (sink.bootstrapServers !== undefined) {
    return { bootstrapServers: sink.bootstrapServers, tls: sink.tls, sasl: sink.sasl };
  }
  return { bootstrapServers: source.bootstrapServers, tls: sink.tls ?? source.tls, sasl: sink.sasl ?? source.sasl };
}

/** A job's keyed aggregation with the CRD's defaults filled in. */
export type DefaultedAggregation = NonNullable<DefaultedStreamingJobSpec['aggregation']>;

/**
 * What the builtin wordcount runs after its per-task counts when the spec declares no
 * aggregation: their sum per word (the record key), so the sink holds one running total per word
 * across every partition and batch. Its state partitions are `defaultStatePartitions`, a value
 * that can never change for such a job (see the spec-level transition rule in schema.ts).
 */
export const impliedWordcountAggregation: DefaultedAggregation = {
  groupBy: {},
  aggregates: [{ name: 'count', function: 'sum' }],
  statePartitions: defaultStatePartitions,
  stateMemory: defaultStateMemory,
  standbyReplicas: defaultStandbyReplicas,
};

/** The aggregation a job runs: spec.aggregation, or the builtin wordcount's implied running totals. */
export function effectiveAggregation(spec: DefaultedStreamingJobSpec): DefaultedAggregation | undefined {
  if (spec.aggregation !== undefined) return spec.aggregation;
  return spec.processor.builtin === 'wordcount' ? impliedWordcountAggregation : undefined;
}
