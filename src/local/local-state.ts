/**
 * The files of a local cluster (`.streamkeeper/local/` by default) and its state file, which the
 * background supervisor writes and `streamkeeper local up|down|status` read. The state names
 * every process the supervisor started, so `down` stops exactly those and nothing else.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const defaultLocalDir = join('.streamkeeper', 'local');

export interface LocalPaths {
  readonly dir: string;
  readonly state: string;
  readonly lock: string;
  /** Admin kubeconfig (system:masters). */
  readonly kubeconfig: string;
  /** The operator's ServiceAccount, with exactly the RBAC of manifests/install.yaml. */
  readonly operatorKubeconfig: string;
  /** Shell-sourceable: KUBECONFIG, KUBECTL, ZK_CONNECT, KAFKA_BROKERS. */
  readonly env: string;
  /** The operator's ZooKeeper digest credential (user:password). */
  readonly zkCredentials: string;
  readonly supervisorLog: string;
  readonly operatorLog: string;
  /** Container logs: `<namespace>_<pod>_<container>.log`. */
  readonly podLogs: string;
  /** Server data and logs: zookeeper/, kafka/, control-plane/. */
  readonly data: string;
  /** The node agent's per-pod working directories. */
  readonly nodeAgent: string;
}

export function localPaths(cwd: string, dir: string = defaultLocalDir): LocalPaths {
  const root = resolve(cwd, dir);
  return {
    dir: root,
    state: join(root, 'state.json'),
    lock: join(root, 'up.lock'),
    kubeconfig: join(root, 'kubeconfig'),
    operatorKubeconfig: join(root, 'operator.kubeconfig'),
    env: join(root, 'env'),
    zkCredentials: join(root, 'zk-credentials'),
    supervisorLog: join(root, 'supervisor.log'),
    operatorLog: join(root, 'operator.log'),
    podLogs: join(root, 'logs'),
    data: join(root, 'data'),
    nodeAgent: join(root, 'node-agent'),
  };
}

export const componentNames = ['zookeeper', 'kafka', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'node-agent', 'operator'] as const;
export type ComponentName = (typeof componentNames)[number];

export type ComponentStatus = 'starting' | 'running' | 'failed' | 'disabled' | 'stopped';

export interface ComponentState {
  readonly name: ComponentName;
  readonly status: ComponentStatus;
  /** The process; components inside the supervisor (the node agent) carry its pid. */
  readonly pid?: number;
  /** What answers when it is healthy: host:port or a URL. */
  readonly endpoint?: string;
  readonly logFile?: string;
  readonly message?: string;
}

export type LocalPhase = 'starting' | 'ready' | 'failed' | 'stopping' | 'stopped';

export interface LocalState {
  readonly version: 1;
  readonly phase: LocalPhase;
  readonly supervisorPid: number;
  readonly startedAt: string;
  readonly readyAt?: string;
  readonly error?: string;
  readonly zkConnect?: string;
  readonly kafkaBrokers?: string;
  /** The API server URL. */
  readonly server?: string;
  readonly kubectl?: string;
  /** The control plane's CA, to verify its endpoints. */
  readonly caFile?: string;
  readonly nodeName?: string;
  readonly components: readonly ComponentState[];
  /** Start-up durations in milliseconds, by step. */
  readonly timings?: Readonly<Record<string, number>>;
}

export function readState(paths: LocalPaths): LocalState | undefined {
  try {
    const state = JSON.parse(readFileSync(paths.state, 'utf8')) as { version?: unknown };
    return state.version === 1 ? (state as LocalState) : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the state file atomically, so a reader never sees half of it. */
export function writeState(paths: LocalPaths, state: LocalState): void {
  const temporary = `${paths.state}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temporary, paths.state);
}

/** `'value'` for a POSIX shell, whatever the value holds. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

export interface EnvFileValues {
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly zkConnect: string;
  readonly kafkaBrokers: string;
}

/** The `env` file: `. .streamkeeper/local/env` sets up a shell for the local cluster. */
export function envFileContent(values: EnvFileValues): string {
  return [
    '# Written by `streamkeeper local up`. Load it with: . .streamkeeper/local/env',
    `export KUBECONFIG=${shellQuote(values.kubeconfig)}`,
    `export KUBECTL=${shellQuote(values.kubectl)}`,
    `export ZK_CONNECT=${shellQuote(values.zkConnect)}`,
    `export KAFKA_BROKERS=${shellQuote(values.kafkaBrokers)}`,
    '',
  ].join('\n');
}
