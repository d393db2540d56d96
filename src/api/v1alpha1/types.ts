/**
 * The StreamingJob's TypeScript types, derived from the schema so they cannot drift from the CRD.
 * `StreamingJobSpec` is what a user writes; `DefaultedStreamingJobSpec` is what the operator and
 * runtime read after defaults were applied (by the API server or by `applyDefaults`).
 */
import type { Static } from '@sinclair/typebox';
import type { DefaultedStatic } from './kube-schema.js';
import type { StreamingJobSchema, StreamingJobSpecSchema, StreamingJobStatusSchema } from './schema.js';

export type { ObjectMeta } from './kube-schema.js';

export type StreamingJobSpec = Static<typeof StreamingJobSpecSchema>;
export type DefaultedStreamingJobSpec = DefaultedStatic<typeof StreamingJobSpecSchema>;
export type StreamingJobStatus = Static<typeof StreamingJobStatusSchema>;
export type StreamingJob = Static<typeof StreamingJobSchema>;

export type KafkaSource = DefaultedStreamingJobSpec['source']['kafka'];
export type KafkaSink = DefaultedStreamingJobSpec['sink']['kafka'];
export type KafkaTls = NonNullable<KafkaSource['tls']>;
export type KafkaSasl = NonNullable<KafkaSource['sasl']>;
export type ProcessorSpec = DefaultedStreamingJobSpec['processor'];
export type DriverSpec = DefaultedStreamingJobSpec['driver'];
export type ExecutorsSpec = DefaultedStreamingJobSpec['executors'];
export type PodTemplateOverrides = NonNullable<ExecutorsSpec['podTemplate']>;
export type ResourceRequirements = NonNullable<ExecutorsSpec['resources']>;
export type FailurePolicy = DefaultedStreamingJobSpec['failurePolicy'];
export type JobCondition = NonNullable<StreamingJobStatus['conditions']>[number];
export type JobPhase = NonNullable<StreamingJobStatus['phase']>;
export type BuiltinProcessor = NonNullable<ProcessorSpec['builtin']>;
