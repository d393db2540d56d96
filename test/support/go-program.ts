/**
 * The small Go programs tests use to judge our output with real upstream libraries (kstatus,
 * Argo CD's Lua dialect, promtool). Each tools/<name>/install.sh builds and caches one and prints
 * its path last.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './packaging/manifests.js';

/** Builds (or finds cached) tools/<tool>/install.sh's program; returns the binary's path. */
export function installGoProgram(tool: 'kstatus' | 'lua' | 'promtool'): string {
  const script = join(repoRoot, 'tools', tool, 'install.sh');
  const install = spawnSync('bash', [script], { encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`tools/${tool}/install.sh failed:\n${install.stderr}`);
  const binary = install.stdout.trim().split('\n').pop() ?? '';
  if (binary === '') throw new Error(`tools/${tool}/install.sh printed no binary path`);
  return binary;
}
