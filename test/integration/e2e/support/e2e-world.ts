/**
 * The world of one end-to-end test file: a namespace of its own, a node agent that runs that
 * namespace's pods as real `streamkeeper driver|executor` processes, one or more operator
 * replicas as real child processes (own ZooKeeper root, credential and Lease), and the harness's
 * Kafka for input and output — or, for scenarios that stop and restart them, a ZooKeeper and a
 * Kafka broker of the world's own. Nothing is played by the test; files run in parallel without
 * seeing each other. `close()` tears everything down even after a failure, and `diagnose()`
 * prints what is needed to understand one (status, pods, Events, operator and pod logs).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { operatorUser } from '../../../../src/coordination/acl.js';
import { CoordinationLayout } from '../../../../src/coordination/layout.js';
import { ZooKeeperSession } from '../../../../src/coordination/session.js';
import { deleteTree } from '../../../../src/coordination/subtree.js';
import { digestAuth, generateCredential, type DigestCredential } from '../../../../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../../../../src/coordination/zookeeper/native-client.js';
import { ignoreNotFound, type KubeClient } from '../../../../src/kube/client.js';
import type { Event, Lease, Stored } from '../../../../src/kube/objects.js';
import type { KafkaServer } from '../../../../src/local/kafka-server.js';
import { ServerSet } from '../../../../src/local/server-set.js';
import { logTail } from '../../../../src/local/supervised-process.js';
import type { ZooKeeperEnsemble } from '../../../../src/local/zookeeper-ensemble.js';
import type { ZooKeeperServer } from '../../../../src/local/zookeeper-server.js';
import { createKafkajsClient, type KafkaClient } from '../../../../src/runtime/kafka/index.js';
import { adminKubeClient, createNamespace, deleteNamespace, startTestNodeAgent, uniqueSuffix, type TestNodeAgent } from '../../../harness/kube.js';
import { kafkaBrokers, zkConnect } from '../../../harness/servers.js';
import { Kubectl } from './kubectl.js';
import { OperatorProcess, leaseNamespace, writeCredentialsFile } from './operator-process.js';
import { isPodReady, WordcountJob, type JobWorld, type WordcountJobOptions } from './wordcount-job.js';
import { eventually } from './waiting.js';

export interface E2eWorldOptions {
  /** Short name of the scenario file; prefixes the namespace, ZooKeeper root and Lease. */
  readonly name: string;
  /** Operator replicas started with the world (default 1). All share one Lease. */
  readonly operators?: number;
  /**
   * `shared` (default): the harness's ZooKeeper and Kafka. `own`: a ZooKeeper server and a Kafka
   * broker started for this world alone (`servers`), which its scenarios may stop and restart
   * without disturbing the files running beside it. `own-ensemble`: the same with a 3-server
   * ZooKeeper ensemble (`ensemble`) instead of a standalone server.
   */
  readonly servers?: 'shared' | 'own' | 'own-ensemble';
}

/** The ZooKeeper and Kafka a world's operators, jobs and checks talk to. */
interface Endpoints {
  readonly zkConnect: string;
  readonly kafkaBrokers: readonly string[];
}

const logLines = { operator: 80, pod: 40, zookeeper: 40 } as const;

/** Status progress (last committed batch, lag) within seconds, not the operator's default 30 s. */
const progressRefreshPeriod = '2s';
const maxLineLength = 600;

function clip(text: string): string {
  return text
    .split('\n')
    .map((line) => (line.length > maxLineLength ? `${line.slice(0, maxLineLength)}…` : line))
    .join('\n');
}

export class E2eWorld implements JobWorld {
  readonly admin: KubeClient = adminKubeClient();
  readonly kubectl = new Kubectl();
  readonly kafka: KafkaClient;
  readonly zkRoot: string;
  readonly layout: CoordinationLayout;
  /** The Lease the world's operator replicas compete for, in `streamkeeper-system`. */
  readonly leaseName: string;
  /** The operator's ZooKeeper credential; its file is handed to every replica. */
  readonly operatorCredential: DigestCredential = generateCredential(operatorUser);
  /** Every replica started, including those stopped or killed since, in start order. */
  readonly operators: OperatorProcess[] = [];
  readonly jobs: WordcountJob[] = [];
  private readonly scratch: string;
  private readonly credentialsFile: string;
  private nodeAgentHandle: TestNodeAgent | undefined;
  private session: Promise<ZooKeeperSession> | undefined;
  private replicas = 0;

  readonly zkConnect: string;
  readonly kafkaBrokers: readonly string[];

  private constructor(
    readonly name: string,
    readonly namespace: string,
    endpoints: Endpoints,
    private readonly ownServers: ServerSet | undefined,
  ) {
    const suffix = uniqueSuffix();
    this.zkRoot = `/sk-e2e-${name}-${suffix}`;
    this.layout = new CoordinationLayout(this.zkRoot);
    this.leaseName = `sk-e2e-${name}-${suffix}`;
    this.zkConnect = endpoints.zkConnect;
    this.kafkaBrokers = endpoints.kafkaBrokers;
    this.kafka = createKafkajsClient({ brokers: [...this.kafkaBrokers], clientId: `e2e-${name}` });
    this.scratch = mkdtempSync(join(tmpdir(), `sk-e2e-${name}-`));
    this.credentialsFile = writeCredentialsFile(join(this.scratch, 'zookeeper-credentials'), this.operatorCredential);
  }

  /** Namespace, node agent and operator replicas; on failure, whatever started is torn down. */
  static async start(options: E2eWorldOptions): Promise<E2eWorld> {
    const servers = options.servers ?? 'shared';
    const own = servers === 'shared' ? undefined : await ServerSet.start({ zookeeperServers: servers === 'own-ensemble' ? 3 : 1 });
    let world: E2eWorld;
    try {
      const endpoints = own === undefined ? { zkConnect: zkConnect(), kafkaBrokers: kafkaBrokers() } : { zkConnect: own.zkConnect, kafkaBrokers: own.kafkaBrokers.split(',') };
      world = new E2eWorld(options.name, await createNamespace(`e2e-${options.name}`), endpoints, own);
    } catch (err) {
      await own?.destroy();
      throw err;
    }
    try {
      world.nodeAgentHandle = await startTestNodeAgent([world.namespace]);
      for (let i = 0; i < (options.operators ?? 1); i++) await world.startOperator();
    } catch (err) {
      await world.diagnose(`the world did not start: ${err instanceof Error ? err.message : String(err)}`);
      await world.close();
      throw err;
    }
    return world;
  }

  /** The world's own ZooKeeper server and Kafka broker, to stop and restart (`servers: 'own'`). */
  get servers(): { readonly zookeeper: ZooKeeperServer; readonly kafka: KafkaServer } {
    const zookeeper = this.ownServers?.zookeeper;
    const kafka = this.ownServers?.kafka;
    if (zookeeper === undefined || kafka === undefined) throw new Error(`the e2e world ${this.name} uses the shared servers; start it with servers: 'own' to stop them`);
    return { zookeeper, kafka };
  }

  /** The world's own ZooKeeper ensemble (`servers: 'own-ensemble'`). */
  get ensemble(): ZooKeeperEnsemble {
    const ensemble = this.ownServers?.ensemble;
    if (ensemble === undefined) throw new Error(`the e2e world ${this.name} has no ZooKeeper ensemble; start it with servers: 'own-ensemble'`);
    return ensemble;
  }

  get nodeAgent(): TestNodeAgent {
    if (this.nodeAgentHandle === undefined) throw new Error('the node agent is not running');
    return this.nodeAgentHandle;
  }

  /** Where the node agent writes container logs (`<namespace>_<pod>_<container>.log`). */
  get podLogDir(): string {
    return dirname(this.nodeAgent.agent.logFile(this.namespace, 'pod', 'container'));
  }

  // ------------------------------------------------------------------ the operator

  /** Starts one more replica (watching the world's namespace) and waits until it is ready. */
  async startOperator(identity = `${this.name}-operator-${this.replicas}`): Promise<OperatorProcess> {
    this.replicas += 1;
    const replica = await OperatorProcess.start({
      identity,
      namespaces: [this.namespace],
      zkRoot: this.zkRoot,
      zkConnect: this.zkConnect,
      credentialsFile: this.credentialsFile,
      leaseName: this.leaseName,
      progressRefreshPeriod,
      logFile: join(this.scratch, `operator-${this.replicas}-${identity}.log`),
    });
    this.operators.push(replica);
    return replica;
  }

  /** The replicas still running. */
  runningOperators(): OperatorProcess[] {
    return this.operators.filter((replica) => replica.running);
  }

  /**
   * Waits until exactly one running replica reports leadership (streamkeeper_leader 1) and the
   * Lease names it; returns it.
   */
  async leader(timeoutMs?: number): Promise<OperatorProcess> {
    return eventually(async () => {
      const leading: OperatorProcess[] = [];
      for (const replica of this.runningOperators()) if (await replica.isLeader()) leading.push(replica);
      const holder = (await this.lease())?.spec?.holderIdentity;
      const [only] = leading;
      if (leading.length !== 1 || only === undefined || only.identity !== holder) {
        throw new Error(`replicas leading: [${leading.map((r) => r.identity).join(', ')}]; Lease holder: ${holder ?? 'none'}`);
      }
      return only;
    }, 'one operator replica leading', timeoutMs);
  }

  /** The Lease of the world's operator replicas. */
  async lease(): Promise<Stored<Lease> | undefined> {
    return ignoreNotFound(this.admin.get('Lease', { namespace: leaseNamespace, name: this.leaseName }));
  }

  // ------------------------------------------------------------------ ZooKeeper

  /** A session with the operator's credential (opened once, closed by `close`). */
  zookeeper(): Promise<ZooKeeperSession> {
    this.session ??= ZooKeeperSession.open({
      connector: (options) => NativeZooKeeperClient.connect(options),
      connectString: this.zkConnect,
      sessionTimeoutMs: 10_000,
      auth: [digestAuth(this.operatorCredential)],
    });
    return this.session;
  }

  /**
   * Closes this test's own ZooKeeper session; the next `zookeeper()` opens a new one. For tests
   * that kill the member it may be connected to, so that what they examine is the job's
   * processes, not the test's reader. Before the addon's socket poll fix the reader could stay
   * "connecting" for good after a second election (docs/zookeeper.md, "Native client: sharp
   * edges"); with it the reader comes back by itself, and this is merely harmless.
   */
  async reopenZookeeper(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await (await session?.catch(() => undefined))?.close();
  }

  // ------------------------------------------------------------------ jobs

  /** Creates a wordcount job's topics; apply it with `job.apply()`. */
  async wordcountJob(name: string, options: WordcountJobOptions = {}): Promise<WordcountJob> {
    const job = await WordcountJob.prepare(this, name, options);
    this.jobs.push(job);
    return job;
  }

  /** Events in the world's namespace (events.k8s.io), oldest first; `regarding` filters by object name. */
  async events(regarding?: string): Promise<Stored<Event>[]> {
    const items = (await this.admin.list('Event', { namespace: this.namespace })).items;
    const at = (e: Stored<Event>): string => e.series?.lastObservedTime ?? e.eventTime;
    return items.filter((e) => regarding === undefined || e.regarding?.name === regarding).sort((a, b) => at(a).localeCompare(at(b)));
  }

  // ------------------------------------------------------------------ failures

  /** Prints the state of the world: jobs' status and pods, Events, operator and pod log tails. */
  async diagnose(reason: string): Promise<void> {
    const out: string[] = [`\n===== e2e ${this.name} (namespace ${this.namespace}, ZooKeeper root ${this.zkRoot}) failed: ${reason}`];
    const safely = async (what: string, read: () => Promise<string[]>): Promise<void> => {
      try {
        out.push(...(await read()));
      } catch (err) {
        out.push(`(${what} unavailable: ${err instanceof Error ? err.message : String(err)})`);
      }
    };
    for (const job of this.jobs) {
      await safely(`job ${job.name}`, async () => {
        const stored = await job.get();
        const pods = await job.pods({ includeTerminating: true });
        return [
          `----- job ${job.name}: generation ${String(stored?.metadata.generation)}, finalizers ${JSON.stringify(stored?.metadata.finalizers ?? [])}`,
          `status: ${JSON.stringify(stored?.status ?? 'job gone')}`,
          ...pods.all.map((pod) => {
            const container = pod.status?.containerStatuses?.[0];
            return `pod ${pod.metadata.name} uid ${pod.metadata.uid}: ${pod.status?.phase ?? '-'}${isPodReady(pod) ? ' ready' : ''}${pod.metadata.deletionTimestamp === undefined ? '' : ' terminating'} node ${pod.spec?.nodeName ?? '-'} restarts ${String(container?.restartCount ?? 0)} state ${JSON.stringify(container?.state ?? {})}`;
          }),
          `offsets in ZooKeeper: ${JSON.stringify((await job.committedOffsets()) ?? null)}`,
        ];
      });
    }
    await safely('Events', async () => {
      const events = await this.events();
      return ['----- Events', ...events.slice(-40).map((e) => `${e.type ?? ''} ${e.reason ?? ''} ${e.regarding?.name ?? ''}: ${e.note ?? ''}`)];
    });
    for (const replica of this.operators) {
      out.push(`----- operator ${replica.identity} (pid ${replica.pid}, ${replica.running ? 'running' : `exited ${JSON.stringify(replica.exitStatus)}`}): last ${logLines.operator} lines of ${replica.logFile}`, clip(replica.logTail(logLines.operator)));
    }
    const ensemble = this.ownServers?.ensemble;
    if (ensemble !== undefined) {
      const modes = await ensemble.modes();
      ensemble.members.forEach((member, i) => {
        out.push(`----- ZooKeeper member myid ${member.member?.id ?? '?'} (port ${member.port}, ${member.running ? `pid ${String(member.pid)}` : 'not running'}, ${modes[i] ?? '?'}): last ${logLines.zookeeper} lines of ${member.logFile}`, clip(logTail(member.logFile, logLines.zookeeper)));
      });
    }
    if (this.nodeAgentHandle !== undefined) {
      let files: string[] = [];
      try {
        files = readdirSync(this.podLogDir).sort();
      } catch {
        // no pod ran
      }
      for (const file of files) out.push(`----- pod log ${file}: last ${logLines.pod} lines`, clip(logTail(join(this.podLogDir, file), logLines.pod)));
    }
    process.stderr.write(`${out.join('\n')}\n===== end of e2e ${this.name} diagnosis\n`);
  }

  // ------------------------------------------------------------------ teardown

  /**
   * Stops everything the world started, each step independent of the others: inputs, operator
   * replicas, the node agent (and with it every pod process), then the namespace (finalizers of
   * jobs left behind removed, since no operator runs any more), the ZooKeeper root and the topics.
   */
  async close(): Promise<void> {
    const problems: string[] = [];
    const step = async (what: string, action: () => Promise<unknown>): Promise<void> => {
      try {
        await action();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    for (const job of this.jobs) await step(`closing job ${job.name}`, () => job.close());
    await step('stopping the operators', () => Promise.all(this.operators.map((replica) => replica.stop(5000))));
    await step('stopping the node agent', async () => {
      await this.nodeAgentHandle?.stop();
      this.nodeAgentHandle = undefined;
    });
    await step('releasing the jobs', async () => {
      for (const job of (await this.admin.list('StreamingJob', { namespace: this.namespace })).items) {
        if ((job.metadata.finalizers ?? []).length > 0) await ignoreNotFound(this.admin.patch('StreamingJob', { namespace: this.namespace, name: job.metadata.name }, { metadata: { finalizers: null } }));
      }
    });
    await step('removing the pods', async () => {
      for (const pod of (await this.admin.list('Pod', { namespace: this.namespace })).items) {
        await ignoreNotFound(this.admin.delete('Pod', { namespace: this.namespace, name: pod.metadata.name }, { gracePeriodSeconds: 0 }));
      }
    });
    await step('deleting the namespace', () => deleteNamespace(this.namespace));
    await step('deleting the Lease', () => ignoreNotFound(this.admin.delete('Lease', { namespace: leaseNamespace, name: this.leaseName })));
    if (this.ownServers === undefined) {
      await step('deleting the ZooKeeper root', async () => {
        const session = this.session;
        this.session = undefined;
        const zk = await (session ?? this.zookeeper());
        try {
          await deleteTree(zk, this.zkRoot);
        } finally {
          await zk.close();
          this.session = undefined;
        }
      });
      await step('deleting the topics', async () => {
        for (const job of this.jobs) {
          await this.kafka.admin.deleteTopic(job.sourceTopic);
          await this.kafka.admin.deleteTopic(job.sinkTopic);
        }
      });
    } else {
      // The root and the topics go with the world's own servers.
      await step('closing the ZooKeeper session', async () => {
        const session = this.session;
        this.session = undefined;
        await (await session)?.close();
      });
    }
    await step('closing Kafka', () => this.kafka.close());
    await step('stopping the world\'s own servers', async () => this.ownServers?.destroy());
    if (process.env.SK_KEEP_LOGS === undefined) rmSync(this.scratch, { recursive: true, force: true });
    else process.stderr.write(`e2e ${this.name}: operator logs kept in ${this.scratch}\n`);
    if (problems.length > 0) process.stderr.write(`e2e ${this.name}: teardown problems (the tests' results stand):\n  ${problems.join('\n  ')}\n`);
  }
}
