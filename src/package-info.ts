/**
 * Facts about this installation of streamkeeper: its version and where its files are. Works the
 * same from src/ (tests) and dist/ (the built CLI), which both sit one level below the root.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding package.json (the checkout or the installed package). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface PackageJson {
  readonly name: string;
  readonly version: string;
}

let cached: PackageJson | undefined;

export function packageJson(): PackageJson {
  cached ??= JSON.parse(readFileSync(resolve(packageRoot, 'package.json'), 'utf8')) as PackageJson;
  return cached;
}

export function streamkeeperVersion(): string {
  return packageJson().version;
}
