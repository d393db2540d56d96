/**
 * The operator on the real servers: run in-process under the operator's own RBAC identity (the
 * kubeconfig the harness makes from manifests/install.yaml) against the real kube-apiserver and
 * ZooKeeper. Until the driver and executor runtimes exist, the test plays the node and the
 * runtime: it moves pods through their phases as the kubelet would (with the admin identity) and
 * registers executors and the driver in ZooKeeper with the credential the operator issued.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamingJobSpec, StreamingJobStatus } from '../../../src/api/v1alpha1/index.js';
import { AclScheme, readJobAcl } from '../../../src/coordination/acl.js';
import { CoordinationLayout, type JobRef } from '../../../src/coordination/layout.js';
import { ExecutorMembership } from '../../../src/coordination/membership.js';
import { ZooKeeperSession } from '../../../src/coordination/session.js';
import { digestAuth, generateCredential, type DigestCredential } from '../../../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import type { KubeClient } from '../../../src/kube/client.js';
import type { CustomObject, Pod, Stored } from '../../../src/kube/objects.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { Operator } from '../../../src/operator/operator.js';
import type { OperatorOptions } from '../../../src/operator/options.js';
import { openZooKeeperCoordination } from '../../../src/operator/production-runtime.js';
import { adminKubeClient, operatorKubeClient, uniqueSuffix } from '../../harness/kube.js';
import { zkConnect } from '../../harness/servers.js';
import { pollUntil } from '../../support/poll-until.js';

export const connector = (options: Parameters<typeof NativeZooKeeperClient.connect>[0]) => NativeZooKeeperClient.connect(options);

import { sampleSpec } from '../../support/sample-spec.js';

export { sampleSpec };

/** Polls `check` until it passes. */
export function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 60_000): Promise<T> {
  return pollUntil(check, what, { timeoutMs, pollMs: 100 });
}

/** One ZooKeeper root, the operator's credential, and sessions to close at the end. */
export class CoordinationSide {
  readonly root = `/sk-op-${randomBytes(4).toString('hex')}`;
  readonly layout = new CoordinationLayout(this.root);
  readonly operatorCredential = generateCredential('streamkeeper-operator');
  readonly acls = AclScheme.digest(this.operatorCredential);
  private readonly sessions: ZooKeeperSession[] = [];

  async open(credential: DigestCredential): Promise<ZooKeeperSession> {
    const session = await ZooKeeperSession.open({ connector, connectString: zkConnect(), sessionTimeoutMs: 4000, auth: [digestAuth(credential)] });
    this.sessions.push(session);
    return session;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.sessions.splice(0).map((session) => session.close()));
  }
}

export interface RunningOperator {
  readonly operator: Operator;
  readonly identity: string;
  stop(): Promise<number>;
}

/** Starts an operator replica in this process; `leaseName` is shared by replicas that compete. */
export function startOperator(side: CoordinationSide, namespace: string, leaseName: string, identity = `operator-${uniqueSuffix()}`): RunningOperator {
  const dir = mkdtempSync(join(tmpdir(), 'sk-operator-'));
  const credentialsFile = join(dir, 'credentials');
  writeFileSync(credentialsFile, `${side.operatorCredential.user}:${side.operatorCredential.password}\n`, { mode: 0o600 });
  const options: OperatorOptions = {
    namespaces: [namespace],
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    kubeconfig: undefined,
    zkConnect: zkConnect(),
    zkRoot: side.root,
    zkCredentialsFile: credentialsFile,
    insecureZkOpenAcl: false,
    leaderElect: true,
    leaderElectionNamespace: 'streamkeeper-system',
    leaderElectionId: leaseName,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    identity,
    workers: 2,
    resyncPeriodMs: 300_000,
  };
  const logger = silentLogger();
  const operator = new Operator(options, {
    kube: operatorKubeClient(),
    logger,
    openCoordination: () => openZooKeeperCoordination({ zkConnect: zkConnect(), zkRoot: side.root, connector, acls: side.acls, logger }),
  });
  const abort = new AbortController();
  const exit = operator.run(abort.signal);
  return {
    operator,
    identity,
    stop: async () => {
      abort.abort();
      const code = await exit;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** The test's stand-ins for the kubelet and the runtime. */
export class JobSide {
  readonly admin: KubeClient = adminKubeClient();
  private readonly executors = new Map<string, ZooKeeperSession>();

  constructor(
    readonly side: CoordinationSide,
    readonly namespace: string,
  ) {}

  async createJob(name: string, spec: StreamingJobSpec = sampleSpec()): Promise<Stored<CustomObject>> {
    return this.admin.create('StreamingJob', { metadata: { namespace: this.namespace, name }, spec: spec as unknown as Record<string, unknown> });
  }

  async updateSpec(name: string, change: (spec: StreamingJobSpec) => StreamingJobSpec): Promise<void> {
    for (;;) {
      const job = await this.admin.get('StreamingJob', { namespace: this.namespace, name });
      try {
        await this.admin.update('StreamingJob', { ...job, spec: change(structuredClone(job.spec) as unknown as StreamingJobSpec) as unknown as Record<string, unknown> });
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== 'SK_KUBE_CONFLICT') throw err;
      }
    }
  }

  async status(name: string): Promise<StreamingJobStatus | undefined> {
    return (await this.admin.get('StreamingJob', { namespace: this.namespace, name })).status as StreamingJobStatus | undefined;
  }

  async pods(job: string): Promise<Stored<Pod>[]> {
    return (await this.admin.list('Pod', { namespace: this.namespace, labelSelector: `app.kubernetes.io/instance=${job}` })).items.filter((pod) => pod.metadata.deletionTimestamp === undefined);
  }

  async podNames(job: string): Promise<string[]> {
    return (await this.pods(job)).map((pod) => pod.metadata.name).sort();
  }

  /** The job's ZooKeeper credential, as its pods get it (the test may read the Secret; the operator may not). */
  async credential(job: string): Promise<DigestCredential> {
    const secret = await this.admin.get('Secret', { namespace: this.namespace, name: `${job}-zookeeper` });
    const decode = (key: string): string => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
    return { user: decode('user'), password: decode('password') };
  }

  /** What the kubelet reports once the container runs. */
  async runPod(pod: Stored<Pod>): Promise<void> {
    const current = await this.admin.get('Pod', { namespace: this.namespace, name: pod.metadata.name });
    await this.admin.updateStatus('Pod', {
      ...current,
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: current.spec?.containers[0]?.name ?? 'main', ready: true, restartCount: 0, image: current.spec?.containers[0]?.image ?? '', imageID: '', state: { running: {} } }],
      },
    });
  }

  async terminatePod(name: string, exitCode: number): Promise<void> {
    const current = await this.admin.get('Pod', { namespace: this.namespace, name });
    await this.admin.updateStatus('Pod', {
      ...current,
      status: {
        phase: 'Failed',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [{ name: current.spec?.containers[0]?.name ?? 'main', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode, reason: 'Error' } } }],
      },
    });
  }

  /** Runs every pending pod of the job; its executors and driver register in ZooKeeper. */
  async bringUp(job: string): Promise<void> {
    const ref: JobRef = { namespace: this.namespace, name: job };
    const credential = await this.credential(job);
    for (const pod of await this.pods(job)) {
      if (pod.status?.phase === 'Running') continue;
      await this.runPod(pod);
      await this.stopExecutor(job, pod.metadata.name);
      const session = await this.side.open(credential);
      const acl = await readJobAcl(session, this.side.layout, ref);
      if (pod.metadata.name.includes('-executor-')) {
        await new ExecutorMembership(session, this.side.layout).register(ref, pod.metadata.name, acl);
        this.executors.set(`${job}/${pod.metadata.name}`, session);
      } else {
        await session.registerEphemeral(this.side.layout.driver(ref), Buffer.from('{}'), acl);
      }
    }
  }

  /** An executor process exits: its registration goes with its session. */
  async stopExecutor(job: string, pod: string): Promise<void> {
    const session = this.executors.get(`${job}/${pod}`);
    this.executors.delete(`${job}/${pod}`);
    await session?.close();
  }

  /** Exits the executor processes whose pods are gone. */
  async reapExecutors(job: string): Promise<void> {
    const alive = new Set((await this.pods(job)).map((pod) => pod.metadata.name));
    for (const key of [...this.executors.keys()]) {
      const [owner, pod] = key.split('/');
      if (owner === job && pod !== undefined && !alive.has(pod)) await this.stopExecutor(job, pod);
    }
  }
}
