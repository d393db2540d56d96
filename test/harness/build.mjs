// Compiles src/ to dist/ (incrementally: a no-op when nothing changed). Integration tests run the
// built CLI as real processes and the harness imports the built launchers.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function ensureBuilt() {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, encoding: 'utf8' });
  // tsc still emits when there are type errors; the type-check step reports those. Only a build
  // that produced nothing is fatal here.
  if (result.status !== 0 && result.status !== 2) {
    throw new Error(`build failed:\n${result.stdout}${result.stderr}`);
  }
}
