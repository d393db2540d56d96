import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { parse } from 'yaml';
import { crdFile, openApiV3Schema, printerColumns, renderCrdYaml, streamingJobCrd } from '../../../src/api/v1alpha1/crd.js';
import { withFieldReference } from '../../../src/api/v1alpha1/field-reference.js';
import { StreamingJobSchema, StreamingJobSpecSchema } from '../../../src/api/v1alpha1/schema.js';
import { finalizer, labelKeys } from '../../../src/api/v1alpha1/constants.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const regenerate = 'run `node tools/gen-crd.mjs` and commit the result';

type Json = Record<string, unknown>;

/** Every schema node under `node` with its JSON path, the root included. */
function nodes(node: Json, path = ''): { path: string; node: Json }[] {
  const found = [{ path, node }];
  const properties = (node.properties ?? {}) as Record<string, Json>;
  for (const [name, child] of Object.entries(properties)) found.push(...nodes(child, `${path}.${name}`));
  if (typeof node.items === 'object') found.push(...nodes(node.items as Json, `${path}[]`));
  if (typeof node.additionalProperties === 'object') found.push(...nodes(node.additionalProperties as Json, `${path}{}`));
  return found;
}

/** The TypeBox node at a JSON path produced by `nodes`. */
function typeboxNode(path: string): TSchema {
  let node = StreamingJobSchema as unknown as Json;
  for (const step of path.split(/(?=[.[{])/).filter((s) => s !== '')) {
    if (step === '[]') node = node.items as Json;
    else if (step === '{}') node = node.additionalProperties as Json;
    else node = (node.properties as Record<string, Json>)[step.slice(1)] as Json;
  }
  return node as unknown as TSchema;
}

describe('the StreamingJob CRD', () => {
  it('is committed as generated from the schema', () => {
    const committed = readFileSync(join(root, crdFile), 'utf8');
    if (committed !== renderCrdYaml()) throw new Error(`${crdFile} is out of date: ${regenerate}`);
  });

  it('has its field reference in docs/api.md as generated from the schema', () => {
    const docs = readFileSync(join(root, 'docs/api.md'), 'utf8');
    if (withFieldReference(docs) !== docs) throw new Error(`the field reference in docs/api.md is out of date: ${regenerate}`);
  });

  it('parses back to the CRD object', () => {
    const yaml = renderCrdYaml();
    expect(yaml.split('\n')[0]).toMatch(/^# .*Generated/);
    expect(yaml).toContain('node tools/gen-crd.mjs');
    expect(parse(yaml)).toEqual(JSON.parse(JSON.stringify(streamingJobCrd())));
  });

  it('names the API as kubectl users expect it', () => {
    const crd = streamingJobCrd();
    expect(crd.metadata.name).toBe('streamingjobs.streamkeeper.io');
    expect(crd.spec).toMatchObject({
      group: 'streamkeeper.io',
      scope: 'Namespaced',
      names: { kind: 'StreamingJob', plural: 'streamingjobs', singular: 'streamingjob', shortNames: ['sj'], categories: ['streamkeeper'] },
    });
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
    expect(finalizer).toBe('streamkeeper.io/cleanup');
    expect(labelKeys.managedBy).toBe('app.kubernetes.io/managed-by');
  });

  it('has status and scale subresources wired to executor replicas', () => {
    expect(streamingJobCrd().spec.versions[0]?.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.executors.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
  });

  it('prints phase, readiness, lag, last batch and age', () => {
    expect(printerColumns.filter((c) => c.priority === undefined).map((c) => c.name)).toEqual(['Phase', 'Ready', 'Lag', 'Last Batch', 'Age']);
    const schema = openApiV3Schema();
    for (const column of printerColumns.filter((c) => c.jsonPath.startsWith('.status'))) {
      const path = column.jsonPath.split('.').slice(1);
      let node: Json | undefined = schema;
      for (const step of path) node = (node?.properties as Record<string, Json> | undefined)?.[step];
      expect({ column: column.name, found: node !== undefined }).toEqual({ column: column.name, found: true });
    }
  });
});

describe('the CRD schema is structural', () => {
  const schema = openApiV3Schema();
  const all = nodes(schema);

  it('carries no TypeBox markers or JSON-Schema identifiers', () => {
    const text = JSON.stringify(schema);
    expect(text).not.toMatch(/"\$id"|"\$schema"|"\$ref"|"\[Kind\]"|"patternProperties"/);
    const withSymbols = all.filter(({ node }) => Object.getOwnPropertySymbols(node).length > 0);
    expect(withSymbols.map((n) => n.path)).toEqual([]);
  });

  it('gives every node a type, except int-or-string quantities', () => {
    const untyped = all.filter(({ node }) => node.type === undefined && node['x-kubernetes-int-or-string'] !== true);
    expect(untyped.map((n) => n.path)).toEqual([]);
  });

  it('uses anyOf only in the int-or-string form Kubernetes allows', () => {
    for (const { node } of all.filter((n) => n.node.anyOf !== undefined)) {
      expect(node['x-kubernetes-int-or-string']).toBe(true);
      expect(node.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
    }
  });

  it('never mixes properties with additionalProperties', () => {
    const mixed = all.filter(({ node }) => node.additionalProperties !== undefined && Object.keys(node.properties ?? {}).length > 0);
    expect(mixed.map((n) => n.path)).toEqual([]);
  });

  it('describes every property', () => {
    const undescribed = all.filter(({ path, node }) => path !== '' && !path.endsWith('{}') && !path.endsWith('[]') && path !== '.metadata' && typeof node.description !== 'string');
    expect(undescribed.map((n) => n.path)).toEqual([]);
  });

  it('restricts metadata to a bare object', () => {
    expect((schema.properties as Record<string, unknown>).metadata).toEqual({ type: 'object' });
  });

  it('keys map-typed lists by required fields', () => {
    for (const { node } of all.filter((n) => n.node['x-kubernetes-list-type'] === 'map')) {
      const required = ((node.items as Json).required ?? []) as string[];
      expect(required).toEqual(expect.arrayContaining(node['x-kubernetes-list-map-keys'] as string[]));
    }
  });

  it('bounds every list, map and string of the spec so CEL cost stays bounded', () => {
    const spec = all.filter((n) => n.path.startsWith('.spec'));
    expect(spec.length).toBeGreaterThan(100);
    const unbounded = spec.filter(({ node }) => {
      if (node.type === 'array') return node.maxItems === undefined;
      if (node.type === 'object' && node.additionalProperties !== undefined) return node.maxProperties === undefined;
      if (node.type === 'string') return node.maxLength === undefined && node.enum === undefined;
      return false;
    });
    expect(unbounded.map((n) => n.path)).toEqual([]);
  });

  it('declares only defaults that satisfy their own schema', () => {
    const defaulted = all.filter(({ node }) => node.default !== undefined);
    expect(defaulted.length).toBeGreaterThan(10);
    for (const { path, node } of defaulted) {
      expect({ path, valid: Value.Check(typeboxNode(path), node.default) }).toEqual({ path, valid: true });
    }
  });

  it('writes every CEL rule with a message and guards spec-level rules with has()', () => {
    const rules = all.flatMap(({ path, node }) => ((node['x-kubernetes-validations'] ?? []) as Json[]).map((rule) => ({ path, rule })));
    expect(rules.length).toBeGreaterThanOrEqual(9);
    for (const { rule } of rules) {
      expect(typeof rule.message).toBe('string');
      expect(rule.rule).not.toMatch(/\\/); // CEL string literals would need escaping
    }
    for (const { rule } of rules.filter((r) => r.path === '.spec')) expect(rule.rule).toMatch(/^!\(has\(self\./);
  });

  it('is the spec schema the types and defaults come from', () => {
    expect((schema.properties as Record<string, unknown>).spec).toEqual(JSON.parse(JSON.stringify(StreamingJobSpecSchema)));
  });
});
