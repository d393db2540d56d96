/**
 * The local stand-in for a kubelet and a scheduler. It registers a Ready Node, binds pending pods
 * to it, and runs each container of the streamkeeper image as a local process of this checkout's
 * CLI (there is no container runtime), reporting pod status as a kubelet does. Pod deletion gets
 * SIGTERM, SIGKILL after the grace period, then removal with grace 0.
 *
 * Events (pod watch, process exits, probe changes) only queue the pod's key; one pass per pod at
 * a time re-reads the pod and acts, so nothing interleaves (the operator's controller machinery).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { isStreamkeeperError } from '../errors/index.js';
import { ignoreNotFound, type KubeClient } from '../kube/client.js';
import { objectKey, parseObjectKey, type ConfigMap, type Lease, type ObjectRef, type Pod, type Secret, type Stored } from '../kube/objects.js';
import { silentLogger, type Logger } from '../logging/logger.js';
import { Controller, type ReconcileResult } from '../machinery/controller.js';
import { Informer, listerWatcher } from '../machinery/informer.js';
import { packageRoot, streamkeeperVersion } from '../package-info.js';
import { containerArguments, containerEnvironment, envSources, imagePullMessage, isRunnableImage, unsupportedFeatures, type Container } from './pod-launch.js';
import { containerIdOf, podStatus, restartBackoffMs, restartPolicyOf, shouldRestart, statusChanged, terminatedReason, type ContainerRecord, type ContainerState, type Terminated } from './pod-status.js';
import { ReadinessProbe } from './readiness-probe.js';
import { SupervisedProcess, shellExitCode } from './supervised-process.js';

export const defaultNodeName = 'streamkeeper-local';

export interface NodeAgentOptions {
  /** Admin access: like a kubelet's node identity plus a scheduler's binding rights. */
  readonly client: KubeClient;
  readonly nodeName?: string;
  /** Schedule only pods in these namespaces (default: all). Pods bound to the node always run. */
  readonly namespaces?: readonly string[];
  /** Per-pod working directories go under `<workDir>/pods`. */
  readonly workDir: string;
  /** Container logs: `<logDir>/<namespace>_<pod>_<container>.log`. */
  readonly logDir: string;
  /** The CLI a container runs; default this checkout's bin/streamkeeper.js. */
  readonly cliPath?: string;
  /** Node.js to run it with; default the running one. */
  readonly nodeCommand?: string;
  /** Default 10 s (the kubelet's node lease renewal). */
  readonly leaseRenewMs?: number;
  /** Default 60 s. */
  readonly statusUpdateMs?: number;
  /** Passes run in parallel (never two for one pod). Default 4. */
  readonly workers?: number;
  /** On `stop()`, how long pod processes get after SIGTERM. Default 5 s. */
  readonly stopGraceMs?: number;
  readonly logger?: Logger;
}

/** The local address: every pod and the node share loopback. */
const localIP = '127.0.0.1';
const imagePullBackoffMs = 5000;
const configRetryMs = 2000;

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/** The container log file name, as the kubelet names them under /var/log/containers. */
export function containerLogName(namespace: string, pod: string, container: string): string {
  return `${namespace}_${pod}_${container}.log`;
}

interface ContainerRuntime {
  readonly spec: Container;
  state: ContainerState;
  lastTerminated: Terminated | undefined;
  restartCount: number;
  starts: number;
  containerID: string | undefined;
  process: SupervisedProcess | undefined;
  probe: ReadinessProbe | undefined;
  /** When a crashed container may start again. */
  restartAt: number | undefined;
  pullFailedAt: number | undefined;
}

interface PodRuntime {
  readonly uid: string;
  readonly ref: ObjectRef;
  readonly dir: string;
  readonly startTime: string;
  readonly containers: Map<string, ContainerRuntime>;
  /** SIGTERM was sent (deletion); SIGKILL follows at killAt. */
  terminating: boolean;
  killAt: number;
  /** The grace period the deletion asked for (a later delete may shorten it). */
  deletionGraceSeconds: number;
  gracePeriodMs: number;
}

export class NodeAgent {
  readonly nodeName: string;
  private readonly client: KubeClient;
  private readonly logger: Logger;
  private readonly namespaces: ReadonlySet<string> | undefined;
  private readonly cliPath: string;
  private readonly nodeCommand: string;
  private readonly pods = new Map<string, PodRuntime>();
  private readonly informer: Informer<Pod>;
  private readonly controller: Controller;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastStatusUpdate = 0;
  private readonly registeredAt = Date.now();
  private stopped = false;

  private constructor(private readonly options: NodeAgentOptions) {
    this.nodeName = options.nodeName ?? defaultNodeName;
    this.client = options.client;
    this.logger = (options.logger ?? silentLogger()).child({ node: this.nodeName });
    this.namespaces = options.namespaces === undefined ? undefined : new Set(options.namespaces);
    this.cliPath = options.cliPath ?? join(packageRoot, 'bin', 'streamkeeper.js');
    this.nodeCommand = options.nodeCommand ?? process.execPath;
    mkdirSync(join(options.workDir, 'pods'), { recursive: true });
    mkdirSync(options.logDir, { recursive: true });
    this.informer = new Informer<Pod>({ name: `pods@${this.nodeName}`, listerWatcher: listerWatcher(this.client, 'Pod'), logger: this.logger });
    this.controller = new Controller({
      name: `node-agent-${this.nodeName}`,
      workers: options.workers ?? 4,
      logger: this.logger,
      reconciler: { reconcile: (key) => this.sync(key) },
    });
  }

  /** Registers the Node, starts its heartbeat, and starts running the pods bound to it. */
  static async start(options: NodeAgentOptions): Promise<NodeAgent> {
    const agent = new NodeAgent(options);
    await agent.registerNode();
    agent.startHeartbeat();
    agent.informer.addHandler({
      onAdd: (pod) => {
        agent.notice(pod);
      },
      onUpdate: (_previous, pod) => {
        agent.notice(pod);
      },
      onDelete: (pod) => {
        agent.notice(pod);
      },
    });
    agent.informer.start();
    agent.controller.start();
    await agent.informer.waitForSync();
    return agent;
  }

  /** Where a container's output goes. */
  logFile(namespace: string, pod: string, container: string): string {
    return join(this.options.logDir, containerLogName(namespace, pod, container));
  }

  /** Stops watching and kills every pod process (SIGTERM, then SIGKILL); API objects stay. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.informer.stop();
    await this.controller.stop(5000);
    const grace = this.options.stopGraceMs ?? 5000;
    await Promise.all(
      [...this.pods.values()].map(async (runtime) => {
        await this.killContainers(runtime, Math.min(grace, runtime.gracePeriodMs));
        rmSync(runtime.dir, { recursive: true, force: true });
      }),
    );
    this.pods.clear();
  }

  // ------------------------------------------------------------------ events → keys ----

  private notice(pod: Stored<Pod>): void {
    const key = objectKey({ namespace: pod.metadata.namespace ?? '', name: pod.metadata.name });
    const nodeName = pod.spec?.nodeName ?? '';
    if (nodeName === this.nodeName || this.pods.has(key) || (nodeName === '' && this.schedules(pod))) this.controller.queue.add(key);
  }

  /** Whether this agent is the scheduler for an unbound pod. */
  private schedules(pod: Pod): boolean {
    const namespace = pod.metadata?.namespace ?? '';
    const scheduler = pod.spec?.schedulerName;
    return (this.namespaces === undefined || this.namespaces.has(namespace)) && (scheduler === undefined || scheduler === '' || scheduler === 'default-scheduler');
  }

  // ------------------------------------------------------------------ the pass ----

  private async sync(key: string): Promise<ReconcileResult | undefined> {
    if (this.stopped) return undefined;
    const ref = parseObjectKey(key);
    const pod = await ignoreNotFound(this.client.get('Pod', ref));
    const runtime = this.pods.get(key);
    if (runtime !== undefined && (pod === undefined || pod.metadata.uid !== runtime.uid || pod.spec?.nodeName !== this.nodeName)) {
      // Removed from the API (or replaced by a new pod of the same name): stop what ran.
      await this.killContainers(runtime, 2000);
      this.forget(key, runtime);
    }
    if (pod === undefined) return undefined;
    const nodeName = pod.spec?.nodeName ?? '';
    if (nodeName === '') return this.schedule(pod);
    if (nodeName !== this.nodeName) return undefined;
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && !this.pods.has(key)) {
      // Finished before this agent started (or after its processes were accounted for).
      if (pod.metadata.deletionTimestamp !== undefined) await this.remove(pod);
      return undefined;
    }
    const current = this.pods.get(key) ?? this.adopt(key, pod);
    if (pod.metadata.deletionTimestamp !== undefined) return this.terminate(pod, current);
    return this.run(pod, current);
  }

  /** Binds an unscheduled pod to this node, or records why it cannot go here. */
  private async schedule(pod: Stored<Pod>): Promise<ReconcileResult | undefined> {
    if (!this.schedules(pod) || pod.metadata.deletionTimestamp !== undefined) return undefined;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return undefined;
    const ref = { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name };
    const selector = pod.spec?.nodeSelector ?? {};
    const labels = this.nodeLabels();
    const mismatch = Object.entries(selector).filter(([k, v]) => labels[k] !== v);
    if (mismatch.length > 0) {
      const message = `0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector (${mismatch.map(([k, v]) => `${k}=${v}`).join(', ')}).`;
      const existing = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
      if (existing?.status !== 'False' || existing.message !== message) {
        const others = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
        await this.client.patchStatus('Pod', ref, { status: { conditions: [...others, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastTransitionTime: rfc3339(Date.now()) }] } }, { resourceVersion: pod.metadata.resourceVersion });
      }
      return undefined;
    }
    try {
      await this.client.bindPod(ref, this.nodeName, { uid: pod.metadata.uid });
      this.logger.info({ pod: objectKey(ref) }, 'bound pod to node');
    } catch (err) {
      // Someone else bound it, or it is going away: the next event says which.
      if (!isStreamkeeperError(err, 'SK_KUBE_CONFLICT') && !isStreamkeeperError(err, 'SK_KUBE_NOT_FOUND')) throw err;
    }
    return undefined;
  }

  private adopt(key: string, pod: Stored<Pod>): PodRuntime {
    const ref = { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name };
    const dir = join(this.options.workDir, 'pods', `${ref.namespace}_${ref.name}_${pod.metadata.uid}`);
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    const containers = new Map<string, ContainerRuntime>();
    for (const spec of pod.spec?.containers ?? []) {
      const previous = pod.status?.containerStatuses?.find((status) => status.name === spec.name);
      containers.set(spec.name, {
        spec,
        state: { kind: 'waiting', reason: 'ContainerCreating' },
        lastTerminated: undefined,
        restartCount: previous?.restartCount ?? 0,
        starts: 0,
        containerID: undefined,
        process: undefined,
        probe: undefined,
        restartAt: undefined,
        pullFailedAt: undefined,
      });
    }
    const runtime: PodRuntime = {
      uid: pod.metadata.uid,
      ref,
      dir,
      startTime: pod.status?.startTime ?? rfc3339(Date.now()),
      containers,
      terminating: false,
      killAt: 0,
      deletionGraceSeconds: Infinity,
      gracePeriodMs: Math.max(0, pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
    };
    this.pods.set(key, runtime);
    return runtime;
  }

  /** Starts, restarts and accounts for containers, then reports status. */
  private async run(pod: Stored<Pod>, runtime: PodRuntime): Promise<ReconcileResult | undefined> {
    const now = Date.now();
    const policy = restartPolicyOf(pod);
    let wakeAt = Infinity;
    for (const container of runtime.containers.values()) {
      this.account(container, policy, now);
      if (container.process !== undefined) continue;
      if (container.state.kind === 'terminated') continue;
      if (container.restartAt !== undefined && container.restartAt > now) {
        wakeAt = Math.min(wakeAt, container.restartAt);
        continue;
      }
      const retryAt = await this.startContainer(pod, runtime, container, now);
      if (retryAt !== undefined) wakeAt = Math.min(wakeAt, retryAt);
    }
    await this.reportStatus(pod, runtime);
    return Number.isFinite(wakeAt) ? { requeueAfterMs: Math.max(10, wakeAt - Date.now()) } : undefined;
  }

  /** Turns a process that has exited into a terminated state, and decides on a restart. */
  private account(container: ContainerRuntime, policy: 'Always' | 'OnFailure' | 'Never', now: number): void {
    const status = container.process?.exitStatus;
    if (container.process === undefined || status === undefined) return;
    container.probe?.stop();
    container.probe = undefined;
    container.process = undefined;
    const exitCode = shellExitCode(status);
    const startedAt = container.state.kind === 'running' ? container.state.startedAt : rfc3339(now);
    const terminated: Terminated = {
      exitCode,
      reason: terminatedReason(exitCode),
      startedAt,
      finishedAt: rfc3339(now),
      ...(container.containerID === undefined ? {} : { containerID: container.containerID }),
    };
    if (shouldRestart(policy, exitCode)) {
      const delay = restartBackoffMs(container.restartCount);
      container.lastTerminated = terminated;
      container.restartAt = now + delay;
      container.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${container.spec.name}` };
    } else {
      container.state = { kind: 'terminated', ...terminated };
    }
  }

  /** Starts a container's process; returns when to try again if it could not start. */
  private async startContainer(pod: Stored<Pod>, runtime: PodRuntime, container: ContainerRuntime, now: number): Promise<number | undefined> {
    const spec = container.spec;
    if (!isRunnableImage(spec.image)) {
      // ErrImagePull first, ImagePullBackOff after a while, as a kubelet reports a failed pull.
      container.pullFailedAt ??= now;
      const backOffAt = container.pullFailedAt + imagePullBackoffMs;
      container.state = now < backOffAt ? { kind: 'waiting', reason: 'ErrImagePull', message: imagePullMessage(spec.image) } : { kind: 'waiting', reason: 'ImagePullBackOff', message: `Back-off pulling image "${spec.image ?? ''}": ${imagePullMessage(spec.image)}` };
      return now < backOffAt ? backOffAt : undefined;
    }
    const unsupported = unsupportedFeatures(pod.spec ?? { containers: [] }, spec);
    if (unsupported !== undefined) {
      container.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: unsupported };
      return undefined;
    }
    const environment = containerEnvironment(spec, { pod, podIP: localIP, hostIP: localIP, ...(await this.envObjects(pod, spec)) });
    if ('error' in environment) {
      container.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: environment.error };
      return now + configRetryMs;
    }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: runtime.dir,
      TMPDIR: join(runtime.dir, 'tmp'),
      HOSTNAME: pod.metadata.name,
      ...environment.env,
    };
    const command = containerArguments(spec, env);
    if ('error' in command) {
      container.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: command.error };
      return undefined;
    }
    const key = objectKey(runtime.ref);
    let child: SupervisedProcess;
    try {
      child = SupervisedProcess.start({
        name: `pod ${key} container ${spec.name}`,
        command: this.nodeCommand,
        args: [this.cliPath, ...command.args],
        logFile: this.logFile(runtime.ref.namespace ?? '', runtime.ref.name, spec.name),
        truncateLog: container.starts === 0,
        cwd: runtime.dir,
        env,
      });
    } catch (err) {
      container.state = { kind: 'waiting', reason: 'RunContainerError', message: err instanceof Error ? err.message : String(err) };
      return now + configRetryMs;
    }
    if (container.starts > 0 || container.lastTerminated !== undefined) container.restartCount++;
    container.starts++;
    container.process = child;
    container.restartAt = undefined;
    container.containerID = containerIdOf(child.pid);
    container.state = { kind: 'running', startedAt: rfc3339(now) };
    this.logger.info({ pod: key, container: spec.name, pid: child.pid, args: command.args }, 'started container');
    void child.whenExited().then(() => {
      if (!this.stopped) this.controller.queue.add(key);
    });
    if (spec.readinessProbe !== undefined) {
      container.probe = new ReadinessProbe(spec.readinessProbe, spec, localIP, () => {
        if (!this.stopped) this.controller.queue.add(key);
      });
      container.probe.start();
    }
    return undefined;
  }

  /** The Secrets and ConfigMaps a container's environment refers to (null when absent). */
  private async envObjects(pod: Stored<Pod>, spec: Container): Promise<{ secrets: Map<string, Secret | null>; configMaps: Map<string, ConfigMap | null> }> {
    const namespace = pod.metadata.namespace ?? '';
    const { secrets, configMaps } = envSources(spec);
    const secretEntries = await Promise.all(secrets.map(async (name) => [name, (await ignoreNotFound(this.client.get('Secret', { namespace, name }))) ?? null] as const));
    const configMapEntries = await Promise.all(configMaps.map(async (name) => [name, (await ignoreNotFound(this.client.get('ConfigMap', { namespace, name }))) ?? null] as const));
    return { secrets: new Map(secretEntries), configMaps: new Map(configMapEntries) };
  }

  /** Deletion: SIGTERM, SIGKILL once the grace period is over, then remove the pod. */
  private async terminate(pod: Stored<Pod>, runtime: PodRuntime): Promise<ReconcileResult | undefined> {
    const now = Date.now();
    const graceSeconds = Math.max(0, pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    if (!runtime.terminating) {
      runtime.terminating = true;
      runtime.killAt = now + graceSeconds * 1000;
      runtime.deletionGraceSeconds = graceSeconds;
      for (const container of runtime.containers.values()) {
        container.restartAt = undefined;
        container.process?.signal('SIGTERM');
      }
      this.logger.info({ pod: objectKey(runtime.ref), graceSeconds }, 'pod deleted: sent SIGTERM');
    } else if (graceSeconds < runtime.deletionGraceSeconds) {
      // Deleted again with a shorter grace period: it counts from now, as the kubelet does.
      runtime.deletionGraceSeconds = graceSeconds;
      runtime.killAt = Math.min(runtime.killAt, now + graceSeconds * 1000);
    }
    for (const container of runtime.containers.values()) this.account(container, 'Never', now);
    const running = [...runtime.containers.values()].filter((c) => c.process !== undefined);
    if (running.length > 0) {
      if (now >= runtime.killAt) {
        for (const container of running) container.process?.signal('SIGKILL');
        this.logger.info({ pod: objectKey(runtime.ref) }, 'grace period over: sent SIGKILL');
        return { requeueAfterMs: 1000 };
      }
      return { requeueAfterMs: Math.max(10, runtime.killAt - now) };
    }
    // Nothing runs any more: containers that never ran or were waiting to restart end here too.
    for (const container of runtime.containers.values()) {
      if (container.state.kind === 'waiting') {
        const last = container.lastTerminated;
        container.state = last === undefined ? { kind: 'terminated', exitCode: 0, reason: 'ContainerStatusUnknown', message: 'The container never ran: the pod was deleted', startedAt: rfc3339(now), finishedAt: rfc3339(now) } : { kind: 'terminated', ...last };
      }
    }
    await this.reportStatus(pod, runtime).catch((err: unknown) => {
      this.logger.debug({ err: String(err) }, 'final status not written');
    });
    await this.remove(pod);
    this.forget(objectKey(runtime.ref), runtime);
    return undefined;
  }

  /** What the kubelet does last: delete with grace 0, for this incarnation only. */
  private async remove(pod: Stored<Pod>): Promise<void> {
    const ref = { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name };
    try {
      await this.client.delete('Pod', ref, { gracePeriodSeconds: 0, uid: pod.metadata.uid });
      this.logger.info({ pod: objectKey(ref) }, 'pod removed');
    } catch (err) {
      if (!isStreamkeeperError(err, 'SK_KUBE_NOT_FOUND') && !isStreamkeeperError(err, 'SK_KUBE_CONFLICT')) throw err;
    }
  }

  private async reportStatus(pod: Stored<Pod>, runtime: PodRuntime): Promise<void> {
    const records: ContainerRecord[] = (pod.spec?.containers ?? []).flatMap((spec) => {
      const container = runtime.containers.get(spec.name);
      if (container === undefined) return [];
      const ready = container.state.kind === 'running' && (container.probe === undefined ? true : container.probe.isReady);
      return [
        {
          name: spec.name,
          image: spec.image ?? '',
          ...(container.containerID === undefined ? {} : { containerID: container.containerID }),
          state: container.state,
          ...(container.lastTerminated === undefined ? {} : { lastTerminated: container.lastTerminated }),
          restartCount: container.restartCount,
          ready,
        },
      ];
    });
    const status = podStatus({ pod, records, now: rfc3339(Date.now()), hostIP: localIP, podIP: localIP, startTime: runtime.startTime });
    if (!statusChanged(pod.status, status)) return;
    await this.client.patchStatus('Pod', runtime.ref, { status }, { resourceVersion: pod.metadata.resourceVersion });
  }

  /** SIGTERM to every process of the pod, SIGKILL after `graceMs`; resolves when all are gone. */
  private async killContainers(runtime: PodRuntime, graceMs: number): Promise<void> {
    await Promise.all(
      [...runtime.containers.values()].map(async (container) => {
        container.probe?.stop();
        await container.process?.stop(graceMs);
      }),
    );
  }

  private forget(key: string, runtime: PodRuntime): void {
    for (const container of runtime.containers.values()) container.probe?.stop();
    if (this.pods.get(key) === runtime) this.pods.delete(key);
    rmSync(runtime.dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ the Node ----

  private nodeLabels(): Record<string, string> {
    return {
      'kubernetes.io/hostname': this.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      'node.kubernetes.io/instance-type': 'streamkeeper-local',
      'streamkeeper.io/local-node': 'true',
    };
  }

  private nodeStatus(now: number): Record<string, unknown> {
    const heartbeat = rfc3339(now);
    const since = rfc3339(this.registeredAt);
    const condition = (type: string, status: string, reason: string, message: string): Record<string, string> => ({ type, status, reason, message, lastHeartbeatTime: heartbeat, lastTransitionTime: since });
    const resources = { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: '110', 'ephemeral-storage': '100Gi' };
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'the local node agent does not measure memory pressure'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'the local node agent does not measure disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'the local node agent does not measure PID pressure'),
        condition('Ready', 'True', 'KubeletReady', 'streamkeeper local node agent is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: localIP },
        { type: 'Hostname', address: hostname() },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 0 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: release(),
        osImage: 'streamkeeper local node agent',
        containerRuntimeVersion: `streamkeeper-local://${streamkeeperVersion()}`,
        kubeletVersion: `v${streamkeeperVersion()}-streamkeeper-local`,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      },
    };
  }

  private async registerNode(): Promise<void> {
    const ref = { name: this.nodeName };
    const existing = await ignoreNotFound(this.client.get('Node', ref));
    if (existing === undefined) {
      await this.client.create('Node', { metadata: { name: this.nodeName, labels: this.nodeLabels() }, spec: {} });
    } else {
      await this.client.patch('Node', ref, { metadata: { labels: this.nodeLabels() }, spec: { unschedulable: null, taints: null } });
    }
    await this.updateNodeStatus();
    await this.renewLease().catch((err: unknown) => {
      this.logger.debug({ err: String(err) }, 'node lease not written yet');
    });
  }

  private async updateNodeStatus(): Promise<void> {
    const now = Date.now();
    await this.client.patchStatus('Node', { name: this.nodeName }, { status: this.nodeStatus(now) });
    this.lastStatusUpdate = now;
  }

  /** The kubelet's heartbeat: a Lease in kube-node-lease, owned by the Node. */
  private async renewLease(): Promise<void> {
    const ref = { namespace: 'kube-node-lease', name: this.nodeName };
    const now = microTime(Date.now());
    const lease = await ignoreNotFound(this.client.get('Lease', ref));
    if (lease === undefined) {
      const node = await this.client.get('Node', { name: this.nodeName });
      const created: Lease = {
        metadata: { ...ref, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: node.metadata.uid }] },
        spec: { holderIdentity: this.nodeName, leaseDurationSeconds: 40, renewTime: now },
      };
      await this.client.create('Lease', created);
      return;
    }
    await this.client.update('Lease', { ...lease, spec: { ...lease.spec, holderIdentity: this.nodeName, renewTime: now } });
  }

  private startHeartbeat(): void {
    const renewMs = this.options.leaseRenewMs ?? 10_000;
    const statusMs = this.options.statusUpdateMs ?? 60_000;
    this.heartbeat = setInterval(() => {
      void (async () => {
        try {
          await this.renewLease();
          if (Date.now() - this.lastStatusUpdate >= statusMs) await this.updateNodeStatus();
        } catch (err) {
          if (!this.stopped) this.logger.warn({ err: String(err) }, 'node heartbeat failed; retrying');
        }
      })();
    }, renewMs);
    this.heartbeat.unref();
  }
}
