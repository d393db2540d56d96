/**
 * Runs the pinned helm (tools/helm/install.sh: built once, cached) against the chart in
 * charts/streamkeeper, for the packaging tests.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { KubeObject } from '../../support/packaging/manifests.js';
import { parseManifests, repoRoot } from '../../support/packaging/manifests.js';

export const chartDir = join(repoRoot, 'charts', 'streamkeeper');
export const releaseNamespace = 'streamkeeper-system';

let helmPath: string | undefined;

export function helm(): string {
  if (helmPath !== undefined) return helmPath;
  const result = spawnSync('bash', [join(repoRoot, 'tools', 'helm', 'install.sh')], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tools/helm/install.sh failed:\n${result.stderr}`);
  helmPath = result.stdout.trim().split('\n').pop() ?? '';
  return helmPath;
}

export interface HelmResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runHelm(args: readonly string[]): HelmResult {
  const result = spawnSync(helm(), args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `--set` arguments for a list of `path=value` settings. */
export function setArgs(values: readonly string[]): string[] {
  return values.flatMap((v) => ['--set', v]);
}

/** `helm template` of the chart as release "streamkeeper"; throws with helm's message on failure. */
export function template(values: readonly string[], extra: readonly string[] = []): KubeObject[] {
  const result = runHelm(['template', 'streamkeeper', chartDir, '--namespace', releaseNamespace, ...setArgs(values), ...extra]);
  if (result.status !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}
