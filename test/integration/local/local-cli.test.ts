import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { localPaths, readState, type LocalState } from '../../../src/local/local-state.js';
import { isAlive } from '../../../src/local/supervised-process.js';
import { packageRoot } from '../../../src/package-info.js';
import { zkConnect } from '../../harness/servers.js';

const bin = join(packageRoot, 'bin', 'streamkeeper.js');

/** The environment of a user's shell: nothing from the test harness's clusters. */
function userEnv(): NodeJS.ProcessEnv {
  const harness = new Set(['ZK_CONNECT', 'KAFKA_BROKERS', 'KUBECONFIG', 'KUBECONFIG_ADMIN', 'KUBECONFIG_OPERATOR', 'KUBECTL', 'KUBE_API_SERVER']);
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !harness.has(name)));
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('streamkeeper local (the CLI, as real processes)', () => {
  let cwd: string;

  function cli(...args: string[]): Run {
    const result = spawnSync(process.execPath, [bin, 'local', ...args], { cwd, env: userEnv(), encoding: 'utf8', timeout: 600_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  function state(): LocalState {
    const current = readState(localPaths(cwd));
    if (current === undefined) throw new Error('no state file');
    return current;
  }

  /** The processes a cluster started, from its state file (the node agent lives in the supervisor). */
  function startedPids(current: LocalState): number[] {
    return [current.supervisorPid, ...current.components.flatMap((c) => (c.pid === undefined ? [] : [c.pid]))];
  }

  function kubectl(...args: string[]): Run {
    const current = state();
    const result = spawnSync(current.kubectl ?? 'kubectl', ['--kubeconfig', localPaths(cwd).kubeconfig, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'sk-local-cli-'));
  });

  afterAll(() => {
    // Whatever happened above, leave nothing running.
    if (existsSync(localPaths(cwd).state)) cli('down');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('up starts ZooKeeper, Kafka, the control plane, the node agent and the operator, and returns once they are ready', () => {
    const up = cli('up');
    expect({ code: up.code, stderr: up.stderr }).toEqual({ code: 0, stderr: '' });
    const current = state();
    expect(current.phase).toBe('ready');
    expect(current.components.map((c) => [c.name, c.status])).toEqual([
      ['zookeeper', 'running'],
      ['kafka', 'running'],
      ['etcd', 'running'],
      ['kube-apiserver', 'running'],
      ['kube-controller-manager', 'running'],
      ['node-agent', 'running'],
      ['operator', 'running'],
    ]);
    for (const pid of startedPids(current)) expect(isAlive(pid)).toBe(true);
    const paths = localPaths(cwd);
    expect(paths.dir).toBe(join(cwd, '.streamkeeper', 'local'));
    const env = readFileSync(paths.env, 'utf8');
    expect(env).toContain(`export KUBECONFIG='${paths.kubeconfig}'`);
    expect(env).toContain(`export KUBECTL='${current.kubectl ?? ''}'`);
    expect(env).toContain(`export ZK_CONNECT='${current.zkConnect ?? ''}'`);
    expect(env).toContain(`export KAFKA_BROKERS='${current.kafkaBrokers ?? ''}'`);
    // Its own servers, not the test harness's.
    expect(current.zkConnect).not.toBe(zkConnect());
  }, 600_000);

  it('up again says the cluster is already up and starts nothing', () => {
    const before = state();
    const again = cli('up');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already up');
    expect(state().supervisorPid).toBe(before.supervisorPid);
  });

  it('status checks every component: its process and its endpoint', () => {
    const status = cli('status');
    expect(status.code).toBe(0);
    for (const name of ['zookeeper', 'kafka', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'node-agent', 'operator']) {
      expect(status.stdout).toMatch(new RegExp(`^  ${name}\\s+ok\\s`, 'm'));
    }
    const json = JSON.parse(cli('status', '--json').stdout) as { healthy: boolean };
    expect(json.healthy).toBe(true);
  });

  it('serves kubectl with the written kubeconfig, runs pods on its node, and shows their logs', async () => {
    const nodes = kubectl('get', 'nodes,pods', '-A');
    expect(nodes.code).toBe(0);
    expect(nodes.stdout).toMatch(/node\/streamkeeper-local\s+Ready/);
    const run = kubectl('run', 'hello', '--image=streamkeeper/streamkeeper:0.1.0', '--restart=Never', '--', 'version');
    expect(run.code).toBe(0);
    const deadline = Date.now() + 60_000;
    let phase = '';
    while (phase !== 'Succeeded' && Date.now() < deadline) {
      phase = kubectl('get', 'pod', 'hello', '-o', 'jsonpath={.status.phase}').stdout;
      if (phase !== 'Succeeded') await sleep(200);
    }
    expect(phase).toBe('Succeeded');
    const logs = cli('logs', 'hello');
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^streamkeeper \d+\.\d+\.\d+/);
    const missing = cli('logs', 'hello', '-n', 'elsewhere');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no logs for pod elsewhere/hello');
  });

  it('down stops every process it started, and only those, and removes its state', () => {
    const before = state();
    const down = cli('down');
    expect(down.code).toBe(0);
    for (const pid of startedPids(before)) expect(isAlive(pid)).toBe(false);
    const paths = localPaths(cwd);
    expect(existsSync(paths.state)).toBe(false);
    expect(existsSync(paths.kubeconfig)).toBe(false);
    expect(existsSync(paths.env)).toBe(false);
    // The test harness's own servers are untouched.
    expect(zkConnect()).not.toBe(before.zkConnect);
    const status = cli('status');
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('not up');
  });

  it('comes up again after down (here without the operator) and goes down again', () => {
    const up = cli('up', '--no-operator');
    expect(up.code).toBe(0);
    const current = state();
    expect(current.components.find((c) => c.name === 'operator')?.status).toBe('disabled');
    expect(cli('status').stdout).toMatch(/^ {2}operator\s+disabled/m);
    expect(kubectl('get', 'nodes', '-o', 'name').stdout.trim()).toBe('node/streamkeeper-local');
    expect(cli('down').code).toBe(0);
    for (const pid of startedPids(current)) expect(isAlive(pid)).toBe(false);
  }, 600_000);
});
