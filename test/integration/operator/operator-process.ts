/**
 * An operator replica as users run it, for the tests that must crash one: `node
 * bin/streamkeeper.js operator` in a child process under the operator's own kubeconfig (the RBAC
 * of manifests/install.yaml), with its own ZooKeeper root, Lease name and short Lease timings.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../src/local/free-port.js';
import { SupervisedProcess, logTail, type ExitStatus } from '../../../src/local/supervised-process.js';
import type { DigestCredential } from '../../../src/coordination/zookeeper/digest.js';
import { packageRoot } from '../../../src/package-info.js';
import { operatorKubeconfig, zkConnect } from '../../harness/servers.js';

/** The namespace manifests/install.yaml grants the operator Leases in. */
export const leaseNamespace = 'streamkeeper-system';

/** Lease timings short enough for a test, long enough for a busy machine. */
export const shortLease = { leaseDuration: '4s', renewDeadline: '3s', retryPeriod: '1s' } as const;

export interface ReplicaOptions {
  readonly identity: string;
  readonly namespace: string;
  readonly zkRoot: string;
  readonly operatorCredential: DigestCredential;
  readonly leaseName: string;
  readonly lease?: { readonly leaseDuration: string; readonly renewDeadline: string; readonly retryPeriod: string };
}

// Everything the replica needs comes from its flags, never from the test runner's environment.
const notInherited = new Set(['KUBECONFIG', 'KUBECONFIG_ADMIN', 'KUBECONFIG_OPERATOR', 'ZK_CONNECT', 'KAFKA_BROKERS', 'POD_NAME', 'POD_NAMESPACE', 'WATCH_NAMESPACES', 'STREAMKEEPER_ZK_CREDENTIALS_FILE', 'NODE_OPTIONS']);

export class OperatorReplica {
  private constructor(
    readonly identity: string,
    readonly metricsPort: number,
    private readonly dir: string,
    private readonly process: SupervisedProcess,
  ) {}

  /** Starts a replica and waits until its informers have synced (/readyz). */
  static async start(options: ReplicaOptions): Promise<OperatorReplica> {
    const dir = mkdtempSync(join(tmpdir(), `sk-${options.identity}-`));
    const credentialsFile = join(dir, 'credentials');
    writeFileSync(credentialsFile, `${options.operatorCredential.user}:${options.operatorCredential.password}\n`, { mode: 0o600 });
    const port = await freePort();
    const lease = options.lease ?? shortLease;
    const args = [
      join(packageRoot, 'bin', 'streamkeeper.js'),
      'operator',
      '--log-format=json',
      `--kubeconfig=${operatorKubeconfig()}`,
      `--namespaces=${options.namespace}`,
      `--zk-connect=${zkConnect()}`,
      `--zk-root=${options.zkRoot}`,
      `--zk-credentials-file=${credentialsFile}`,
      `--leader-election-namespace=${leaseNamespace}`,
      `--leader-election-id=${options.leaseName}`,
      `--leader-election-lease-duration=${lease.leaseDuration}`,
      `--leader-election-renew-deadline=${lease.renewDeadline}`,
      `--leader-election-retry-period=${lease.retryPeriod}`,
      `--identity=${options.identity}`,
      `--metrics-addr=127.0.0.1:${port}`,
      '--workers=2',
    ];
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !notInherited.has(name)));
    const child = SupervisedProcess.start({ name: `operator ${options.identity}`, command: process.execPath, args, logFile: join(dir, 'operator.log'), env });
    const replica = new OperatorReplica(options.identity, port, dir, child);
    try {
      await child.waitUntilReady(() => replica.answers('/readyz'), 60_000, 'ready (/readyz)');
    } catch (err) {
      await replica.kill();
      throw err;
    }
    return replica;
  }

  get running(): boolean {
    return this.process.running;
  }

  async answers(path: '/healthz' | '/readyz'): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.metricsPort}${path}`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }

  /** One sample of /metrics, e.g. `streamkeeper_leader`; undefined when absent or unreachable. */
  async metric(sample: string): Promise<number | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
      const line = (await response.text()).split('\n').find((l) => l.startsWith(`${sample} `));
      return line === undefined ? undefined : Number(line.slice(sample.length + 1));
    } catch {
      return undefined;
    }
  }

  /** SIGKILL, as a crash or an OOM kill: no Lease release, no cleanup. */
  async kill(): Promise<ExitStatus> {
    await this.process.kill();
    return this.process.whenExited();
  }

  /** SIGTERM (the leader drains and releases the Lease), SIGKILL after `graceMs`. */
  async stop(graceMs = 25_000): Promise<ExitStatus> {
    await this.process.stop(graceMs);
    return this.process.whenExited();
  }

  logTail(lines = 40): string {
    return logTail(join(this.dir, 'operator.log'), lines);
  }

  /** Stops the process if it still runs and removes its files. */
  async dispose(): Promise<void> {
    if (this.running) await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
