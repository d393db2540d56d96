#!/usr/bin/env node
// The whole test suite as `npm test` runs it: install the real servers the integration tests
// need (idempotent, cached outside the repo), type-check, lint, build, run jest, and finish with
// the plain line `tests: N passed, M failed` computed from jest's JSON results. Everything runs on
// the product's Node.js (24), fetched into the cache first when the one on PATH is older.
//
//   node tools/test/run.mjs                 everything
//   node tools/test/run.mjs --unit          unit tests only (no servers, no installs)
//   node tools/test/run.mjs --integration   integration tests only
//   any other arguments are passed to jest (e.g. a test path pattern)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOnProductNode } from '../node/runtime.mjs';

await runOnProductNode();

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = join(root, '.test-results');
mkdirSync(resultsDir, { recursive: true });

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const integrationOnly = args.includes('--integration');
const jestArgs = args.filter((a) => a !== '--unit' && a !== '--integration');

/** Installers for the real servers; each is idempotent and prints its progress to stderr. */
const installers = ['tools/servers/install.sh', 'tools/kube/install.sh', 'tools/container-runtime/install.sh', 'tools/image/build.sh', 'tools/helm/install.sh', 'tools/lua/install.sh', 'tools/kstatus/install.sh', 'tools/promtool/install.sh'];

const failures = [];

function step(name, command, commandArgs, options = {}) {
  const started = Date.now();
  process.stderr.write(`\n== ${name}\n`);
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stderr.write(`== ${name}: FAILED (exit ${result.status ?? result.signal}) after ${seconds}s\n`);
    failures.push(name);
    return false;
  }
  process.stderr.write(`== ${name}: ok (${seconds}s)\n`);
  return true;
}

if (!unitOnly) {
  for (const installer of installers) {
    if (existsSync(join(root, installer))) step(`install ${installer}`, 'bash', [installer], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  // The Kafka client's native build, for the Node.js that runs the tests and the pods they start.
  step('install tools/kafka-client/install.sh', 'bash', ['tools/kafka-client/install.sh'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, STREAMKEEPER_NODE: process.execPath } });
}
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
step('type-check', process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit']);
step('lint', process.execPath, [join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--max-warnings=0', '.']);
// Integration tests run the built CLI as real processes (driver, executor, node agent).
step('build', process.execPath, [tsc, '-p', 'tsconfig.build.json']);

const jsonFile = join(resultsDir, 'jest.json');
writeFileSync(jsonFile, '{}');
// After the test path patterns: --selectProjects takes every word that follows it as a project.
const selectProjects = unitOnly ? ['--selectProjects', 'unit'] : integrationOnly ? ['--selectProjects', 'integration'] : [];
const installFailed = failures.some((f) => f.startsWith('install'));
if (installFailed && !unitOnly) {
  process.stderr.write('\nA server installer failed; integration tests cannot run without real servers.\n');
}
step(
  'jest',
  process.execPath,
  ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', `--outputFile=${jsonFile}`, ...jestArgs, ...selectProjects],
  { env: { ...process.env, FORCE_COLOR: process.stderr.isTTY ? '1' : '0' } },
);

let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(jsonFile, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  if (report.numTotalTests === undefined) failed += 1; // jest wrote no results at all
} catch {
  failed += 1;
}
// Static checks and installs count as tests: a suite that does not type-check has not passed.
const nonJestFailures = failures.filter((f) => f !== 'jest');
failed += nonJestFailures.length;
if (failures.length > 0) process.stderr.write(`\nfailed steps: ${failures.join(', ')}\n`);
const summary = `tests: ${passed} passed, ${failed} failed`;
writeFileSync(join(resultsDir, 'summary.txt'), `${summary}\n`);
process.stdout.write(`${summary}\n`);
process.exit(failed > 0 || failures.length > 0 ? 1 : 0);
