/**
 * `streamkeeper local up|down|status|logs`: the foreground side of the local cluster. `up` starts
 * the background supervisor (local-supervisor.ts) in its own process group and follows the state
 * file until everything is ready; `down` asks the supervisor to stop and cleans up after it;
 * `status` checks each recorded process and endpoint; `logs` prints a pod's container log.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamkeeperError } from '../errors/index.js';
import { ClientNodeKubeClient } from '../kube/adapter.js';
import { ignoreNotFound } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { packageRoot } from '../package-info.js';
import { canConnect } from './free-port.js';
import { KubeRest } from './kube-rest.js';
import { defaultLocalDir, readState, type ComponentState, type LocalPaths, type LocalState } from './local-state.js';
import { containerLogName } from './node-agent.js';
import { SupervisedProcess, isAlive, logTail } from './supervised-process.js';
import { runDir } from './paths.js';
import { fourLetterWord } from './zookeeper-server.js';
import { httpOk, httpsOk } from './http-probe.js';

export interface Output {
  (line: string): void;
}

export interface UpOptions {
  readonly paths: LocalPaths;
  readonly operator: boolean;
  readonly nodeAgent: boolean;
  readonly out: Output;
  /** Aborting (Ctrl-C) stops what was started. */
  readonly signal: AbortSignal;
}

/** Whether `pid` is a live `streamkeeper local _supervise` (and not a process that reused the pid). */
function isSupervisor(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('_supervise');
  } catch {
    return true; // no /proc: the pid is all there is to go by
  }
}

function supervisorRunning(state: LocalState | undefined): boolean {
  return state !== undefined && state.phase !== 'stopped' && isSupervisor(state.supervisorPid);
}

/** Whether `pid` is still the process a launcher recorded under `name` (not a reused pid). */
function isRecordedProcess(pid: number, name: string): boolean {
  try {
    const record = JSON.parse(readFileSync(join(runDir(), `${pid}.json`), 'utf8')) as { name?: string };
    return record.name === name && isAlive(pid);
  } catch {
    return false;
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
      return;
    } catch {
      // not a group leader, or already gone
    }
  }
}

/** Files a stopped cluster leaves behind that the next `up` must not see. */
function removeRunFiles(paths: LocalPaths, keepLogs: boolean): void {
  for (const file of [paths.state, paths.kubeconfig, paths.operatorKubeconfig, paths.env, paths.zkCredentials, paths.data, paths.nodeAgent]) {
    rmSync(file, { recursive: true, force: true });
  }
  if (!keepLogs) {
    for (const file of [paths.podLogs, paths.supervisorLog, paths.operatorLog]) rmSync(file, { recursive: true, force: true });
  }
}

/** ` --dir DIR` when the cluster is not in the default directory: hints must name it. */
function dirFlagFor(paths: LocalPaths): string {
  return paths.dir.endsWith(defaultLocalDir) ? '' : ` --dir ${paths.dir}`;
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function describeComponent(component: ComponentState): string {
  const where = component.endpoint === undefined ? '' : ` ${component.endpoint}`;
  const pid = component.pid === undefined ? '' : ` (pid ${component.pid})`;
  return `${component.name.padEnd(24)} ${component.status.padEnd(8)}${where}${pid}`;
}

/** Takes the `up` lock, or says who holds it. */
function takeLock(paths: LocalPaths): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(paths.lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(paths.lock, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new StreamkeeperError('SK_SERVER_START_FAILED', `another \`streamkeeper local up\` (pid ${holder}) is starting the cluster in ${paths.dir}`);
      }
      rmSync(paths.lock, { force: true });
    }
  }
  throw new StreamkeeperError('SK_SERVER_START_FAILED', `could not take ${paths.lock}`);
}

/** Starts the local cluster in the background; resolves with the exit code once it is ready. */
export async function localUp(options: UpOptions): Promise<number> {
  const { paths, out } = options;
  mkdirSync(paths.dir, { recursive: true });
  const existing = readState(paths);
  if (existing !== undefined && supervisorRunning(existing)) {
    out(`The local cluster is already up (supervisor pid ${existing.supervisorPid}, ${existing.phase}). Run \`streamkeeper local status\` to check it, or \`streamkeeper local down\` first to start it afresh.`);
    return 0;
  }
  takeLock(paths);
  try {
    if (existing !== undefined) {
      out('Cleaning up after a local cluster whose supervisor is gone.');
      stopRecordedProcesses(existing);
    }
    removeRunFiles(paths, false);
    mkdirSync(paths.podLogs, { recursive: true });
    const supervisor = SupervisedProcess.start({
      name: 'streamkeeper-local',
      command: process.execPath,
      args: [join(packageRoot, 'bin', 'streamkeeper.js'), 'local', '_supervise', '--dir', paths.dir, ...(options.operator ? [] : ['--no-operator']), ...(options.nodeAgent ? [] : ['--no-node-agent'])],
      logFile: paths.supervisorLog,
      truncateLog: true,
      cwd: paths.dir,
      detached: true,
    });
    out(`Starting the local cluster in ${paths.dir} (supervisor pid ${supervisor.pid}; log ${paths.supervisorLog})`);
    return await followStartup(options, supervisor);
  } finally {
    rmSync(paths.lock, { force: true });
  }
}

async function followStartup(options: UpOptions, supervisor: SupervisedProcess): Promise<number> {
  const { paths, out } = options;
  const reported = new Map<string, string>();
  for (;;) {
    const state = readState(paths);
    for (const component of state?.components ?? []) {
      if (component.status !== 'starting' && reported.get(component.name) !== component.status) {
        reported.set(component.name, component.status);
        out(`  ${describeComponent(component)}`);
      }
    }
    if (state?.phase === 'ready') break;
    if (state?.phase === 'failed' || state?.phase === 'stopped' || !supervisor.running) {
      await supervisor.whenExited().catch(() => undefined);
      out(`The local cluster did not start: ${state?.error ?? `the supervisor exited (code ${String(supervisor.exitStatus?.code)})`}`);
      out(`Supervisor log (${paths.supervisorLog}):\n${logTail(paths.supervisorLog, 20)}`);
      removeRunFiles(paths, true);
      return 1;
    }
    if (options.signal.aborted) {
      out('Interrupted: stopping what was started.');
      await stopSupervisor(readState(paths), out);
      removeRunFiles(paths, true);
      return 130;
    }
    await sleep(200);
  }
  const state = readState(paths);
  const failed = state?.components.filter((c) => c.status === 'failed') ?? [];
  out('');
  out(`Ready in ${((state?.timings?.total ?? 0) / 1000).toFixed(1)} s. Use it from a shell with:`);
  out(`  . ${paths.env}`);
  out('  "$KUBECTL" get nodes,pods -A');
  const dirFlag = dirFlagFor(paths);
  out(`Stop it with \`streamkeeper local down${dirFlag}\`. Pod logs: \`streamkeeper local logs POD [-n NAMESPACE]${dirFlag}\`.`);
  if (failed.length > 0) {
    out('');
    for (const component of failed) {
      out(`FAILED: ${component.name}${component.logFile === undefined ? '' : ` (log ${component.logFile})`}:`);
      out(indent(component.message ?? 'see its log'));
    }
    out(`Everything else is running. Stop it with \`streamkeeper local down${dirFlag}\`, or start without the failed part (e.g. \`up --no-operator\`).`);
    return 1;
  }
  return 0;
}

/** SIGKILL to every process the state names that is still the one recorded. */
function stopRecordedProcesses(state: LocalState): void {
  const names: Record<string, string> = {
    zookeeper: 'zookeeper',
    kafka: 'kafka',
    etcd: 'etcd',
    'kube-apiserver': 'kube-apiserver',
    'kube-controller-manager': 'kube-controller-manager',
    operator: 'operator',
  };
  for (const component of state.components) {
    const recorded = names[component.name];
    if (component.pid !== undefined && recorded !== undefined && isRecordedProcess(component.pid, recorded)) killGroup(component.pid, 'SIGKILL');
  }
  // Pod processes record the supervisor as their owner; with it gone they are orphans.
  for (const entry of safeReaddir(runDir())) {
    try {
      const record = JSON.parse(readFileSync(join(runDir(), entry), 'utf8')) as { pid: number; ownerPid: number; name: string };
      if (record.ownerPid === state.supervisorPid && isAlive(record.pid) && record.name.startsWith('pod ')) killGroup(record.pid, 'SIGKILL');
    } catch {
      // a record being written or removed
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((entry) => entry.endsWith('.json'));
  } catch {
    return [];
  }
}

async function stopSupervisor(state: LocalState | undefined, out: Output, timeoutMs = 120_000): Promise<void> {
  if (state === undefined) return;
  if (isSupervisor(state.supervisorPid)) {
    process.kill(state.supervisorPid, 'SIGTERM');
    const deadline = Date.now() + timeoutMs;
    while (isSupervisor(state.supervisorPid) && Date.now() < deadline) await sleep(100);
    if (isSupervisor(state.supervisorPid)) {
      out(`The supervisor (pid ${state.supervisorPid}) did not stop within ${timeoutMs / 1000} s; killing what it started.`);
      killGroup(state.supervisorPid, 'SIGKILL');
    }
  }
  stopRecordedProcesses(state);
  rmSync(join(runDir(), `${state.supervisorPid}.json`), { force: true });
}

/** Stops everything `up` started (and only that) and removes the cluster's files, keeping logs. */
export async function localDown(paths: LocalPaths, out: Output): Promise<number> {
  const state = readState(paths);
  if (state === undefined) {
    out(`The local cluster is not up (no ${paths.state}).`);
    removeRunFiles(paths, true);
    return 0;
  }
  const started = Date.now();
  out(`Stopping the local cluster (supervisor pid ${state.supervisorPid})…`);
  await stopSupervisor(state, out);
  removeRunFiles(paths, true);
  out(`Stopped in ${((Date.now() - started) / 1000).toFixed(1)} s. Logs are kept in ${paths.dir}.`);
  return 0;
}


function portOf(hostPort: string | undefined): number {
  return Number(hostPort?.split(',')[0]?.split(':')[1] ?? 0);
}

/** Whether a component's endpoint answers: a real request, not just an open port, where one exists. */
async function endpointAnswers(component: ComponentState, state: LocalState, paths: LocalPaths): Promise<string | undefined> {
  switch (component.name) {
    case 'zookeeper':
      return (await fourLetterWord(portOf(component.endpoint), 'srvr').catch(() => '')).includes('Mode:') ? undefined : 'does not answer srvr';
    case 'kafka':
      return (await canConnect(portOf(component.endpoint))) ? undefined : 'does not accept connections';
    case 'etcd':
      return (await httpOk(component.endpoint ?? '')) ? undefined : 'health check failed';
    case 'kube-apiserver':
      return (await KubeRest.fromFile(paths.kubeconfig).healthy('/readyz')) ? undefined : '/readyz failed';
    case 'kube-controller-manager':
      return state.caFile !== undefined && (await httpsOk(component.endpoint ?? '', readFileSync(state.caFile, 'utf8'))) ? undefined : '/healthz failed';
    case 'node-agent': {
      const client = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: paths.kubeconfig }));
      const name = state.nodeName ?? 'streamkeeper-local';
      const lease = await ignoreNotFound(client.get('Lease', { namespace: 'kube-node-lease', name })).catch(() => undefined);
      const renewed = lease?.spec?.renewTime === undefined ? 0 : Date.parse(lease.spec.renewTime);
      return Date.now() - renewed < 40_000 ? undefined : `node ${name}'s lease is not being renewed`;
    }
    case 'operator':
      return (await httpOk(component.endpoint ?? '')) ? undefined : '/healthz failed';
  }
}

/** Prints each component's health; exit code 0 only when every enabled one is healthy. */
export async function localStatus(paths: LocalPaths, out: Output, json = false): Promise<number> {
  const state = readState(paths);
  if (state === undefined || state.phase === 'stopped') {
    if (json) out(JSON.stringify({ up: false }));
    else out(`The local cluster is not up (${paths.dir}).`);
    return 1;
  }
  const supervisorAlive = isSupervisor(state.supervisorPid);
  const rows = await Promise.all(
    state.components.map(async (component) => {
      if (component.status === 'disabled') return { ...component, healthy: true, problem: undefined };
      if (component.status !== 'running') return { ...component, healthy: false, problem: component.message ?? component.status };
      const alive = component.pid !== undefined && isAlive(component.pid);
      const problem = !alive ? 'process is gone' : await endpointAnswers(component, state, paths).catch((err: unknown) => String(err));
      return { ...component, healthy: problem === undefined, problem };
    }),
  );
  const healthy = supervisorAlive && state.phase === 'ready' && rows.every((row) => row.healthy);
  if (json) {
    out(JSON.stringify({ up: true, healthy, phase: state.phase, supervisorPid: state.supervisorPid, supervisorAlive, components: rows }, null, 2));
    return healthy ? 0 : 1;
  }
  out(`local cluster in ${paths.dir}: ${state.phase}${supervisorAlive ? '' : ' (its supervisor is gone: run `streamkeeper local down`)'}, supervisor pid ${state.supervisorPid}`);
  for (const row of rows) {
    const verdict = row.status === 'disabled' ? 'disabled' : row.healthy ? 'ok' : 'NOT OK';
    out(`  ${row.name.padEnd(24)} ${verdict.padEnd(8)} ${row.endpoint ?? ''}${row.pid === undefined ? '' : ` (pid ${row.pid})`}`);
    if (!row.healthy && row.problem !== undefined) out(indent(row.problem));
  }
  if (state.zkConnect !== undefined) out(`  ZK_CONNECT=${state.zkConnect} KAFKA_BROKERS=${state.kafkaBrokers ?? ''}`);
  if (existsSync(paths.env)) out(`  . ${paths.env}   # sets KUBECONFIG, KUBECTL, ZK_CONNECT, KAFKA_BROKERS`);
  return healthy ? 0 : 1;
}

/** The log of one container of a pod the node agent ran. */
export function localLogs(paths: LocalPaths, namespace: string, pod: string, container: string | undefined): string {
  if (container !== undefined) {
    const file = join(paths.podLogs, containerLogName(namespace, pod, container));
    if (!existsSync(file)) throw new StreamkeeperError('SK_KUBE_NOT_FOUND', `no log for container ${container} of pod ${namespace}/${pod} (looked for ${file})`);
    return readFileSync(file, 'utf8');
  }
  const prefix = `${namespace}_${pod}_`;
  const files = safeReaddirLogs(paths.podLogs).filter((file) => file.startsWith(prefix) && file.endsWith('.log'));
  if (files.length === 0) {
    throw new StreamkeeperError('SK_KUBE_NOT_FOUND', `no logs for pod ${namespace}/${pod} in ${paths.podLogs}: the local node agent writes a log once it starts a container of the pod (check the namespace with -n)`);
  }
  if (files.length > 1) {
    const containers = files.map((file) => file.slice(prefix.length, -'.log'.length));
    throw new StreamkeeperError('SK_USAGE', `pod ${namespace}/${pod} has several containers; choose one with -c: ${containers.join(', ')}`);
  }
  return readFileSync(join(paths.podLogs, files[0] ?? ''), 'utf8');
}

function safeReaddirLogs(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
