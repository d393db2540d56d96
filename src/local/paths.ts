/**
 * Where streamkeeper keeps what it downloads or builds for local clusters and tests: outside the
 * checkout, shared by every clone on the machine, so a fresh clone reuses a warm cache.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STREAMKEEPER_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'streamkeeper');
}

/** Bookkeeping for processes started by launchers, so a crashed run's leftovers can be reaped. */
export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'run');
}
