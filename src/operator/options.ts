/**
 * The operator's command-line options, parsed and validated in one pure function so that the
 * CLI, the Helm chart and the plain manifests agree on one set of flags and defaults.
 */
import { hostname } from 'node:os';
import { usageError } from '../errors/index.js';
import { jitterFactor } from '../machinery/leader-elector.js';

export interface OperatorOptions {
  /** Namespaces to watch; empty means all namespaces (cluster-wide mode). */
  readonly namespaces: readonly string[];
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly kubeconfig: string | undefined;
  readonly zkConnect: string;
  readonly zkRoot: string;
  /** File holding the operator's ZooKeeper digest credential as `user:password`. */
  readonly zkCredentialsFile: string | undefined;
  /** Development only: no ZooKeeper ACLs. */
  readonly insecureZkOpenAcl: boolean;
  readonly leaderElect: boolean;
  readonly leaderElectionNamespace: string;
  readonly leaderElectionId: string;
  /** How long a standby waits on a Lease that is not renewed before it takes it over. */
  readonly leaseDurationMs: number;
  /** How long the leader keeps acting without a successful renewal; < leaseDurationMs. */
  readonly renewDeadlineMs: number;
  /** Time between the leader's renewals and the standbys' looks at the Lease. */
  readonly retryPeriodMs: number;
  readonly identity: string;
  readonly workers: number;
  readonly resyncPeriodMs: number;
  /**
   * How often a Running or Degraded job's status picks up its progress (last committed batch,
   * lag) when nothing else happens; 30 s when absent.
   */
  readonly progressRefreshPeriodMs?: number;
  /**
   * The Deployment this operator runs in, in its own namespace. When it is gone as the operator
   * stops, the operator is being uninstalled: it releases its jobs (removes its finalizer) and
   * deletes its Lease, so nothing waits on an operator that will not come back.
   */
  readonly operatorDeployment?: string;
}

export const operatorOptionSpec = {
  namespaces: { type: 'string' },
  'metrics-addr': { type: 'string' },
  kubeconfig: { type: 'string' },
  'zk-connect': { type: 'string' },
  'zk-root': { type: 'string' },
  'zk-credentials-file': { type: 'string' },
  'insecure-zk-open-acl': { type: 'boolean' },
  'leader-elect': { type: 'string' },
  'leader-election-namespace': { type: 'string' },
  'leader-election-id': { type: 'string' },
  'leader-election-lease-duration': { type: 'string' },
  'leader-election-renew-deadline': { type: 'string' },
  'leader-election-retry-period': { type: 'string' },
  identity: { type: 'string' },
  workers: { type: 'string' },
  'resync-period': { type: 'string' },
  'progress-refresh-period': { type: 'string' },
  'operator-deployment': { type: 'string' },
} as const;

export const operatorFlagHelp: readonly (readonly [string, string])[] = [
  ['--namespaces NS,...', 'watch only these namespaces (default: all; env WATCH_NAMESPACES)'],
  ['--metrics-addr [HOST]:PORT', 'serve /metrics, /healthz and /readyz here (default :8080)'],
  ['--kubeconfig FILE', 'kubeconfig to use (default: in-cluster, then $KUBECONFIG)'],
  ['--zk-connect HOSTS', 'ZooKeeper connect string host:port[,...][/chroot] (env ZK_CONNECT; required)'],
  ['--zk-root PATH', 'root znode of streamkeeper data (default /streamkeeper)'],
  ['--zk-credentials-file FILE', "the operator's ZooKeeper digest credential, user:password (env STREAMKEEPER_ZK_CREDENTIALS_FILE)"],
  ['--insecure-zk-open-acl', 'development only: create znodes without ACLs'],
  ['--leader-elect true|false', 'elect one active replica through a Lease (default true)'],
  ['--leader-election-namespace NS', 'namespace of the Lease (default $POD_NAMESPACE, else streamkeeper-system)'],
  ['--leader-election-id NAME', 'name of the Lease (default streamkeeper-operator)'],
  ['--leader-election-lease-duration DURATION', 'a standby takes over a Lease not renewed for this long (default 15s)'],
  ['--leader-election-renew-deadline DURATION', 'the leader stops acting when it could not renew for this long (default 10s; shorter than the lease duration)'],
  ['--leader-election-retry-period DURATION', 'time between renewals and between looks at the Lease (default 2s; renew deadline > 1.2 × this)'],
  ['--identity NAME', 'this replica in the Lease (default $POD_NAME, else hostname-pid)'],
  ['--workers N', 'jobs reconciled in parallel (default 4)'],
  ['--resync-period DURATION', 'every job is reconciled at least this often (default 5m)'],
  ['--operator-deployment NAME', "the operator's own Deployment (in the Lease's namespace): when it is gone as the operator stops, it is being uninstalled, and it releases its jobs and deletes its Lease (default: none)"],
  ['--progress-refresh-period DURATION', "how often a Running or Degraded job's status picks up its progress: last committed batch, lag (default 30s; at least 1s)"],
];

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;

function text(values: Values, key: string): string | undefined {
  const value = values[key];
  return typeof value === 'string' ? value : undefined;
}

/** `250ms`, `30s`, `5m`, `1h` → milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(value);
  if (match === null) throw usageError(`${flag} must be a duration such as 30s or 5m (got "${value}")`);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return Number(match[1]) * (units[match[2] ?? 'ms'] ?? 1);
}

export function parseListenAddress(value: string, flag: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`${flag} must be [HOST]:PORT (got "${value}")`);
  return { host: match[1] === '' || match[1] === undefined ? '0.0.0.0' : match[1], port };
}

/**
 * The Lease timings, checked together: the leader must give up (renew deadline) before a standby
 * may take over (lease duration), and must get a few renewal attempts into its renew deadline.
 */
function leaderElectionTimings(values: Values): Pick<OperatorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'> {
  const duration = (flag: string, fallback: string): number => {
    const ms = parseDuration(text(values, flag) ?? fallback, `--${flag}`);
    if (ms <= 0) throw usageError(`--${flag} must be longer than 0`);
    return ms;
  };
  const leaseDurationMs = duration('leader-election-lease-duration', '15s');
  const renewDeadlineMs = duration('leader-election-renew-deadline', '10s');
  const retryPeriodMs = duration('leader-election-retry-period', '2s');
  if (renewDeadlineMs >= leaseDurationMs) {
    throw usageError(`--leader-election-renew-deadline (${renewDeadlineMs} ms) must be shorter than --leader-election-lease-duration (${leaseDurationMs} ms): the leader must stop acting before a standby may take over`);
  }
  if (retryPeriodMs * jitterFactor >= renewDeadlineMs) {
    throw usageError(`--leader-election-retry-period (${retryPeriodMs} ms) must be shorter than --leader-election-renew-deadline (${renewDeadlineMs} ms) / ${jitterFactor}, so the leader gets to retry a failed renewal`);
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs };
}

/** The shortest --progress-refresh-period: each refresh reads the job's ZooKeeper data. */
export const minProgressRefreshPeriodMs = 1000;

function progressRefreshPeriod(values: Values): number {
  const value = text(values, 'progress-refresh-period') ?? '30s';
  const ms = parseDuration(value, '--progress-refresh-period');
  if (ms < minProgressRefreshPeriodMs) throw usageError(`--progress-refresh-period must be at least 1s (got "${value}")`);
  return ms;
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usageError(`${flag} must be a positive integer (got "${value}")`);
  return n;
}

function bool(value: string, flag: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw usageError(`${flag} must be true or false (got "${value}")`);
}

function operatorDeployment(values: Values): { operatorDeployment?: string } {
  const name = text(values, 'operator-deployment');
  if (name === undefined || name === '') return {};
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) throw usageError(`--operator-deployment: "${name}" is not a valid Deployment name`);
  return { operatorDeployment: name };
}

export function parseOperatorOptions(values: Values, env: NodeJS.ProcessEnv): OperatorOptions {
  const namespaces = (text(values, 'namespaces') ?? env.WATCH_NAMESPACES ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const ns of namespaces) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63) throw usageError(`--namespaces: "${ns}" is not a valid namespace name`);
  }
  const zkConnect = text(values, 'zk-connect') ?? env.ZK_CONNECT;
  if (zkConnect === undefined || zkConnect === '') throw usageError('--zk-connect (or ZK_CONNECT) is required');
  const zkRoot = text(values, 'zk-root') ?? '/streamkeeper';
  if (!zkRoot.startsWith('/') || zkRoot.endsWith('/') || zkRoot.includes('//')) throw usageError(`--zk-root must be an absolute znode path such as /streamkeeper (got "${zkRoot}")`);
  const metrics = parseListenAddress(text(values, 'metrics-addr') ?? ':8080', '--metrics-addr');
  return {
    namespaces,
    metricsHost: metrics.host,
    metricsPort: metrics.port,
    kubeconfig: text(values, 'kubeconfig'),
    zkConnect,
    zkRoot,
    zkCredentialsFile: text(values, 'zk-credentials-file') ?? env.STREAMKEEPER_ZK_CREDENTIALS_FILE,
    insecureZkOpenAcl: values['insecure-zk-open-acl'] === true,
    leaderElect: bool(text(values, 'leader-elect') ?? 'true', '--leader-elect'),
    leaderElectionNamespace: text(values, 'leader-election-namespace') ?? env.POD_NAMESPACE ?? 'streamkeeper-system',
    leaderElectionId: text(values, 'leader-election-id') ?? 'streamkeeper-operator',
    ...leaderElectionTimings(values),
    identity: text(values, 'identity') ?? env.POD_NAME ?? `${hostname()}-${process.pid}`,
    workers: positiveInt(text(values, 'workers') ?? '4', '--workers'),
    resyncPeriodMs: parseDuration(text(values, 'resync-period') ?? '5m', '--resync-period'),
    progressRefreshPeriodMs: progressRefreshPeriod(values),
    ...operatorDeployment(values),
  };
}
