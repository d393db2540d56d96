/**
 * The StreamingJob CustomResourceDefinition, built from the schema, and its YAML rendering that
 * crds/ holds (tools/gen-crd.mjs writes it; a unit test fails when the committed file is stale).
 */
import { stringify } from 'yaml';
import { categories, crdName, group, kind, labelKeys, labelValues, listKind, plural, shortNames, singular, version } from './constants.js';
import { StreamingJobSchema } from './schema.js';

/** A JSON Schema node as it appears in the CRD (plain JSON, no TypeBox markers). */
export type JsonSchemaProps = Record<string, unknown>;

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description: string;
  readonly priority?: number;
}

export interface CustomResourceDefinition {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
      readonly shortNames: readonly string[];
      readonly categories: readonly string[];
    };
    readonly scope: 'Namespaced';
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly schema: { readonly openAPIV3Schema: JsonSchemaProps };
      readonly subresources: {
        readonly status: Record<string, never>;
        readonly scale: { readonly specReplicasPath: string; readonly statusReplicasPath: string; readonly labelSelectorPath: string };
      };
      readonly additionalPrinterColumns: readonly PrinterColumn[];
    }[];
  };
}

/** What `kubectl get sj` shows: `NAME PHASE READY LAG LAST BATCH AGE` (`-o wide` adds BATCH, MESSAGE). */
export const printerColumns: readonly PrinterColumn[] = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary of the job\'s state.' },
  { name: 'Ready', type: 'string', jsonPath: '.status.executors.summary', description: 'Ready executors / desired executors.' },
  { name: 'Lag', type: 'integer', jsonPath: '.status.totalLag', description: 'Records not yet committed, over all source partitions.' },
  { name: 'Watermark', type: 'date', jsonPath: '.status.watermark', description: 'A windowed aggregation\'s watermark: windows ending before it are closed.', priority: 1 },
  { name: 'Last Batch', type: 'date', jsonPath: '.status.lastCommittedBatch.committedAt', description: 'When the last batch was committed.' },
  { name: 'Batch', type: 'integer', jsonPath: '.status.lastCommittedBatch.id', description: 'Sequence number of the last committed batch.', priority: 1 },
  { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'Human-readable summary of the state.', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'When the job was created.' },
];

/** The READY column's text (`status.executors.summary`): ready executors / desired executors. */
export function executorsSummary(ready: number, desired: number): string {
  return `${ready}/${desired}`;
}

/** The schema as plain JSON: TypeBox keeps its markers under symbol keys, which JSON drops. */
export function openApiV3Schema(): JsonSchemaProps {
  return JSON.parse(JSON.stringify(StreamingJobSchema)) as JsonSchemaProps;
}

export function streamingJobCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName, labels: { [labelKeys.name]: labelValues.name } },
    spec: {
      group,
      names: { kind, listKind, plural, singular, shortNames, categories },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: openApiV3Schema() },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.executors.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: printerColumns,
        },
      ],
    },
  };
}

/** Where the generated CRD is committed, relative to the repository root. */
export const crdFile = `crds/${group}_${plural}.yaml`;

const header = [
  `# The ${kind} CustomResourceDefinition. Generated from src/api/v1alpha1/schema.ts: do not edit.`,
  '# Regenerate with `node tools/gen-crd.mjs` (it builds dist/ first).',
].join('\n');

/** The committed file's exact text: keys sorted, so it changes only when the API does. */
export function renderCrdYaml(): string {
  return `${header}\n${stringify(streamingJobCrd(), { sortMapEntries: true, lineWidth: 0 })}`;
}
