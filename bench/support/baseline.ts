/**
 * An older commit of this repository, runnable beside today's code so a bench can measure both in
 * one invocation on the same servers and data. The tree comes from the repository's own history
 * (`git archive`), gets its own `npm ci` (npm's cache makes that offline on a warm machine) and is
 * kept under the cache, outside the repository: the first use takes about half a minute, later
 * ones find the finished tree and do nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { root } from './built.js';

export interface BaselineTree {
  /** The full commit id. */
  readonly commit: string;
  /** Where the tree is, with its node_modules. */
  readonly dir: string;
  /** The node binary the tree runs on: one its package.json's engines accept. */
  readonly node: string;
  readonly nodeVersion: string;
}

function progress(message: string): void {
  process.stderr.write(`[baseline] ${message}\n`);
}

function versionOf(node: string): string | undefined {
  const result = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * The engines range of the old package.json as a major range (">=20.10 <23" → 20..22), and the
 * first node that fits: $BENCH_BASELINE_NODE, then each `node` on PATH, then the usual system
 * places. The old tree is measured on a Node.js it supported, as it was when it was current.
 */
function nodeFor(engines: string | undefined): { node: string; version: string } {
  const lowest = Number(/>=\s*(\d+)/.exec(engines ?? '')?.[1] ?? 0);
  const below = Number(/<\s*(\d+)/.exec(engines ?? '')?.[1] ?? Number.POSITIVE_INFINITY);
  const candidates = [
    process.env.BENCH_BASELINE_NODE,
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => (dir === '' ? undefined : join(dir, 'node'))),
    '/usr/local/bin/node',
    '/usr/bin/node',
    process.execPath,
  ];
  const tried: string[] = [];
  for (const node of candidates) {
    if (node === undefined || node === '' || !existsSync(node)) continue;
    const version = versionOf(node);
    if (version === undefined) continue;
    tried.push(`${node} (${version})`);
    const major = Number(version.split('.')[0]);
    if (major >= lowest && major < below) return { node, version };
  }
  throw new Error(`no Node.js satisfying the baseline's engines "${engines ?? ''}" (set BENCH_BASELINE_NODE); found ${tried.join(', ') || 'none'}`);
}

export function materialiseBaseline(ref: string): BaselineTree {
  let commit: string;
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--verify', `${ref}^{commit}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (err) {
    throw new Error(`the baseline ${ref} is not a commit of ${root}'s git history: ${(err as Error).message}`);
  }
  const engines = (JSON.parse(execFileSync('git', ['-C', root, 'show', `${commit}:package.json`], { encoding: 'utf8' })) as { engines?: { node?: string } }).engines?.node;
  const { node, version } = nodeFor(engines);
  const cache = process.env.STREAMKEEPER_CACHE ?? join(homedir(), '.cache', 'streamkeeper');
  const dir = join(cache, 'bench', `tree-${commit.slice(0, 12)}-node${version.split('.')[0] ?? ''}`);
  const stamp = join(dir, '.baseline-stamp');
  const wanted = `${commit} node ${version}\n`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return { commit, dir, node, nodeVersion: version };

  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  try {
    progress(`materialising ${commit.slice(0, 7)} in ${dir} (git archive)`);
    execFileSync('bash', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'archive', root, commit, partial], { stdio: ['ignore', 'inherit', 'inherit'] });
    progress(`npm ci on Node.js ${version} (${node}); native addons build against its headers`);
    const nodeDir = resolve(dirname(node), '..');
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: [dirname(node), process.env.PATH ?? ''].join(delimiter) };
    delete env.npm_config_nodedir; // today's runtime points it at the product's Node.js
    if (existsSync(join(nodeDir, 'include', 'node', 'node.h'))) env.npm_config_nodedir = nodeDir;
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: partial, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (npm.status !== 0) throw new Error(`npm ci in ${partial} failed (exit ${npm.status ?? npm.signal ?? '?'}); see its output above`);
    writeFileSync(join(partial, '.baseline-stamp'), wanted);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
    progress(`ready: ${dir}`);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  return { commit, dir, node, nodeVersion: version };
}
