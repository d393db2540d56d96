/**
 * Benches that start `streamkeeper` processes run dist/ as the image would; this rebuilds it when
 * any source is newer, so a bench never measures stale code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..', '..');

function newestUnder(dir: string): number {
  let latest = 0;
  const walk = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
    else latest = Math.max(latest, stat.mtimeMs);
  };
  walk(dir);
  return latest;
}

export function ensureBuilt(): void {
  const entry = join(root, 'dist/cli/run.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestUnder(join(root, 'src'))) return;
  console.log('building dist/ (tsc -p tsconfig.build.json)');
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (!existsSync(entry)) throw new Error('the build did not produce dist/cli/run.js');
}
