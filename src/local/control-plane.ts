/**
 * A real Kubernetes control plane as local processes on loopback — etcd, kube-apiserver and
 * kube-controller-manager — for integration tests and `streamkeeper local`. The flags and their
 * reasons are in docs/control-plane.md (tools/kube/smoke.sh is the same sequence in bash).
 * kube-scheduler starts when asked (a real node needs it); without it, the node agent
 * (node-agent.ts) binds pods itself.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { StreamkeeperError } from '../errors/index.js';
import { freePorts } from './free-port.js';
import { kubeBinaries, type KubeBinaries } from './kube-binaries.js';
import { KubeRest, type ManifestObject } from './kube-rest.js';
import { writeOperatorKubeconfig } from './operator-access.js';
import { base64File, createControlPlanePki, writeKubeconfig, type ControlPlanePki } from './pki.js';
import { SupervisedProcess, logTail } from './supervised-process.js';
import { httpOk, httpsOk } from './http-probe.js';

/** The controllers the local cluster needs (docs/control-plane.md says why each, and why not others). */
export const defaultControllers: readonly string[] = [
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'root-ca-certificate-publisher-controller',
  'deployment-controller',
  'replicaset-controller',
  'job-controller',
];

export interface ControlPlaneOptions {
  /** Defaults to a fresh temporary directory, removed by `destroy()`. */
  readonly baseDir?: string;
  /** Keep the processes running after this Node process exits. */
  readonly detached?: boolean;
  /** CRD manifest files, applied (and Established) before kube-controller-manager starts. */
  readonly crds?: readonly string[];
  /**
   * kube-apiserver's watch cache (default on, as in production). Off, every read and watch goes
   * to etcd, so compacting etcd makes old resourceVersions Gone (what the 410 tests need).
   */
  readonly watchCache?: boolean;
  readonly controllers?: readonly string[];
  /** Start kube-scheduler too (default false: the node agent binds its own pods). */
  readonly scheduler?: boolean;
  /** Default: whatever tools/kube/install.sh provides. */
  readonly binaries?: KubeBinaries;
}

/** How long each start-up step took, in milliseconds (bench/ and `local up` print them). */
export interface ControlPlaneTimings {
  certificates: number;
  etcd: number;
  apiserver: number;
  crds: number;
  controllerManager: number;
  scheduler: number;
  total: number;
}

export interface ComponentInfo {
  readonly name: string;
  readonly pid: number;
  readonly running: boolean;
  readonly logFile: string;
  /** What answers when it is healthy. */
  readonly endpoint: string;
}

const startAttempts = 3;


/** The objects in a (possibly multi-document) YAML file. */
export function readManifestFile(file: string): ManifestObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((document) => {
    if (document.errors.length > 0) throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${file}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
    const object = document.toJS() as ManifestObject | null;
    return object === null ? [] : [object];
  });
}

export class ControlPlane {
  readonly timings: ControlPlaneTimings = { certificates: 0, etcd: 0, apiserver: 0, crds: 0, controllerManager: 0, scheduler: 0, total: 0 };
  private etcd: SupervisedProcess | undefined;
  private apiserver: SupervisedProcess | undefined;
  private controllerManager: SupervisedProcess | undefined;
  private scheduler: SupervisedProcess | undefined;
  private pkiFiles: ControlPlanePki | undefined;
  private etcdPort = 0;
  private apiPort = 0;
  private controllerManagerPort = 0;
  private schedulerPort = 0;
  private stopped = false;

  private constructor(
    readonly baseDir: string,
    private readonly ownsBaseDir: boolean,
    private readonly options: ControlPlaneOptions,
    readonly binaries: KubeBinaries,
  ) {}

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binaries = options.binaries ?? kubeBinaries();
    const baseDir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'sk-kube-'));
    mkdirSync(join(baseDir, 'logs'), { recursive: true });
    const plane = new ControlPlane(baseDir, options.baseDir === undefined, options, binaries);
    try {
      await plane.startAll();
    } catch (err) {
      await plane.destroy(); // never leave a half-started control plane behind
      throw err;
    }
    return plane;
  }

  /** `https://127.0.0.1:<port>` */
  get server(): string {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  /** etcd's client URL (tests compact it to expire resourceVersions). */
  get etcdEndpoint(): string {
    return `http://127.0.0.1:${this.etcdPort}`;
  }

  /** A kubeconfig for `streamkeeper-admin` in group system:masters (bypasses RBAC). */
  get adminKubeconfig(): string {
    return join(this.baseDir, 'admin.kubeconfig');
  }

  get kubectl(): string {
    return this.binaries.kubectl;
  }

  get pki(): ControlPlanePki {
    if (this.pkiFiles === undefined) throw new Error('the control plane has not made its certificates yet');
    return this.pkiFiles;
  }

  /** REST access as the admin, for what KubeClient does not cover (RBAC, CRDs, tokens). */
  adminRest(): KubeRest {
    return KubeRest.fromFile(this.adminKubeconfig);
  }

  components(): ComponentInfo[] {
    const entries: [string, SupervisedProcess | undefined, string][] = [
      ['etcd', this.etcd, `${this.etcdEndpoint}/health`],
      ['kube-apiserver', this.apiserver, `${this.server}/readyz`],
      ['kube-controller-manager', this.controllerManager, `https://127.0.0.1:${this.controllerManagerPort}/healthz`],
      ['kube-scheduler', this.scheduler, `https://127.0.0.1:${this.schedulerPort}/healthz`],
    ];
    return entries.flatMap(([name, process, endpoint]) => (process === undefined ? [] : [{ name, pid: process.pid, running: process.running, logFile: process.logFile, endpoint }]));
  }

  /**
   * Creates the operator's namespace, ServiceAccount and RBAC exactly as manifests/install.yaml
   * defines them, and writes a kubeconfig for that ServiceAccount (default namespace
   * `namespace`, else the operator's own). Returns the kubeconfig's path.
   */
  async operatorKubeconfig(namespace?: string, file = join(this.baseDir, 'operator.kubeconfig')): Promise<string> {
    await writeOperatorKubeconfig(this.adminRest(), { file, ...(namespace === undefined ? {} : { namespace }) });
    return file;
  }

  /** Stops the processes (controller-manager, apiserver, etcd), keeping the directory. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const process of [this.scheduler, this.controllerManager, this.apiserver, this.etcd]) await process?.stop();
  }

  /** Stops everything and removes the directory, if this control plane created it. */
  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownsBaseDir) rmSync(this.baseDir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ start-up ----

  private async startAll(): Promise<void> {
    const started = Date.now();
    const since = (t: number): number => Date.now() - t;
    // etcd needs no certificates (plain HTTP on loopback), so it starts while they are made.
    const [pki] = await Promise.all([
      createControlPlanePki(join(this.baseDir, 'pki')).then((made) => {
        this.timings.certificates = since(started);
        return made;
      }),
      this.startEtcd().then(() => {
        this.timings.etcd = since(started);
      }),
    ]);
    this.pkiFiles = pki;
    await this.startApiserver(pki);
    this.timings.apiserver = since(started);
    const crdsStarted = Date.now();
    await this.applyCrds();
    this.timings.crds = since(crdsStarted);
    await this.startControllerManager(pki);
    this.timings.controllerManager = since(started);
    if (this.options.scheduler === true) {
      await this.startScheduler(pki);
      this.timings.scheduler = since(started);
    }
    this.timings.total = since(started);
  }

  /**
   * Starts a component, choosing fresh ports again when it lost the race for one (another
   * process bound the port between our check and its bind).
   */
  private async startWithRetry(name: string, start: () => Promise<SupervisedProcess>): Promise<SupervisedProcess> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new StreamkeeperError('SK_SERVER_START_FAILED', `${name}: the control plane was stopped while starting`);
      try {
        return await start();
      } catch (err) {
        const lostPort = logTail(this.logFile(name), 50).includes('address already in use');
        if (!lostPort || attempt >= startAttempts) throw err;
      }
    }
  }

  private logFile(name: string): string {
    return join(this.baseDir, 'logs', `${name}.log`);
  }

  private spawn(name: string, command: string, args: readonly string[]): SupervisedProcess {
    return SupervisedProcess.start({
      name,
      command,
      args,
      logFile: this.logFile(name),
      truncateLog: true,
      ...(this.options.detached === undefined ? {} : { detached: this.options.detached }),
    });
  }

  private async startEtcd(): Promise<void> {
    const dataDir = join(this.baseDir, 'etcd');
    this.etcd = await this.startWithRetry('etcd', async () => {
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const [client, peer] = await freePorts(2);
      this.etcdPort = client ?? 0;
      const peerUrl = `http://127.0.0.1:${peer ?? 0}`;
      const process = this.spawn('etcd', this.binaries.etcd, [
        '--name=streamkeeper',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${this.etcdEndpoint}`,
        `--advertise-client-urls=${this.etcdEndpoint}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=streamkeeper=${peerUrl}`,
        '--initial-cluster-state=new',
        '--unsafe-no-fsync=true',
        '--watch-progress-notify-interval=5s',
        '--log-level=warn',
      ]);
      this.etcd = process;
      await this.waitOrStop(process, () => httpOk(`${this.etcdEndpoint}/health`), 30_000, 'healthy');
      return process;
    });
  }

  private async startApiserver(pki: ControlPlanePki): Promise<void> {
    this.apiserver = await this.startWithRetry('kube-apiserver', async () => {
      const [port] = await freePorts(1);
      this.apiPort = port ?? 0;
      writeKubeconfig(this.adminKubeconfig, { server: this.server, certificateAuthorityData: base64File(pki.ca.cert), user: 'streamkeeper-admin', credentials: { clientCertificate: pki.admin } });
      const process = this.spawn('kube-apiserver', this.binaries.kubeApiserver, [
        `--etcd-servers=${this.etcdEndpoint}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${this.apiPort}`,
        `--tls-cert-file=${pki.apiserver.cert}`,
        `--tls-private-key-file=${pki.apiserver.key}`,
        `--client-ca-file=${pki.ca.cert}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccountPublicKey}`,
        `--service-account-signing-key-file=${pki.serviceAccountKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--endpoint-reconciler-type=none',
        // Logs and exec go to the kubelet at its InternalIP (a node name resolves nowhere here),
        // over TLS both ways.
        `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
        `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
        `--kubelet-certificate-authority=${pki.ca.cert}`,
        '--kubelet-preferred-address-types=InternalIP',
        ...(this.options.watchCache === false ? ['--watch-cache=false'] : []),
      ]);
      this.apiserver = process;
      const admin = this.adminRest();
      await this.waitOrStop(process, () => admin.healthy('/readyz'), 90_000, 'ready (/readyz)');
      return process;
    });
  }

  private async applyCrds(): Promise<void> {
    const admin = this.adminRest();
    const names: string[] = [];
    for (const file of this.options.crds ?? []) {
      for (const object of readManifestFile(file)) {
        if (object.kind !== 'CustomResourceDefinition') throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `${file}: expected only CustomResourceDefinitions, found a ${object.kind}`);
        await admin.apply(object);
        names.push(object.metadata.name);
      }
    }
    await Promise.all(names.map((name) => admin.waitForCrdEstablished(name)));
  }

  private async startControllerManager(pki: ControlPlanePki): Promise<void> {
    const kubeconfig = join(this.baseDir, 'controller-manager.kubeconfig');
    writeKubeconfig(kubeconfig, { server: this.server, certificateAuthorityData: base64File(pki.ca.cert), user: 'system:kube-controller-manager', credentials: { clientCertificate: pki.controllerManager } });
    const ca = readFileSync(pki.ca.cert, 'utf8');
    this.controllerManager = await this.startWithRetry('kube-controller-manager', async () => {
      const [port] = await freePorts(1);
      this.controllerManagerPort = port ?? 0;
      const process = this.spawn('kube-controller-manager', this.binaries.kubeControllerManager, [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--authentication-skip-lookup=true',
        '--bind-address=127.0.0.1',
        `--secure-port=${this.controllerManagerPort}`,
        `--tls-cert-file=${pki.controllerManagerServing.cert}`,
        `--tls-private-key-file=${pki.controllerManagerServing.key}`,
        `--controllers=${this.controllerNames().join(',')}`,
        '--use-service-account-credentials=true',
        `--root-ca-file=${pki.ca.cert}`,
        '--leader-elect=false',
      ]);
      this.controllerManager = process;
      await this.waitOrStop(process, () => httpsOk(`https://127.0.0.1:${this.controllerManagerPort}/healthz`, ca), 60_000, 'healthy (/healthz)');
      return process;
    });
  }

  /**
   * A kubelet registers its Node tainted not-ready; only the node lifecycle controller lifts the
   * taint once the Node is Ready, so the scheduler can place pods there.
   */
  private controllerNames(): readonly string[] {
    const names = this.options.controllers ?? defaultControllers;
    return this.options.scheduler === true && !names.includes('node-lifecycle-controller') ? [...names, 'node-lifecycle-controller'] : names;
  }

  private async startScheduler(pki: ControlPlanePki): Promise<void> {
    const kubeconfig = join(this.baseDir, 'scheduler.kubeconfig');
    writeKubeconfig(kubeconfig, { server: this.server, certificateAuthorityData: base64File(pki.ca.cert), user: 'system:kube-scheduler', credentials: { clientCertificate: pki.scheduler } });
    const ca = readFileSync(pki.ca.cert, 'utf8');
    this.scheduler = await this.startWithRetry('kube-scheduler', async () => {
      const [port] = await freePorts(1);
      this.schedulerPort = port ?? 0;
      const process = this.spawn('kube-scheduler', this.binaries.kubeScheduler, [
        `--kubeconfig=${kubeconfig}`,
        `--authentication-kubeconfig=${kubeconfig}`,
        `--authorization-kubeconfig=${kubeconfig}`,
        '--authentication-skip-lookup=true',
        '--bind-address=127.0.0.1',
        `--secure-port=${this.schedulerPort}`,
        `--tls-cert-file=${pki.schedulerServing.cert}`,
        `--tls-private-key-file=${pki.schedulerServing.key}`,
        '--leader-elect=false',
      ]);
      this.scheduler = process;
      await this.waitOrStop(process, () => httpsOk(`https://127.0.0.1:${this.schedulerPort}/healthz`, ca), 60_000, 'healthy (/healthz)');
      return process;
    });
  }

  /** Waits for readiness; a process that did not get there is stopped before the error goes up. */
  private async waitOrStop(process: SupervisedProcess, ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    try {
      await process.waitUntilReady(async () => !this.stopped && (await ready()), timeoutMs, what);
    } catch (err) {
      await process.stop(2000);
      throw err;
    }
  }
}
