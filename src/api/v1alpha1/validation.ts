/**
 * Everything that makes a StreamingJob invalid, checked without the API server: the schema (an
 * older CRD may have admitted the object), every CEL rule of the CRD, and the rules no schema can
 * express (processor params, broker addresses, secrets in config, label syntax, resources).
 */
import { isIP } from 'node:net';
import { Kind } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import type { ValueError } from '@sinclair/typebox/value';
import { invalidSpec } from '../../errors/index.js';
import type { StreamkeeperError } from '../../errors/index.js';
import { maxJobNameLength, reservedEnvPrefix, reservedLabelKeys, secretLookingKeyPattern } from './constants.js';
import { applySchemaDefaults, effectiveAggregation } from './defaults.js';
import { isPlainObject } from './kube-schema.js';
import { parseBuiltinParams, parseFieldPath } from './processor-params.js';
import { parseDuration, parseQuantity } from './quantities.js';
import { describePattern, maxWindowsPerRecord, minBatchInterval, minStateMemoryBytes, StreamingJobSpecSchema } from './schema.js';
import type { DefaultedStreamingJobSpec, PodTemplateOverrides, ResourceRequirements } from './types.js';

/** One reason a spec is invalid, with the field it is about (`spec.executors.replicas`). */
export interface SpecFinding {
  readonly field: string;
  readonly message: string;
}

interface NodeShape {
  readonly [Kind]?: string;
  readonly type?: string;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly maxProperties?: number;
  readonly properties?: Readonly<Record<string, TSchema>>;
  readonly items?: TSchema;
  readonly additionalProperties?: TSchema | boolean;
}

const shapeOf = (schema: TSchema): NodeShape => schema as NodeShape;

/** Kubernetes field-path notation: `.prop` for properties, `[i]` for items, `[key]` for map keys. */
function fieldFromPointer(root: string, pointer: string, schema: TSchema): string {
  let field = root;
  let node: TSchema | undefined = schema;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const shape: NodeShape | undefined = node === undefined ? undefined : shapeOf(node);
    const property: TSchema | undefined = shape?.properties?.[segment];
    if (property !== undefined) {
      field += `.${segment}`;
      node = property;
    } else {
      field += `[${segment}]`;
      node = shape?.items ?? (typeof shape?.additionalProperties === 'object' ? shape.additionalProperties : undefined);
    }
  }
  return field;
}

interface BoundsShape {
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A message in the API server's spirit for each way a value can miss the schema. */
function describeSchemaError(error: ValueError): string {
  const shape = shapeOf(error.schema);
  const bounds = error.schema as BoundsShape;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.Object:
      return 'must be an object';
    case ValueErrorType.Array:
      return 'must be a list';
    case ValueErrorType.String:
      return 'must be a string';
    case ValueErrorType.Integer:
      return 'must be an integer';
    case ValueErrorType.Boolean:
      return 'must be true or false';
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${plural(bounds.minItems ?? 0, 'item')}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${plural(bounds.maxItems ?? 0, 'item')}`;
    case ValueErrorType.StringMinLength:
      return `must be at least ${plural(bounds.minLength ?? 0, 'character')} long`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${plural(bounds.maxLength ?? 0, 'character')} long`;
    case ValueErrorType.IntegerMinimum:
      return `must be at least ${bounds.minimum ?? 0}`;
    case ValueErrorType.IntegerMaximum:
      return `must be at most ${bounds.maximum ?? 0}`;
    case ValueErrorType.StringFormat:
      return 'must be an RFC 3339 time such as 2024-05-01T12:00:00Z';
    case ValueErrorType.StringPattern:
      return `must be ${describePattern(shape.pattern ?? '') ?? `a string matching ${shape.pattern ?? ''}`}`;
    case ValueErrorType.Kind:
      switch (shape[Kind]) {
        case 'StringEnum':
          return `must be one of: ${(shape.enum ?? []).join(', ')}`;
        case 'Quantity':
          return 'must be a Kubernetes quantity such as 500m, 2 or 512Mi';
        case 'StringMap':
          return `must be a map of strings with at most ${shape.maxProperties ?? 0} entries`;
        default:
          return 'must be an object';
      }
    default:
      return error.message;
  }
}

function schemaFindings(spec: unknown): SpecFinding[] {
  const findings: SpecFinding[] = [];
  const seen = new Set<string>();
  for (const error of Value.Errors(StreamingJobSpecSchema, spec)) {
    const field = fieldFromPointer('spec', error.path, StreamingJobSpecSchema);
    if (seen.has(field)) continue;
    seen.add(field);
    findings.push({ field, message: describeSchemaError(error) });
  }
  return findings;
}

/** Fields the schema does not know; the API server would drop them, so they are likely typos. */
function unknownFieldFindings(value: unknown, schema: TSchema, field: string): SpecFinding[] {
  const shape = shapeOf(schema);
  if (Array.isArray(value) && shape.items !== undefined) {
    const items = shape.items;
    return value.flatMap((item: unknown, i) => unknownFieldFindings(item, items, `${field}[${i}]`));
  }
  if (!isPlainObject(value) || shape[Kind] !== 'Object' || shape.properties === undefined) return [];
  const properties = shape.properties;
  return Object.entries(value).flatMap(([key, child]) => {
    const property = properties[key];
    return property === undefined
      ? [{ field: `${field}.${key}`, message: 'unknown field' }]
      : unknownFieldFindings(child, property, `${field}.${key}`);
  });
}

const dnsLabel = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;
const hostPort = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]+)$/;

/** Why `address` is not a usable host:port, or undefined when it is one. */
export function bootstrapServerProblem(address: string): string | undefined {
  const match = hostPort.exec(address);
  if (match === null) return 'must be host:port (e.g. kafka-0.kafka:9092)';
  const [, ipv6, host = '', portText = ''] = match;
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `port ${portText} is not between 1 and 65535`;
  if (ipv6 !== undefined) return isIP(ipv6) === 6 ? undefined : `[${ipv6}] is not an IPv6 address`;
  if (/^[0-9.]+$/.test(host)) return isIP(host) === 4 ? undefined : `${host} is not an IPv4 address`;
  const labels = host.split('.');
  if (host.length > 253 || !labels.every((l) => l.length <= 63 && dnsLabel.test(l))) return `${host} is not a DNS name`;
  return undefined;
}

const qualifiedNamePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A label or annotation key: `[prefix/]name`, as Kubernetes accepts it. */
export function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !dnsSubdomain.test(prefix))) return false;
  return name.length <= 63 && qualifiedNamePart.test(name);
}

export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && qualifiedNamePart.test(value));
}

function duplicates(values: readonly string[]): { index: number; value: string }[] {
  const seen = new Set<string>();
  const found: { index: number; value: string }[] = [];
  values.forEach((value, index) => {
    if (seen.has(value)) found.push({ index, value });
    seen.add(value);
  });
  return found;
}

function bootstrapServerFindings(servers: readonly string[] | undefined, field: string): SpecFinding[] {
  if (servers === undefined) return [];
  return [
    ...servers.flatMap((s, i) => {
      const problem = bootstrapServerProblem(s);
      return problem === undefined ? [] : [{ field: `${field}[${i}]`, message: problem }];
    }),
    ...duplicates(servers).map((d) => ({ field: `${field}[${d.index}]`, message: `duplicate broker ${d.value}` })),
  ];
}

function topicFindings(topic: string, field: string): SpecFinding[] {
  return topic === '.' || topic === '..' ? [{ field, message: `"${topic}" is not a valid Kafka topic name` }] : [];
}

type Rule = (spec: DefaultedStreamingJobSpec) => SpecFinding[];

const kafkaRules: Rule = (spec) => {
  const source = spec.source.kafka;
  const sink = spec.sink.kafka;
  return [
    ...bootstrapServerFindings(source.bootstrapServers, 'spec.source.kafka.bootstrapServers'),
    ...bootstrapServerFindings(sink.bootstrapServers, 'spec.sink.kafka.bootstrapServers'),
    ...source.topics.flatMap((t, i) => topicFindings(t, `spec.source.kafka.topics[${i}]`)),
    ...duplicates(source.topics).map((d) => ({ field: `spec.source.kafka.topics[${d.index}]`, message: `duplicate topic ${d.value}` })),
    ...topicFindings(sink.topic, 'spec.sink.kafka.topic'),
    ...(source.topics.includes(sink.topic)
      ? [{ field: 'spec.sink.kafka.topic', message: 'the sink topic must not be one of the source topics (the job would read its own output)' }]
      : []),
  ];
};

const batchIntervalRule: Rule = (spec) => {
  const ms = parseDuration(spec.batchInterval);
  const minimum = parseDuration(minBatchInterval) ?? 0;
  return ms !== undefined && ms < minimum ? [{ field: 'spec.batchInterval', message: `must be at least ${minBatchInterval}` }] : [];
};

const processorRules: Rule = (spec) => {
  const { builtin, module, params } = spec.processor;
  if ((builtin === undefined) === (module === undefined)) {
    return [{ field: 'spec.processor', message: 'set exactly one of builtin or module' }];
  }
  if (module !== undefined) {
    const segments = module.split('/').slice(1);
    return segments.some((s) => s === '.' || s === '..' || s === '')
      ? [{ field: 'spec.processor.module', message: 'must be a normalised absolute path (no empty, . or .. segments)' }]
      : [];
  }
  if (builtin === undefined) return [];
  const parsed = parseBuiltinParams(builtin, params);
  if (parsed.ok) return [];
  return parsed.problems.map((p) => ({
    field: p.param === undefined ? 'spec.processor.params' : `spec.processor.params[${p.param}]`,
    message: p.message,
  }));
};

function windowFindings(window: NonNullable<NonNullable<DefaultedStreamingJobSpec['aggregation']>['window']>, field: string): SpecFinding[] {
  const findings: SpecFinding[] = [];
  const duration = (name: 'size' | 'advance' | 'allowedLateness' | 'idleTimeout', text: string, positive: boolean): number | undefined => {
    const ms = parseDuration(text);
    if (ms === undefined || (positive && ms <= 0) || !Number.isSafeInteger(ms)) {
      findings.push({ field: `${field}.${name}`, message: `must be a ${positive ? 'positive ' : ''}duration such as 30s, 1m or 1h, not "${text}"` });
      return undefined;
    }
    return ms;
  };
  const size = duration('size', window.size, true);
  duration('allowedLateness', window.allowedLateness, false);
  duration('idleTimeout', window.idleTimeout, false);
  if (window.type === 'hopping') {
    if (window.advance === undefined) findings.push({ field: `${field}.advance`, message: 'is required with type hopping' });
    else {
      const advance = duration('advance', window.advance, true);
      if (size !== undefined && advance !== undefined) {
        if (advance > size) findings.push({ field: `${field}.advance`, message: `must be at most size (${window.size})` });
        else if (size / advance > maxWindowsPerRecord) findings.push({ field: `${field}.advance`, message: `must be at least size / ${maxWindowsPerRecord}: each record counts in size / advance windows` });
      }
    }
  } else if (window.advance !== undefined) findings.push({ field: `${field}.advance`, message: 'is only allowed with type hopping' });
  const eventField = window.eventTime.field;
  if (eventField !== undefined && parseFieldPath(eventField) === undefined) findings.push({ field: `${field}.eventTime.field`, message: `must be a dotted field path such as time or request.at, not "${eventField}"` });
  return findings;
}

const aggregationRules: Rule = (spec) => {
  const aggregation = spec.aggregation;
  if (aggregation === undefined) {
    if (effectiveAggregation(spec) === undefined || spec.sink.kafka.delivery === 'exactlyOnce') return [];
    return [{ field: 'spec.sink.kafka.delivery', message: 'the builtin wordcount keeps running totals per word, which needs exactlyOnce: its running state is only correct when each batch commits once' }];
  }
  const findings: SpecFinding[] = [];
  const field = 'spec.aggregation';
  if ((aggregation.aggregates === undefined) === (aggregation.module === undefined)) findings.push({ field, message: 'set exactly one of aggregates or module' });
  if (aggregation.module !== undefined && aggregation.module.split('/').slice(1).some((s) => s === '.' || s === '..' || s === '')) {
    findings.push({ field: `${field}.module`, message: 'must be a normalised absolute path (no empty, . or .. segments)' });
  }
  const groupBy = aggregation.groupBy.field;
  if (groupBy !== undefined && parseFieldPath(groupBy) === undefined) findings.push({ field: `${field}.groupBy.field`, message: `must be a dotted field path such as user.country, not "${groupBy}"` });
  const seen = new Set<string>();
  (aggregation.aggregates ?? []).forEach((aggregate, i) => {
    const at = `${field}.aggregates[${i}]`;
    if (seen.has(aggregate.name)) findings.push({ field: `${at}.name`, message: `"${aggregate.name}" is used by an earlier aggregate` });
    seen.add(aggregate.name);
    if (aggregate.function === 'count' && aggregate.field !== undefined) findings.push({ field: `${at}.field`, message: 'count takes no field' });
    if (aggregate.field !== undefined && parseFieldPath(aggregate.field) === undefined) findings.push({ field: `${at}.field`, message: `must be a dotted field path such as bytes or response.size, not "${aggregate.field}"` });
  });
  if (aggregation.window !== undefined) findings.push(...windowFindings(aggregation.window, `${field}.window`));
  const memory = parseQuantity(aggregation.stateMemory);
  if (memory === undefined || memory < minStateMemoryBytes) findings.push({ field: `${field}.stateMemory`, message: `must be a quantity of at least ${minStateMemoryBytes / (1024 * 1024)}Mi` });
  if (spec.sink.kafka.delivery !== 'exactlyOnce') {
    findings.push({ field, message: 'an aggregation needs sink.kafka.delivery exactlyOnce: its running state is only correct when each batch commits once' });
  }
  return findings;
};

const failurePolicyRules: Rule = (spec) => {
  const { poisonRecords, deadLetterTopic } = spec.failurePolicy;
  const field = 'spec.failurePolicy.deadLetterTopic';
  const lateToDeadLetter = spec.aggregation?.window?.lateRecords === 'deadLetter';
  if (poisonRecords === 'deadLetter' && deadLetterTopic === undefined) {
    return [{ field, message: 'is required when poisonRecords is deadLetter' }];
  }
  if (lateToDeadLetter && deadLetterTopic === undefined) return [{ field, message: 'is required when aggregation.window.lateRecords is deadLetter' }];
  if (deadLetterTopic === undefined) return [];
  if (poisonRecords !== 'deadLetter' && !lateToDeadLetter) return [{ field, message: 'is only allowed when poisonRecords or aggregation.window.lateRecords is deadLetter' }];
  return [
    ...topicFindings(deadLetterTopic, field),
    ...(deadLetterTopic === spec.sink.kafka.topic ? [{ field, message: 'the dead-letter topic must differ from the sink topic' }] : []),
    ...(spec.source.kafka.topics.includes(deadLetterTopic)
      ? [{ field, message: 'the dead-letter topic must not be one of the source topics (poison records would be read again)' }]
      : []),
  ];
};

const secretLookingKey = new RegExp(secretLookingKeyPattern, 'i');

/** Whether a config key looks like it carries a secret (and so must not go to ZooKeeper). */
export function isSecretLookingKey(key: string): boolean {
  return secretLookingKey.test(key);
}

const configRules: Rule = (spec) =>
  Object.keys(spec.config ?? {})
    .filter(isSecretLookingKey)
    .map((key) => ({
      field: `spec.config[${key}]`,
      message: 'must not carry secrets (config is stored in ZooKeeper): use a Secret reference in source/sink tls or sasl, or env valueFrom',
    }));

function labelMapFindings(labels: Readonly<Record<string, string>> | undefined, field: string): SpecFinding[] {
  return Object.entries(labels ?? {}).flatMap(([key, value]) => [
    ...(isQualifiedName(key) ? [] : [{ field: `${field}[${key}]`, message: 'is not a valid label key' }]),
    ...(isLabelValue(value) ? [] : [{ field: `${field}[${key}]`, message: `"${value}" is not a valid label value` }]),
  ]);
}

function podTemplateFindings(template: PodTemplateOverrides | undefined, field: string): SpecFinding[] {
  if (template === undefined) return [];
  const env = template.env ?? [];
  return [
    ...labelMapFindings(template.labels, `${field}.labels`),
    ...Object.keys(template.labels ?? {})
      .filter((key) => reservedLabelKeys.includes(key))
      .map((key) => ({ field: `${field}.labels[${key}]`, message: 'is set by the operator and cannot be overridden' })),
    ...labelMapFindings(template.nodeSelector, `${field}.nodeSelector`),
    ...Object.keys(template.annotations ?? {})
      .filter((key) => !isQualifiedName(key))
      .map((key) => ({ field: `${field}.annotations[${key}]`, message: 'is not a valid annotation key' })),
    ...env.flatMap((variable, i) => [
      ...(variable.name.startsWith(reservedEnvPrefix)
        ? [{ field: `${field}.env[${i}].name`, message: `names starting with ${reservedEnvPrefix} are set by the operator` }]
        : []),
      ...(variable.value !== undefined && variable.valueFrom !== undefined
        ? [{ field: `${field}.env[${i}]`, message: 'set at most one of value or valueFrom' }]
        : []),
    ]),
    ...duplicates(env.map((v) => v.name)).map((d) => ({ field: `${field}.env[${d.index}].name`, message: `duplicate variable ${d.value}` })),
    ...duplicates((template.imagePullSecrets ?? []).map((s) => s.name)).map((d) => ({
      field: `${field}.imagePullSecrets[${d.index}].name`,
      message: `duplicate Secret ${d.value}`,
    })),
  ];
}

function resourceFindings(resources: ResourceRequirements | undefined, field: string): SpecFinding[] {
  if (resources === undefined) return [];
  const findings: SpecFinding[] = [];
  for (const resource of ['cpu', 'memory'] as const) {
    const request = resources.requests?.[resource];
    const limit = resources.limits?.[resource];
    const requested = request === undefined ? undefined : parseQuantity(request);
    const limited = limit === undefined ? undefined : parseQuantity(limit);
    if (requested !== undefined && requested < 0) findings.push({ field: `${field}.requests.${resource}`, message: 'must not be negative' });
    if (limited !== undefined && limited < 0) findings.push({ field: `${field}.limits.${resource}`, message: 'must not be negative' });
    if (requested !== undefined && limited !== undefined && requested > limited) {
      findings.push({ field: `${field}.requests.${resource}`, message: `must not exceed limits.${resource} (${String(limit)})` });
    }
  }
  return findings;
}

const podRules: Rule = (spec) => [
  ...resourceFindings(spec.driver.resources, 'spec.driver.resources'),
  ...podTemplateFindings(spec.driver.podTemplate, 'spec.driver.podTemplate'),
  ...resourceFindings(spec.executors.resources, 'spec.executors.resources'),
  ...podTemplateFindings(spec.executors.podTemplate, 'spec.executors.podTemplate'),
];

const rules: readonly Rule[] = [kafkaRules, batchIntervalRule, processorRules, aggregationRules, failurePolicyRules, configRules, podRules];

/**
 * Every reason `spec` is invalid (empty when it is valid). Accepts anything: a spec that does not
 * even have the schema's shape gets the schema's findings and is not checked further.
 */
export function validateSpec(spec: unknown): SpecFinding[] {
  if (!isPlainObject(spec)) return [{ field: 'spec', message: 'must be an object' }];
  const defaulted = applySchemaDefaults(spec, StreamingJobSpecSchema);
  const unknown = unknownFieldFindings(defaulted, StreamingJobSpecSchema, 'spec');
  const shape = schemaFindings(defaulted);
  if (shape.length > 0) return [...shape, ...unknown];
  const valid = defaulted as DefaultedStreamingJobSpec;
  return [...unknown, ...rules.flatMap((rule) => rule(valid))];
}

/** Every reason a whole StreamingJob object is invalid: its name, then its spec. */
export function validateStreamingJob(job: unknown): SpecFinding[] {
  if (!isPlainObject(job)) return [{ field: '', message: 'must be an object' }];
  const name = isPlainObject(job.metadata) ? job.metadata.name : undefined;
  const nameFindings =
    typeof name === 'string' && name.length > maxJobNameLength
      ? [{ field: 'metadata.name', message: `must be at most ${maxJobNameLength} characters (it is the value of the instance label)` }]
      : [];
  const spec = job.spec === undefined ? [{ field: 'spec', message: 'is required' }] : validateSpec(job.spec);
  return [...nameFindings, ...spec];
}

export function findingsToErrors(findings: readonly SpecFinding[]): StreamkeeperError[] {
  return findings.map((f) => invalidSpec(f.field, f.message));
}

export type ParsedSpec =
  | { readonly ok: true; readonly spec: DefaultedStreamingJobSpec }
  | { readonly ok: false; readonly errors: readonly StreamkeeperError[] };

/** The spec with defaults applied when it is valid; otherwise one SK_INVALID_SPEC error per finding. */
export function parseSpec(spec: unknown): ParsedSpec {
  const findings = validateSpec(spec);
  if (findings.length > 0) return { ok: false, errors: findingsToErrors(findings) };
  return { ok: true, spec: applySchemaDefaults(spec, StreamingJobSpecSchema) as DefaultedStreamingJobSpec };
}
