import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseDockerfile } from '../../support/packaging/dockerfile.js';
import { readRepoFile, repoRoot } from '../../support/packaging/manifests.js';

// Without a container engine, this replays the Dockerfile's two stages with the Node.js the tests
// run on (24, as in the image) and npm: the build stage's files, install, build and prune in one
// directory, then only the runtime stage's files in another, where the CLI must run. npm reads
// ~/.npm as its cache.
const stages = parseDockerfile(readRepoFile('Dockerfile'));
const buildStage = stages[0];
const runtimeStage = stages[stages.length - 1];
const version = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;

let scratch = '';
let buildDir = '';
let runtimeDir = '';

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, NODE_ENV: undefined, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function mustRun(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): void {
  const result = run(command, args, cwd, env);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'streamkeeper-image-'));
  buildDir = join(scratch, 'build');
  runtimeDir = join(scratch, 'app');
  mkdirSync(buildDir);
  mkdirSync(runtimeDir);
  for (const copy of buildStage?.copies ?? []) {
    for (const source of copy.sources) cpSync(join(repoRoot, source), join(buildDir, source), { recursive: true });
  }
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  mustRun(npm, ['ci', '--prefer-offline', '--no-audit', '--no-fund'], buildDir);
  mustRun(npm, ['run', 'build'], buildDir);
  mustRun(npm, ['prune', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], buildDir);
  // As the build stage does after prune: the Kafka client back from its cache, for the image's Node only.
  mustRun('bash', ['tools/kafka-client/install.sh', '--only-this-node'], buildDir, { STREAMKEEPER_NODE: process.execPath });
  for (const copy of runtimeStage?.copies ?? []) {
    for (const source of copy.sources) {
      const path = source.replace(/^\/app\//, '');
      cpSync(join(buildDir, path), join(runtimeDir, path), { recursive: true });
    }
  }
}, 900_000);

afterAll(() => {
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
});

describe('the image contents (the Dockerfile replayed without a container engine)', () => {
  it('print the package version', () => {
    const result = run(process.execPath, [join(runtimeDir, 'bin', 'streamkeeper.js'), 'version'], scratch);
    expect(result).toMatchObject({ status: 0, stdout: `streamkeeper ${version}\n` });
  });

  it('run `streamkeeper operator --help`', () => {
    const result = run(process.execPath, [join(runtimeDir, 'bin', 'streamkeeper.js'), 'operator', '--help'], scratch);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--zk-connect');
  });

  it('load the ZooKeeper native addon built at install time', () => {
    const result = run(process.execPath, ['--input-type=module', '-e', "const zk = await import('zookeeper'); console.log(typeof zk.default);"], runtimeDir);
    expect(result).toMatchObject({ status: 0, stdout: 'function\n' });
  });

  it('carry the librdkafka Kafka client built for the image\'s Node.js only, and load it', () => {
    const bindings = readdirSync(join(runtimeDir, 'node_modules', '@confluentinc', 'kafka-javascript', 'lib', 'binding')).filter((d) => d.startsWith('node-v'));
    expect(bindings).toEqual([`node-v${process.versions.modules}-${process.platform}-${process.arch}`]);
    const result = run(process.execPath, ['-e', "console.log(typeof require('@confluentinc/kafka-javascript').Producer)"], runtimeDir);
    expect(result).toMatchObject({ status: 0, stdout: 'function\n' });
  });

  it('hold no development dependencies and no sources', () => {
    for (const path of ['node_modules/typescript', 'node_modules/jest', 'node_modules/eslint', 'src', 'test', 'tsconfig.json']) {
      expect({ path, present: existsSync(join(runtimeDir, path)) }).toEqual({ path, present: false });
    }
  });
});
