import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `npm run demo` as a user runs it (after the build the harness did), from a directory of its
// own: it starts a whole local cluster next to the harness's servers, so it runs once, with
// --keep, and this file inspects what it left before stopping it.
const cli = fileURLToPath(new URL('../../../bin/streamkeeper.js', import.meta.url));
const cwd = mkdtempSync(join(tmpdir(), 'sk-demo-'));
const dir = join(cwd, '.streamkeeper', 'demo');

function streamkeeper(args: readonly string[], timeoutMs = 60_000): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, STREAMKEEPER_LOG_LEVEL: 'warn' } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('streamkeeper demo', () => {
  afterAll(() => {
    streamkeeper(['local', 'down', '--dir', dir], 180_000);
    rmSync(cwd, { recursive: true, force: true });
  });

  it('runs wordcount through an executor kill, verifies the counts exactly, and with --keep leaves the cluster up', () => {
    const run = streamkeeper(['demo', '--keep', '--lines', '30000'], 360_000);
    if (run.status !== 0) process.stderr.write(run.output);
    expect(run.status).toBe(0);
    expect(run.output).toContain('streamingjob.streamkeeper.io/wordcount created');
    expect(run.output).toMatch(/SIGKILL to executor wordcount-executor-\d \(process \d+\)/);
    expect(run.output).toMatch(/the node reports pod wordcount-executor-\d terminated/);
    expect(run.output).toMatch(/the replacement pod wordcount-executor-\d is Running/);
    expect(run.output).toMatch(/exactly once {2}yes: every word counted exactly as often as it was written/);
    expect(run.output).toContain('The cluster is still up (--keep)');

    expect(streamkeeper(['local', 'status', '--dir', dir]).status).toBe(0);
    // What the README tells users to run against a job, on the job the demo left.
    const kubectl = (args: readonly string[]): string => {
      const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { kubectl: string };
      const result = spawnSync(state.kubectl, ['--kubeconfig', join(dir, 'kubeconfig'), ...args], { encoding: 'utf8', timeout: 60_000 });
      expect(`${result.stderr}exit ${String(result.status)}`).toBe('exit 0');
      return result.stdout;
    };
    expect(kubectl(['get', 'sj'])).toMatch(/^NAME +PHASE +READY +LAG +LAST BATCH +AGE\nwordcount +Running +2\/2 /);
    kubectl(['wait', 'sj/wordcount', '--for=condition=Ready', '--timeout=60s']);
    expect(kubectl(['events', '--for', 'streamingjob/wordcount'])).toContain('ExecutorFailed');
    expect(kubectl(['describe', 'sj', 'wordcount'])).toMatch(/Type: +ExecutorsAvailable/);

    const down = streamkeeper(['local', 'down', '--dir', dir], 180_000);
    expect(down.status).toBe(0);
    expect(streamkeeper(['local', 'status', '--dir', dir]).status).toBe(1);
  });

  it('refuses a bad flag with a reason and exit 2, starting nothing', () => {
    const run = streamkeeper(['demo', '--lines', 'lots']);
    expect(run.status).toBe(2);
    expect(run.output).toContain('--lines must be a whole number');
  });
});
