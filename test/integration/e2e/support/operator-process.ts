/**
 * One replica of the operator as users run it: `node bin/streamkeeper.js operator` in a child
 * process with the operator's own kubeconfig (the RBAC of manifests/install.yaml) and ZooKeeper
 * credential file. Every test that runs the operator as a process starts it here; scenarios stop
 * it, crash it (SIGKILL) and read its /healthz, /readyz and /metrics as a kubelet and Prometheus
 * would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DigestCredential } from '../../../../src/coordination/zookeeper/digest.js';
import { freePort } from '../../../../src/local/free-port.js';
import { operatorNodeOptions } from '../../../../src/local/operator-access.js';
import { SupervisedProcess, logTail, type ExitStatus } from '../../../../src/local/supervised-process.js';
import { packageRoot } from '../../../../src/package-info.js';
import { operatorKubeconfig, zkConnect } from '../../../harness/servers.js';
import { eventually } from './waiting.js';

/** The Lease timings of `--leader-election-*` (durations such as `4s`). */
export interface LeaseTimings {
  readonly leaseDuration: string;
  readonly renewDeadline: string;
  readonly retryPeriod: string;
}

/**
 * Short enough that a standby takes over a crashed leader in about 9 s (the defaults take about
 * 17 s), long enough that a leader on a busy machine keeps renewing: a leader that cannot renew
 * exits, and nothing restarts it in these tests, so a lost Lease ends the scenario. With a 3 s
 * renew deadline one did, on a 2-core machine running two test suites at once, while the outage
 * scenario waited for its status.
 */
export const shortLease: LeaseTimings = { leaseDuration: '8s', renewDeadline: '6s', retryPeriod: '1s' };

export interface OperatorProcessOptions {
  /** This replica's name in the Lease and in Events. */
  readonly identity: string;
  /** Namespaces it watches. */
  readonly namespaces: readonly string[];
  readonly zkRoot: string;
  /** Default: the harness's shared ZooKeeper. */
  readonly zkConnect?: string;
  /** File holding the operator's ZooKeeper digest credential (see `writeCredentialsFile`). */
  readonly credentialsFile: string;
  /** Replicas sharing a Lease name compete for leadership. */
  readonly leaseName: string;
  readonly logFile: string;
  /** Default `shortLease`. */
  readonly lease?: LeaseTimings;
  /** `--progress-refresh-period`: how often a Running job's status picks up its progress (the operator's default: 30s). */
  readonly progressRefreshPeriod?: string;
  /** Extra flags, e.g. `['--workers=2']`. */
  readonly extraArgs?: readonly string[];
}

/** Namespace of the Lease: the one manifests/install.yaml grants the operator Leases in. */
export const leaseNamespace = 'streamkeeper-system';

/** Writes the operator's credential as `--zk-credentials-file` reads it: `user:password`, mode 0600. */
export function writeCredentialsFile(file: string, credential: DigestCredential): string {
  writeFileSync(file, `${credential.user}:${credential.password}\n`, { mode: 0o600 });
  return file;
}

// The operator must get everything from its flags, never from the test runner's settings.
const notInherited = new Set(['KUBECONFIG', 'KUBECONFIG_ADMIN', 'KUBECONFIG_OPERATOR', 'ZK_CONNECT', 'KAFKA_BROKERS', 'POD_NAME', 'POD_NAMESPACE', 'WATCH_NAMESPACES', 'STREAMKEEPER_ZK_CREDENTIALS_FILE', 'NODE_OPTIONS']);

/** The samples of `family` in a Prometheus text exposition (any labels). */
function samplesOf(exposition: string, family: string): number[] {
  return exposition
    .split('\n')
    .filter((line) => line.startsWith(`${family} `) || line.startsWith(`${family}{`))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

export class OperatorProcess {
  private constructor(
    readonly identity: string,
    readonly metricsPort: number,
    readonly logFile: string,
    private readonly process: SupervisedProcess,
  ) {}

  /** Starts a replica and waits until it answers /readyz (its informers have synced). */
  static async start(options: OperatorProcessOptions): Promise<OperatorProcess> {
    const port = await freePort();
    const lease = options.lease ?? shortLease;
    const args = [
      join(packageRoot, 'bin', 'streamkeeper.js'),
      'operator',
      '--log-format=json',
      `--kubeconfig=${operatorKubeconfig()}`,
      `--namespaces=${options.namespaces.join(',')}`,
      `--zk-connect=${options.zkConnect ?? zkConnect()}`,
      `--zk-root=${options.zkRoot}`,
      `--zk-credentials-file=${options.credentialsFile}`,
      `--leader-election-namespace=${leaseNamespace}`,
      `--leader-election-id=${options.leaseName}`,
      `--leader-election-lease-duration=${lease.leaseDuration}`,
      `--leader-election-renew-deadline=${lease.renewDeadline}`,
      `--leader-election-retry-period=${lease.retryPeriod}`,
      `--identity=${options.identity}`,
      `--metrics-addr=127.0.0.1:${port}`,
      ...(options.progressRefreshPeriod === undefined ? [] : [`--progress-refresh-period=${options.progressRefreshPeriod}`]),
      ...(options.extraArgs ?? []),
    ];
    // The Node.js flags the operator container is installed with, so every scenario runs under them.
    const env = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !notInherited.has(name))), NODE_OPTIONS: operatorNodeOptions() };
    const child = SupervisedProcess.start({ name: `operator ${options.identity}`, command: process.execPath, args, logFile: options.logFile, env });
    const replica = new OperatorProcess(options.identity, port, options.logFile, child);
    try {
      await child.waitUntilReady(() => replica.answers('/readyz'), 60_000, 'ready (/readyz)');
    } catch (err) {
      await child.kill();
      throw err;
    }
    return replica;
  }

  get pid(): number {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.running;
  }

  /** How the process ended; undefined while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.process.exitStatus;
  }

  whenExited(): Promise<ExitStatus> {
    return this.process.whenExited();
  }

  /** Whether `path` (/healthz, /readyz) answers 200. */
  async answers(path: '/healthz' | '/readyz'): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** /metrics in the Prometheus text format. */
  async metrics(): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`operator ${this.identity}: /metrics answered ${response.status}`);
    return response.text();
  }

  /** One sample's value, e.g. `streamkeeper_leader` or `streamkeeper_pods_created_total{component="executor"}`. */
  async metric(sample: string): Promise<number | undefined> {
    const line = (await this.metrics()).split('\n').find((l) => l.startsWith(`${sample} `));
    return line === undefined ? undefined : Number(line.slice(sample.length + 1));
  }

  /**
   * The sum of every sample of a counter family, whatever its labels; 0 when the replica does not
   * export it (a standby exports no reconcile counters: it has no controller).
   */
  async metricTotal(family: string): Promise<number> {
    return samplesOf(await this.metrics(), family).reduce((sum, value) => sum + value, 0);
  }

  /** Whether this replica says it holds the Lease (false once it has exited). */
  async isLeader(): Promise<boolean> {
    if (!this.running) return false;
    try {
      return (await this.metric('streamkeeper_leader')) === 1;
    } catch {
      return false;
    }
  }

  /** Waits until this replica leads. */
  async waitUntilLeading(timeoutMs?: number): Promise<void> {
    await eventually(async () => {
      if (!(await this.isLeader())) throw new Error(`operator ${this.identity} reports streamkeeper_leader != 1`);
    }, `operator ${this.identity} leading`, timeoutMs);
  }

  /** SIGTERM, as a rolling update of the operator's Deployment does; SIGKILL after `graceMs`. */
  async stop(graceMs = 25_000): Promise<ExitStatus> {
    await this.process.stop(graceMs);
    return this.whenExited();
  }

  /** SIGKILL, as a crash or an OOM kill: no Lease release, no cleanup. */
  async kill(): Promise<ExitStatus> {
    await this.process.kill();
    return this.whenExited();
  }

  logTail(lines = 80): string {
    return logTail(this.logFile, lines);
  }
}
