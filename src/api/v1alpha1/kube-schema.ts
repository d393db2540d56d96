/**
 * TypeBox building blocks for the shapes a Kubernetes structural schema needs and TypeBox does not
 * emit as Kubernetes wants them (string enums, int-or-string quantities, string maps, free-form
 * objects, defaults), registered so TypeBox's own checker understands them too.
 */
import { FormatRegistry, Kind, Type, TypeRegistry } from '@sinclair/typebox';
import type { Evaluate, SchemaOptions, Static, TArray, TObject, TOptional, TProperties, TSchema, TUnsafe } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** One CEL rule of `x-kubernetes-validations`; evaluated by the API server on admission. */
export interface CelRule {
  readonly rule: string;
  readonly message: string;
  /** Where the API server reports the failure, relative to the schema node holding the rule. */
  readonly fieldPath?: string;
}

/** Options every node of the StreamingJob schema takes; a description is mandatory. */
export interface NodeOptions extends SchemaOptions {
  readonly description: string;
}

/** Marks a property whose value the API server fills in when it is absent. */
export const Defaulted: unique symbol = Symbol.for('streamkeeper.io/defaulted');
export type TDefaulted<T extends TSchema> = TOptional<T> & { readonly [Defaulted]: true };

/** An optional property with a declared default: the one place a default value is written. */
export function withDefault<T extends TSchema>(schema: T, value: Static<T>): TDefaulted<T> {
  return { ...Type.Optional(schema), default: value, [Defaulted]: true } as TDefaulted<T>;
}

export function isDefaulted(schema: TSchema): boolean {
  return (schema as Partial<Record<typeof Defaulted, boolean>>)[Defaulted] === true;
}

/** `x-kubernetes-validations` as schema options. */
export function celRules(...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules };
}

/** `type: string` with `enum`: what Kubernetes expects (TypeBox unions become `anyOf`). */
export function StringEnum<const T extends readonly string[]>(values: T, options: NodeOptions): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ ...options, [Kind]: 'StringEnum', type: 'string', enum: [...values] });
}

/** Kubernetes resource.Quantity as written in manifests (`500m`, `1Gi`, `2`). */
export const quantityPattern =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** An int-or-string quantity, shaped exactly as core's ResourceRequirements declares it. */
export function Quantity(options: NodeOptions): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({
    ...options,
    [Kind]: 'Quantity',
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: quantityPattern,
    'x-kubernetes-int-or-string': true,
  });
}

export interface StringMapOptions extends NodeOptions {
  readonly maxProperties: number;
  readonly valueMaxLength: number;
}

/** A map of string to string (`additionalProperties`), bounded so CEL cost stays bounded. */
export function StringMap(options: StringMapOptions): TUnsafe<Record<string, string>> {
  const { valueMaxLength, ...rest } = options;
  return Type.Unsafe<Record<string, string>>({
    ...rest,
    [Kind]: 'StringMap',
    type: 'object',
    additionalProperties: Type.String({ maxLength: valueMaxLength }),
  });
}

/** An object Kubernetes stores as given (affinity, tolerations, env valueFrom). */
export function FreeFormObject(options: NodeOptions): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({
    ...options,
    [Kind]: 'FreeFormObject',
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });
}

/** Object metadata as the API server returns it to a custom-resource client (plain JSON). */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Record<string, unknown>[];
}

/** `metadata`: the API server validates it; a CRD may only say it is an object. */
export function ObjectMetaSchema(): TUnsafe<ObjectMeta> {
  return Type.Unsafe<ObjectMeta>({ [Kind]: 'ObjectMeta', type: 'object' });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface StringEnumNode {
  readonly enum: readonly string[];
}
interface QuantityNode {
  readonly pattern: string;
}
interface StringMapNode {
  readonly maxProperties?: number;
  readonly additionalProperties: TSchema;
}

TypeRegistry.Set<StringEnumNode>('StringEnum', (schema, value) => typeof value === 'string' && schema.enum.includes(value));
TypeRegistry.Set<QuantityNode>(
  'Quantity',
  (schema, value) => Number.isInteger(value) || (typeof value === 'string' && new RegExp(schema.pattern).test(value)),
);
TypeRegistry.Set<StringMapNode>('StringMap', (schema, value) => {
  if (!isPlainObject(value)) return false;
  const values = Object.values(value);
  if (schema.maxProperties !== undefined && values.length > schema.maxProperties) return false;
  return values.every((v) => Value.Check(schema.additionalProperties, v));
});
TypeRegistry.Set('FreeFormObject', (_schema, value) => isPlainObject(value));
TypeRegistry.Set('ObjectMeta', (_schema, value) => isPlainObject(value));

/** RFC 3339 timestamps as metav1.Time serialises them (`2024-05-01T12:00:00Z`). */
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
FormatRegistry.Set('date-time', (value) => rfc3339.test(value) && !Number.isNaN(Date.parse(value)));

/** A property that is absent from a value: optional and not filled in by a default. */
type AbsentAllowed<S> = S extends { readonly [Defaulted]: true } ? false : S extends TOptional<TSchema> ? true : false;

type DefaultedObject<P extends TProperties> = Evaluate<
  { [K in keyof P as AbsentAllowed<P[K]> extends true ? never : K]: DefaultedStatic<P[K]> } & {
    [K in keyof P as AbsentAllowed<P[K]> extends true ? K : never]?: DefaultedStatic<P[K]>;
  }
>;

/** The static type of a value after the schema's defaults were applied: defaulted fields are present. */
export type DefaultedStatic<S extends TSchema> =
  S extends TObject<infer P> ? DefaultedObject<P> : S extends TArray<infer I> ? DefaultedStatic<I>[] : Static<S>;
