/**
 * The background process behind `streamkeeper local up`: it starts ZooKeeper, Kafka and the
 * control plane in parallel, then the node agent (in this process) and the operator (a child
 * process with the operator's own kubeconfig), records each in the state file as it becomes
 * ready, and on SIGTERM (from `local down`) stops everything it started, in reverse order.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamkeeperError } from '../errors/index.js';
import { ClientNodeKubeClient } from '../kube/adapter.js';
import { loadKubeConfig } from '../kube/config.js';
import type { Logger } from '../logging/logger.js';
import { packageRoot } from '../package-info.js';
import type { ControlPlane } from './control-plane.js';
import { freePort } from './free-port.js';
import { operatorNodeOptions } from './operator-access.js';
import { envFileContent, type ComponentName, type ComponentState, type LocalPaths, type LocalState } from './local-state.js';
import { writeState } from './local-state.js';
import { defaultNodeName, NodeAgent } from './node-agent.js';
import { ServerSet, type ServerReady } from './server-set.js';
import { SupervisedProcess, logTail } from './supervised-process.js';

export const streamingJobCrd = join(packageRoot, 'crds', 'streamkeeper.io_streamingjobs.yaml');

export interface SupervisorOptions {
  readonly paths: LocalPaths;
  readonly operator: boolean;
  readonly nodeAgent: boolean;
  /** Aborted by SIGTERM/SIGINT: stop everything and exit. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

async function operatorAnswers(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/** Keeps the state file in step with what runs. */
class StateRecorder {
  private state: LocalState;

  constructor(
    private readonly paths: LocalPaths,
    options: SupervisorOptions,
  ) {
    const disabled = (name: ComponentName, on: boolean): ComponentState => ({ name, status: on ? 'starting' : 'disabled' });
    this.state = {
      version: 1,
      phase: 'starting',
      supervisorPid: process.pid,
      startedAt: new Date().toISOString(),
      components: [
        disabled('zookeeper', true),
        disabled('kafka', true),
        disabled('etcd', true),
        disabled('kube-apiserver', true),
        disabled('kube-controller-manager', true),
        disabled('node-agent', options.nodeAgent),
        disabled('operator', options.operator),
      ],
    };
    this.flush();
  }

  get current(): LocalState {
    return this.state;
  }

  update(change: Partial<Omit<LocalState, 'components'>>): void {
    this.state = { ...this.state, ...change };
    this.flush();
  }

  component(name: ComponentName, change: Omit<Partial<ComponentState>, 'name'>): void {
    this.state = { ...this.state, components: this.state.components.map((c) => (c.name === name ? { ...c, ...change } : c)) };
    this.flush();
  }

  private flush(): void {
    writeState(this.paths, this.state);
  }
}

function controlPlaneComponents(plane: ControlPlane): { name: ComponentName; pid: number; endpoint: string; logFile: string }[] {
  return plane.components().map((c) => ({ name: c.name as ComponentName, pid: c.pid, endpoint: c.endpoint, logFile: c.logFile }));
}

/** Runs until `signal` aborts; returns the exit code. */
export async function runLocalSupervisor(options: SupervisorOptions): Promise<number> {
  const { paths, logger, signal } = options;
  const state = new StateRecorder(paths, options);
  const started = Date.now();
  const timings: Record<string, number> = {};
  let servers: ServerSet | undefined;
  let agent: NodeAgent | undefined;
  let operator: SupervisedProcess | undefined;

  const stopAll = async (): Promise<void> => {
    await operator?.stop(10_000).catch(() => undefined);
    await agent?.stop().catch(() => undefined);
    await servers?.destroy();
  };

  try {
    servers = await ServerSet.start({
      baseDir: paths.data,
      controlPlane: { crds: [streamingJobCrd] },
      onReady: (ready: ServerReady) => {
        timings[ready.server] = Date.now() - started;
        logger.info({ server: ready.server, ms: timings[ready.server] }, 'server ready');
        switch (ready.server) {
          case 'zookeeper':
            state.component('zookeeper', { status: 'running', ...(ready.instance.pid === undefined ? {} : { pid: ready.instance.pid }), endpoint: ready.instance.connectString, logFile: ready.instance.logFile });
            return;
          case 'kafka':
            state.component('kafka', { status: 'running', ...(ready.instance.pid === undefined ? {} : { pid: ready.instance.pid }), endpoint: ready.instance.bootstrapServers, logFile: ready.instance.logFile });
            return;
          case 'control-plane':
            for (const component of controlPlaneComponents(ready.instance)) state.component(component.name, { status: 'running', pid: component.pid, endpoint: component.endpoint, logFile: component.logFile });
            return;
        }
      },
    });
    const plane = servers.controlPlane;
    if (plane === undefined) throw new StreamkeeperError('SK_SERVER_START_FAILED', 'the control plane did not start');
    for (const [step, ms] of Object.entries(plane.timings as unknown as Record<string, number>)) timings[`control-plane.${step}`] = ms;

    copyFileSync(plane.adminKubeconfig, paths.kubeconfig);
    await plane.operatorKubeconfig(undefined, paths.operatorKubeconfig);
    writeFileSync(paths.env, envFileContent({ kubeconfig: paths.kubeconfig, kubectl: plane.kubectl, zkConnect: servers.zkConnect, kafkaBrokers: servers.kafkaBrokers }));
    state.update({ zkConnect: servers.zkConnect, kafkaBrokers: servers.kafkaBrokers, server: plane.server, kubectl: plane.kubectl, caFile: plane.pki.ca.cert });

    if (options.nodeAgent) {
      const client = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: paths.kubeconfig }));
      agent = await NodeAgent.start({ client, workDir: paths.nodeAgent, logDir: paths.podLogs, logger: logger.child({ component: 'node-agent' }) });
      timings['node-agent'] = Date.now() - started;
      state.component('node-agent', { status: 'running', pid: process.pid, endpoint: `node/${defaultNodeName}`, logFile: paths.supervisorLog });
      state.update({ nodeName: agent.nodeName });
    }
    if (signal.aborted) throw new StreamkeeperError('SK_SERVER_START_FAILED', 'stopped while starting');
    // The core is up: from here on a failing operator is reported, not fatal.
    if (options.operator) {
      operator = await startOperator(paths, servers.zkConnect, state, logger);
      timings.operator = Date.now() - started;
    }
    timings.total = Date.now() - started;
    state.update({ phase: 'ready', readyAt: new Date().toISOString(), timings });
    logger.info({ timings }, 'local cluster ready');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.error({ err: message }, 'local cluster did not start');
    state.update({ phase: 'failed', error: message, timings });
    await stopAll();
    state.update({ phase: 'stopped' });
    return 1;
  }

  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => {
      resolve();
    }, { once: true });
  });
  logger.info('stopping the local cluster');
  state.update({ phase: 'stopping' });
  await stopAll();
  for (const name of ['operator', 'node-agent', 'kube-controller-manager', 'kube-apiserver', 'etcd', 'kafka', 'zookeeper'] as const) {
    const current = state.current.components.find((c) => c.name === name);
    if (current?.status === 'running') state.component(name, { status: 'stopped' });
  }
  state.update({ phase: 'stopped' });
  return 0;
}

/** Starts `streamkeeper operator` with the operator's kubeconfig; a failure is recorded, not thrown. */
async function startOperator(paths: LocalPaths, zkConnect: string, state: StateRecorder, logger: Logger): Promise<SupervisedProcess | undefined> {
  writeFileSync(paths.zkCredentials, `streamkeeper-operator:${randomBytes(24).toString('hex')}\n`, { mode: 0o600 });
  const port = await freePort();
  // Everything the operator needs comes from its flags, never from the caller's cluster settings.
  const inherited = new Set(['KUBECONFIG', 'ZK_CONNECT', 'KAFKA_BROKERS', 'POD_NAME', 'POD_NAMESPACE', 'WATCH_NAMESPACES']);
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !inherited.has(name))), NODE_OPTIONS: operatorNodeOptions() };
  const child = SupervisedProcess.start({
    name: 'operator',
    command: process.execPath,
    args: [
      join(packageRoot, 'bin', 'streamkeeper.js'),
      'operator',
      '--kubeconfig',
      paths.operatorKubeconfig,
      '--zk-connect',
      zkConnect,
      '--zk-credentials-file',
      paths.zkCredentials,
      '--leader-election-namespace',
      'streamkeeper-system',
      '--metrics-addr',
      `127.0.0.1:${port}`,
    ],
    logFile: paths.operatorLog,
    truncateLog: true,
    env,
  });
  state.component('operator', { pid: child.pid, endpoint: `http://127.0.0.1:${port}/healthz`, logFile: paths.operatorLog });
  try {
    await child.waitUntilReady(() => operatorAnswers(port), 60_000, 'answering /healthz');
  } catch (err) {
    const status = child.exitStatus;
    const message = status === undefined ? (err instanceof Error ? err.message : String(err)) : `exited (code ${String(status.code ?? status.signal)}) before it was ready:\n${logTail(paths.operatorLog, 15)}`;
    logger.error({ message }, 'the operator did not start');
    await child.stop(5000);
    state.component('operator', { status: 'failed', message });
    return undefined;
  }
  state.component('operator', { status: 'running' });
  void child.whenExited().then((exit) => {
    if (state.current.phase === 'stopping' || state.current.phase === 'stopped') return;
    const message = `exited (code ${String(exit.code ?? exit.signal)}); see ${paths.operatorLog}`;
    logger.error({ message }, 'the operator exited');
    state.component('operator', { status: 'failed', message });
  });
  return child;
}
