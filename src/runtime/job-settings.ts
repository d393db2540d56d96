/**
 * The runtime's reading of the job configuration the operator mirrors to ZooKeeper: what the
 * driver plans with, and what every task of a batch is processed with. Everything a task needs is
 * recorded in its batch (`plannedWith`: processing settings, config map, brokers, watermark), so
 * every attempt of a task — on whichever executor, before or after a config change — runs with
 * what its batch was planned with, and no executor reads the live configuration for it.
 */
import { aggregateFunctions, deliveryGuarantees, lateRecordPolicies, maxWindowsPerRecord, parseDuration, parseFieldPath, poisonRecordPolicies, windowEmitModes, windowTypes } from '../api/v1alpha1/index.js';
import type { AggregationConfig, WindowConfig, DeliveryGuarantee, JobConfigDocument, PoisonRecordPolicy, TaskExhaustionPolicy } from '../coordination/config-mirror.js';
import type { BatchRecord } from '../coordination/task-ledger.js';
import { StreamkeeperError } from '../errors/index.js';

/** How a batch's records are processed and where the output goes. */
export interface ProcessingSettings {
  /** A builtin's name, or the absolute path of a processor module. */
  readonly processor: string;
  readonly params: Readonly<Record<string, string>>;
  readonly sinkTopic: string;
  readonly delivery: DeliveryGuarantee;
  readonly poisonRecords: PoisonRecordPolicy;
  readonly deadLetterTopic?: string;
  /** The keyed aggregation after the processor; absent: a stateless job. */
  readonly aggregation?: AggregationConfig;
}

/** What the driver needs to plan batches. */
export interface PlanningSettings {
  readonly batchIntervalMs: number;
  readonly maxRecordsPerPartition: number;
  /** Source ranges are grouped into at most this many tasks per batch; undefined: one task per range. */
  readonly partitionGroups: number | undefined;
  readonly topics: readonly string[];
  readonly startingOffsets: 'earliest' | 'latest';
  readonly onTaskExhausted: TaskExhaustionPolicy;
}

export interface JobSettings {
  readonly generation: number;
  readonly hash: string;
  readonly planning: PlanningSettings;
  readonly processing: ProcessingSettings;
  readonly sourceBrokers: readonly string[];
  readonly sinkBrokers: readonly string[];
  /** The Secrets each side's credentials come from, by name: what a refused login names. */
  readonly secrets: { readonly source: KafkaSecretNames; readonly sink: KafkaSecretNames };
  /** The spec's free-form `config` map, handed to processors. */
  readonly config: Readonly<Record<string, string>>;
}

/** What a batch records about the configuration it was planned with. */
export interface BatchPlanContext {
  readonly config: { readonly generation: number; readonly hash: string };
  readonly processing: ProcessingSettings;
  /** The spec's free-form `config` map, as processors get it. */
  readonly configMap: Readonly<Record<string, string>>;
  /** Where the batch's ranges are read (the offsets belong to that cluster) and its output written. */
  readonly brokers: { readonly source: readonly string[]; readonly sink: readonly string[] };
  /** A windowed aggregation's watermark for this batch (epoch ms): every attempt of its tasks uses it. */
  readonly watermark?: number;
}

/** Names of the Secrets one side's Kafka credentials come from (never their values). */
export interface KafkaSecretNames {
  /** spec.*.kafka.sasl.secretRef.name */
  readonly sasl?: string;
  /** spec.*.kafka.tls.caSecretRef.name */
  readonly ca?: string;
}

function secretNames(side: { readonly secretRef?: { readonly name: string }; readonly caSecretRef?: { readonly name: string } }): KafkaSecretNames {
  return { ...(side.secretRef === undefined ? {} : { sasl: side.secretRef.name }), ...(side.caSecretRef === undefined ? {} : { ca: side.caSecretRef.name }) };
}

function invalidConfig(field: string, message: string): StreamkeeperError {
  return new StreamkeeperError('SK_INVALID_SPEC', message, { field });
}

function stringMap(value: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [key, v] of Object.entries(value ?? {})) map[key] = typeof v === 'string' ? v : JSON.stringify(v);
  return map;
}

/** Reads a config document; throws SK_INVALID_SPEC naming the field that cannot be used. */
export function jobSettings(document: JobConfigDocument): JobSettings {
  const { content } = document;
  const batchIntervalMs = parseDuration(content.batchInterval);
  if (batchIntervalMs === undefined || batchIntervalMs <= 0) throw invalidConfig('spec.batchInterval', `"${content.batchInterval}" is not a duration`);
  if (!Number.isSafeInteger(content.maxRecordsPerPartition) || content.maxRecordsPerPartition < 1) {
    throw invalidConfig('spec.source.kafka.maxRecordsPerPartition', `must be a positive integer (got ${String(content.maxRecordsPerPartition)})`);
  }
  if (content.partitionGroups !== undefined && (!Number.isSafeInteger(content.partitionGroups) || content.partitionGroups < 1)) {
    throw invalidConfig('spec.source.kafka.partitionGroups', `must be a positive integer (got ${String(content.partitionGroups)})`);
  }
  if (content.source.topics.length === 0) throw invalidConfig('spec.source.kafka.topics', 'at least one source topic is needed');
  if (content.processor.name === '') throw invalidConfig('spec.processor', 'no processor is set');
  const policy = content.failurePolicy;
  if (policy.poisonRecords === 'deadLetter' && (policy.deadLetterTopic === undefined || policy.deadLetterTopic === '')) {
    throw invalidConfig('spec.failurePolicy.deadLetterTopic', 'poisonRecords: deadLetter needs a deadLetterTopic');
  }
  if (content.aggregation?.window?.lateRecords === 'deadLetter' && (policy.deadLetterTopic === undefined || policy.deadLetterTopic === '')) {
    throw invalidConfig('spec.failurePolicy.deadLetterTopic', 'aggregation.window.lateRecords: deadLetter needs a deadLetterTopic');
  }
  return {
    generation: document.generation,
    hash: document.hash,
    planning: {
      batchIntervalMs,
      maxRecordsPerPartition: content.maxRecordsPerPartition,
      partitionGroups: content.partitionGroups,
      topics: [...content.source.topics],
      startingOffsets: content.source.startingOffsets === 'earliest' ? 'earliest' : 'latest',
      onTaskExhausted: policy.onTaskExhausted === 'degrade' ? 'degrade' : 'fail',
    },
    processing: {
      processor: content.processor.name,
      params: stringMap(content.processor.params),
      sinkTopic: content.sink.topic,
      delivery: content.sink.delivery === 'atLeastOnce' ? 'atLeastOnce' : 'exactlyOnce',
      poisonRecords: policy.poisonRecords,
      ...((policy.poisonRecords === 'deadLetter' || content.aggregation?.window?.lateRecords === 'deadLetter') && policy.deadLetterTopic !== undefined ? { deadLetterTopic: policy.deadLetterTopic } : {}),
      ...(content.aggregation === undefined ? {} : { aggregation: checkedAggregation(content.aggregation, content.sink.delivery) }),
    },
    sourceBrokers: [...content.source.bootstrapServers],
    sinkBrokers: [...content.sink.bootstrapServers],
    secrets: { source: secretNames(content.source), sink: secretNames(content.sink) },
    config: stringMap(content.config),
  };
}

/** The aggregation config, or SK_INVALID_SPEC naming the field the runtime cannot use. */
function checkedAggregation(aggregation: AggregationConfig, delivery: DeliveryGuarantee): AggregationConfig {
  const field = 'spec.aggregation';
  if ((aggregation.aggregates === undefined) === (aggregation.module === undefined)) throw invalidConfig(field, 'set exactly one of aggregates or module');
  if (delivery !== 'exactlyOnce') throw invalidConfig(field, 'an aggregation needs sink.kafka.delivery exactlyOnce');
  if (!Number.isSafeInteger(aggregation.statePartitions) || aggregation.statePartitions < 1) throw invalidConfig(`${field}.statePartitions`, `must be a positive integer (got ${String(aggregation.statePartitions)})`);
  if (!(aggregation.stateMemoryBytes > 0)) throw invalidConfig(`${field}.stateMemory`, 'must be a positive quantity');
  if (aggregation.standbyReplicas !== undefined && (!Number.isSafeInteger(aggregation.standbyReplicas) || aggregation.standbyReplicas < 0)) throw invalidConfig(`${field}.standbyReplicas`, `must be a non-negative integer (got ${String(aggregation.standbyReplicas)})`);
  if (aggregation.groupBy !== undefined && parseFieldPath(aggregation.groupBy) === undefined) throw invalidConfig(`${field}.groupBy.field`, `"${aggregation.groupBy}" is not a dotted field path`);
  (aggregation.aggregates ?? []).forEach((a, i) => {
    if (!(aggregateFunctions as readonly string[]).includes(a.function)) throw invalidConfig(`${field}.aggregates[${i}].function`, `"${a.function}" is not one of ${aggregateFunctions.join(', ')}`);
    if (a.field !== undefined && parseFieldPath(a.field) === undefined) throw invalidConfig(`${field}.aggregates[${i}].field`, `"${a.field}" is not a dotted field path`);
  });
  if (aggregation.window !== undefined) checkWindow(aggregation.window, `${field}.window`);
  return aggregation;
}

const windowTypeNames: readonly string[] = windowTypes;
const emitModes: readonly string[] = windowEmitModes;
const latePolicies: readonly string[] = lateRecordPolicies;

function checkWindow(window: WindowConfig, field: string): void {
  if (!windowTypeNames.includes(window.type)) throw invalidConfig(`${field}.type`, `"${String(window.type as unknown)}" is not one of ${windowTypes.join(', ')}`);
  if (!Number.isSafeInteger(window.sizeMs) || window.sizeMs <= 0) throw invalidConfig(`${field}.size`, `must be a positive whole number of milliseconds (got ${String(window.sizeMs)})`);
  if (!Number.isSafeInteger(window.advanceMs) || window.advanceMs <= 0 || window.advanceMs > window.sizeMs || window.sizeMs / window.advanceMs > maxWindowsPerRecord) {
    throw invalidConfig(`${field}.advance`, `must be positive, at most size and at least size / ${maxWindowsPerRecord} (got ${String(window.advanceMs)} ms)`);
  }
  if (window.eventTimeField !== undefined && parseFieldPath(window.eventTimeField) === undefined) throw invalidConfig(`${field}.eventTime.field`, `"${window.eventTimeField}" is not a dotted field path`);
  if (!Number.isSafeInteger(window.allowedLatenessMs) || window.allowedLatenessMs < 0) throw invalidConfig(`${field}.allowedLateness`, `must be a duration (got ${String(window.allowedLatenessMs)} ms)`);
  if (!Number.isSafeInteger(window.idleTimeoutMs) || window.idleTimeoutMs < 0) throw invalidConfig(`${field}.idleTimeout`, `must be a duration (got ${String(window.idleTimeoutMs)} ms)`);
  if (!emitModes.includes(window.emit)) throw invalidConfig(`${field}.emit`, `"${String(window.emit as unknown)}" is not one of ${windowEmitModes.join(', ')}`);
  if (!latePolicies.includes(window.lateRecords)) throw invalidConfig(`${field}.lateRecords`, `"${String(window.lateRecords as unknown)}" is not one of ${lateRecordPolicies.join(', ')}`);
}

/** The window a batch recorded, or undefined when it holds none this version can read. */
function decodeWindow(value: unknown): WindowConfig | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const w = value as Partial<Record<keyof WindowConfig, unknown>>;
  const numbers = [w.sizeMs, w.advanceMs, w.allowedLatenessMs, w.idleTimeoutMs];
  if (numbers.some((n) => typeof n !== 'number')) return undefined;
  if (typeof w.type !== 'string' || !windowTypeNames.includes(w.type) || typeof w.emit !== 'string' || !emitModes.includes(w.emit) || typeof w.lateRecords !== 'string' || !latePolicies.includes(w.lateRecords)) return undefined;
  return {
    type: w.type as WindowConfig['type'],
    sizeMs: w.sizeMs as number,
    advanceMs: w.advanceMs as number,
    ...(typeof w.eventTimeField === 'string' ? { eventTimeField: w.eventTimeField } : {}),
    allowedLatenessMs: w.allowedLatenessMs as number,
    emit: w.emit as WindowConfig['emit'],
    lateRecords: w.lateRecords as WindowConfig['lateRecords'],
    idleTimeoutMs: w.idleTimeoutMs as number,
  };
}

/** The aggregation a batch recorded, or undefined when it holds none this version can read. */
function decodeAggregation(value: unknown): AggregationConfig | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const a = value as Partial<Record<keyof AggregationConfig, unknown>>;
  if (typeof a.statePartitions !== 'number' || typeof a.stateMemoryBytes !== 'number') return undefined;
  const window = a.window === undefined ? undefined : decodeWindow(a.window);
  if (a.window !== undefined && window === undefined) return undefined;
  const aggregates = Array.isArray(a.aggregates)
    ? (a.aggregates as unknown[]).flatMap((x) => {
        const { name, function: fn, field } = (x ?? {}) as { name?: unknown; function?: unknown; field?: unknown };
        return typeof name === 'string' && typeof fn === 'string' ? [{ name, function: fn, ...(typeof field === 'string' ? { field } : {}) }] : [];
      })
    : undefined;
  return {
    ...(typeof a.groupBy === 'string' ? { groupBy: a.groupBy } : {}),
    ...(aggregates === undefined ? {} : { aggregates }),
    ...(typeof a.module === 'string' ? { module: a.module } : {}),
    statePartitions: a.statePartitions,
    stateMemoryBytes: a.stateMemoryBytes,
    ...(window === undefined ? {} : { window }),
  };
}

export function planContext(settings: JobSettings, watermark?: number): BatchPlanContext {
  return {
    config: { generation: settings.generation, hash: settings.hash },
    processing: settings.processing,
    configMap: settings.config,
    brokers: { source: settings.sourceBrokers, sink: settings.sinkBrokers },
    ...(watermark === undefined ? {} : { watermark }),
  };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

const deliveries: readonly string[] = deliveryGuarantees;
const poisonPolicies: readonly string[] = poisonRecordPolicies;

/** The plan context a batch recorded, or undefined when it holds none this version can read. */
export function decodePlanContext(value: Readonly<Record<string, unknown>> | undefined): BatchPlanContext | undefined {
  const config = value?.config as { generation?: unknown; hash?: unknown } | undefined;
  const processing = value?.processing as Partial<Record<keyof ProcessingSettings, unknown>> | undefined;
  if (typeof config?.generation !== 'number' || typeof config.hash !== 'string' || processing === undefined) return undefined;
  const { processor, params, sinkTopic, delivery, poisonRecords, deadLetterTopic, aggregation } = processing;
  if (typeof processor !== 'string' || typeof sinkTopic !== 'string' || typeof delivery !== 'string' || typeof poisonRecords !== 'string') return undefined;
  if (!deliveries.includes(delivery) || !poisonPolicies.includes(poisonRecords) || typeof params !== 'object' || params === null) return undefined;
  const decodedAggregation = aggregation === undefined ? undefined : decodeAggregation(aggregation);
  if (aggregation !== undefined && decodedAggregation === undefined) return undefined;
  const watermark = value?.watermark;
  if (watermark !== undefined && (typeof watermark !== 'number' || !Number.isFinite(watermark))) return undefined;
  const configMap = value?.configMap;
  const brokers = value?.brokers as { source?: unknown; sink?: unknown } | undefined;
  if (typeof configMap !== 'object' || configMap === null || !isStringList(brokers?.source) || !isStringList(brokers.sink)) return undefined;
  return {
    ...(watermark === undefined ? {} : { watermark }),
    config: { generation: config.generation, hash: config.hash },
    configMap: stringMap(configMap as Record<string, unknown>),
    brokers: { source: brokers.source, sink: brokers.sink },
    processing: {
      processor,
      params: stringMap(params as Record<string, unknown>),
      sinkTopic,
      delivery: delivery as DeliveryGuarantee,
      poisonRecords: poisonRecords as PoisonRecordPolicy,
      ...(typeof deadLetterTopic === 'string' ? { deadLetterTopic } : {}),
      ...(decodedAggregation === undefined ? {} : { aggregation: decodedAggregation }),
    },
  };
}

/**
 * What a task of batch `id` runs with: the plan its batch recorded (`batch` as read, null when
 * gone). A batch that is gone took its tasks with it (SK_TASK_STALE); a plan this version cannot
 * read is an error naming the batch — the task fails and the batch follows the failure policy —
 * never a reason to run with the live configuration instead.
 */
export function batchPlan(id: string, batch: Pick<BatchRecord, 'plannedWith'> | null): BatchPlanContext {
  if (batch === null) throw new StreamkeeperError('SK_TASK_STALE', `batch ${id} no longer exists (it was committed or planned again)`);
  const plan = decodePlanContext(batch.plannedWith);
  if (plan === undefined) throw new StreamkeeperError('SK_ZK_ERROR', `batch ${id} records no plan this version can read, so its tasks cannot run`, { field: `batches/${id}.plannedWith` });
  return plan;
}
