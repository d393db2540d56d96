/**
 * The field reference of docs/api.md, rendered from the schema so every field, default and bound
 * the CRD enforces is documented and stays so (a unit test compares the committed section).
 */
import { Kind } from '@sinclair/typebox';
import type { TSchema } from '@sinclair/typebox';
import type { CelRule } from './kube-schema.js';
import { describePattern, StreamingJobSpecSchema, StreamingJobStatusSchema } from './schema.js';

interface Node {
  readonly [Kind]?: string;
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly format?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly maxProperties?: number;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, TSchema>>;
  readonly items?: TSchema;
  readonly additionalProperties?: TSchema | boolean;
  readonly 'x-kubernetes-list-type'?: string;
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-validations'?: readonly CelRule[];
}

export interface FieldRow {
  readonly field: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: string | undefined;
  readonly description: string;
  readonly constraints: readonly string[];
}

const code = (text: string): string => `\`${text}\``;

function typeName(node: Node): string {
  switch (node[Kind]) {
    case 'StringEnum':
      return 'string';
    case 'Quantity':
      return 'quantity';
    case 'StringMap':
      return 'map[string]string';
    case 'FreeFormObject':
      return 'object (free-form)';
    default:
      if (node.type === 'array' && node.items !== undefined) return `[]${typeName(node.items as Node)}`;
      return node.type ?? 'any';
  }
}

function constraintsOf(node: Node): string[] {
  const found: string[] = [];
  if (node.enum !== undefined) found.push(`one of ${node.enum.map(code).join(', ')}`);
  if (node.minimum !== undefined && node.maximum !== undefined) found.push(`${node.minimum}..${node.maximum}`);
  else if (node.minimum !== undefined) found.push(`at least ${node.minimum}`);
  else if (node.maximum !== undefined) found.push(`at most ${node.maximum}`);
  if (node.minLength !== undefined && node.minLength > 1) found.push(`at least ${node.minLength} characters`);
  if (node.maxLength !== undefined) found.push(`at most ${node.maxLength} characters`);
  if (node.pattern !== undefined && node[Kind] !== 'Quantity') found.push(describePattern(node.pattern) ?? `matches ${code(node.pattern)}`);
  if (node.format === 'date-time') found.push('RFC 3339 time');
  if (node.minItems !== undefined) found.push(`at least ${node.minItems} item${node.minItems === 1 ? '' : 's'}`);
  if (node.maxItems !== undefined) found.push(`at most ${node.maxItems} items`);
  if (node.maxProperties !== undefined) found.push(`at most ${node.maxProperties} entries`);
  const valueSchema = node[Kind] === 'StringMap' && typeof node.additionalProperties === 'object' ? (node.additionalProperties as Node) : undefined;
  if (valueSchema?.maxLength !== undefined) found.push(`values at most ${valueSchema.maxLength} characters`);
  if (node['x-kubernetes-list-type'] === 'set') found.push('no duplicates');
  const mapKeys = node['x-kubernetes-list-map-keys'];
  if (mapKeys !== undefined) found.push(`unique by ${mapKeys.map(code).join(', ')}`);
  for (const rule of node['x-kubernetes-validations'] ?? []) found.push(rule.message);
  return found;
}

/** One row per field under `schema`, depth first, in declaration order. */
export function fieldRows(schema: TSchema, field: string): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (parent: Node, parentField: string): void => {
    for (const [name, property] of Object.entries(parent.properties ?? {})) {
      const child = property as Node;
      const childField = `${parentField}.${name}`;
      rows.push({
        field: childField,
        type: typeName(child),
        required: (parent.required ?? []).includes(name),
        default: child.default === undefined ? undefined : JSON.stringify(child.default),
        description: child.description ?? '',
        constraints: constraintsOf(child),
      });
      if (child.type === 'array' && child.items !== undefined) walk(child.items as Node, `${childField}[]`);
      else walk(child, childField);
    }
  };
  walk(schema as Node, field);
  return rows;
}

const cell = (text: string): string => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function table(rows: readonly FieldRow[]): string {
  const lines = ['| Field | Type | Default | Description |', '|---|---|---|---|'];
  for (const row of rows) {
    const notes = [row.required ? '**Required.**' : '', row.description, row.constraints.length > 0 ? `(${row.constraints.join('; ')})` : '']
      .filter((part) => part !== '')
      .join(' ');
    lines.push(`| ${cell(code(row.field))} | ${cell(row.type)} | ${row.default === undefined ? '' : cell(code(row.default))} | ${cell(notes)} |`);
  }
  return lines.join('\n');
}

/** The markdown between the generated-section markers of docs/api.md. */
export function renderFieldReference(): string {
  return [
    '### Spec',
    '',
    table(fieldRows(StreamingJobSpecSchema, 'spec')),
    '',
    '### Status',
    '',
    table(fieldRows(StreamingJobStatusSchema, 'status')),
  ].join('\n');
}

export const fieldReferenceMarkers = {
  begin: '<!-- BEGIN GENERATED FIELD REFERENCE (node tools/gen-crd.mjs) -->',
  end: '<!-- END GENERATED FIELD REFERENCE -->',
} as const;

/** `document` with its generated section replaced by the current field reference; undefined without markers. */
export function withFieldReference(document: string): string | undefined {
  const { begin, end } = fieldReferenceMarkers;
  const start = document.indexOf(begin);
  const stop = document.indexOf(end);
  if (start < 0 || stop < start) return undefined;
  return `${document.slice(0, start + begin.length)}\n${renderFieldReference()}\n${document.slice(stop)}`;
}
