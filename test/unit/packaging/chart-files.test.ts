import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { readRepoFile, repoRoot } from '../../support/packaging/manifests.js';

const chartDir = join(repoRoot, 'charts', 'streamkeeper');
const resync = 'run `node tools/render-manifests.mjs` and commit the result';

function yamlFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort() : [];
}

describe('the Helm chart files', () => {
  const chart = parse(readRepoFile('charts/streamkeeper/Chart.yaml')) as Record<string, unknown>;
  const packageJson = JSON.parse(readRepoFile('package.json')) as { version: string };

  it('is a Helm 3 application chart', () => {
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'streamkeeper', type: 'application' });
    expect(chart.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  it('installs the package version of streamkeeper (appVersion = package.json version)', () => {
    expect(chart.appVersion).toBe(packageJson.version);
  });

  it('ships the StreamingJob CRD', () => {
    expect(existsSync(join(repoRoot, 'crds', 'streamkeeper.io_streamingjobs.yaml'))).toBe(true);
    expect(yamlFiles(join(chartDir, 'crds'))).toContain('streamkeeper.io_streamingjobs.yaml');
  });

  it(`holds an identical copy of every CRD in crds/ and nothing else (${resync})`, () => {
    const source = yamlFiles(join(repoRoot, 'crds'));
    expect(yamlFiles(join(chartDir, 'crds'))).toEqual(source);
    for (const name of source) {
      const copy = readFileSync(join(chartDir, 'crds', name), 'utf8');
      expect({ name, identical: copy === readFileSync(join(repoRoot, 'crds', name), 'utf8') }).toEqual({ name, identical: true });
    }
  });

  it('describes every top-level value in values.schema.json', () => {
    const values = parse(readRepoFile('charts/streamkeeper/values.yaml')) as Record<string, unknown>;
    const schema = JSON.parse(readRepoFile('charts/streamkeeper/values.schema.json')) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(values).filter((key) => !(key in schema.properties))).toEqual([]);
  });
});
