/**
 * A real node for the local cluster: a kubelet of the pinned Kubernetes release on a private
 * containerd + runc, with a CNI bridge network. Pods get everything a kubelet gives (probes,
 * restart policy, securityContext, volumes, resource limits) instead of the node agent's
 * imitation of it. Everything the node makes is its own and is removed by `destroy()`: a
 * containerd with its own socket, state and runc root; a cgroup root of its own (so two nodes on
 * one machine never clean up each other's pods); a bridge and a /24 pod subnet that no route uses
 * yet. The bridge's address is the node's InternalIP, on this machine only. Servers the local
 * cluster runs on loopback are reached from pods by DNAT on that bridge: the `kubernetes` Service
 * address to kube-apiserver (what kube-proxy would do for it), and `<gateway>:<port>` to
 * `127.0.0.1:<port>` for ports the node is asked to expose. docs/real-node.md says why each
 * setting is there.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { StreamkeeperError } from '../errors/index.js';
import type { ControlPlane } from './control-plane.js';
import { freePorts } from './free-port.js';
import { nodeImages, type ImageArchive, type NodeImages } from './node-images.js';
import { issueNodeCertificates, type NodeCertificates } from './pki.js';
import { SupervisedProcess } from './supervised-process.js';

const run = promisify(execFile);

export interface KubeletNodeOptions {
  readonly controlPlane: ControlPlane;
  /** Default: a fresh temporary directory, removed by `destroy()`. */
  readonly baseDir?: string;
  /** Default `sk-node-<random>`. */
  readonly nodeName?: string;
  /** Images to import besides pause and busybox (e.g. the streamkeeper image). */
  readonly images?: readonly ImageArchive[];
  /** Keep the processes running after this Node process exits. */
  readonly detached?: boolean;
  /** Default 120 s: until the Node is Ready. */
  readonly readyTimeoutMs?: number;
  /** Loopback ports the pods reach at `<gateway>:<port>` (e.g. ZooKeeper's); see `exposeLoopbackPorts`. */
  readonly exposePorts?: readonly number[];
}

/** How long each start-up step took, in milliseconds. */
export interface KubeletNodeTimings {
  network: number;
  containerd: number;
  images: number;
  kubelet: number;
  total: number;
}

/** Where the node's pods live on the network. */
export interface NodeNetwork {
  readonly bridge: string;
  /** e.g. 10.244.17.0/24 */
  readonly subnet: string;
  /** The bridge's address: the pods' gateway and the node's InternalIP. */
  readonly gateway: string;
}

/** Pod traffic to `address:port` that the node redirects to `127.0.0.1:toPort`. */
export interface LoopbackRedirect {
  readonly address: string;
  readonly port: number;
  readonly toPort: number;
}

/**
 * The iptables arguments (table nat) that add each redirect for packets entering from the node's
 * bridge, tagged with `tag` so `destroy()` finds exactly this node's rules. Only the named ports
 * are reachable: pods see nothing else on this machine's loopback.
 */
export function loopbackRedirectRules(bridge: string, tag: string, redirects: readonly LoopbackRedirect[]): string[][] {
  return redirects.map((r) => ['-t', 'nat', '-A', 'PREROUTING', '-i', bridge, '-d', `${r.address}/32`, '-p', 'tcp', '-m', 'tcp', '--dport', String(r.port), '-m', 'comment', '--comment', tag, '-j', 'DNAT', '--to-destination', `127.0.0.1:${r.toPort}`]);
}

/** The `iptables -t nat -D` arguments that remove the rules `iptables -t nat -S` lists with `tag`. */
export function taggedRuleDeletions(listing: string, tag: string): string[][] {
  return listing
    .split('\n')
    .filter((line) => line.startsWith('-A ') && line.split(' ').includes(tag))
    .map((line) => ['-t', 'nat', '-D', ...line.slice(3).split(' ')]);
}

/** The first /24 of 10.244.0.0/16 that no route on this machine covers; `start` rotates the search. */
export function choosePodSubnet(routeDestinations: readonly string[], start: number): { subnet: string; gateway: string } {
  const taken = new Set(routeDestinations.filter((dst) => dst.startsWith('10.244.')).map((dst) => dst.split('.')[2]));
  const covered = routeDestinations.some((dst) => dst === '10.244.0.0/16' || dst === '10.0.0.0/8');
  if (!covered) {
    for (let i = 0; i < 256; i++) {
      const third = (start + i) % 256;
      if (!taken.has(String(third))) return { subnet: `10.244.${third}.0/24`, gateway: `10.244.${third}.1` };
    }
  }
  throw new StreamkeeperError('SK_SERVER_START_FAILED', 'no free /24 in 10.244.0.0/16 for the node\'s pods (ip route shows them all in use)');
}

/** containerd's configuration: CRI with runc and CNI, everything under the node's directory. */
export function containerdConfig(dir: string, pauseRef: string): string {
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
# Plugins that would touch the machine outside this directory, or are not needed.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseRef}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # No AppArmor on these kernels; and root here lacks CAP_SYS_RESOURCE, so a pod's
  # oom_score_adj may not go below ours (runc fails "oom_score_adj: Permission denied").
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${dir}/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni/conf"
`;
}

/** The CNI network: a bridge the node made (its gateway address already on it), host-local IPAM. */
export function cniConfig(dir: string, network: NodeNetwork): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: network.bridge,
    plugins: [
      {
        type: 'bridge',
        bridge: network.bridge,
        isGateway: true,
        // No masquerading and no port mapping: pods talk to this machine only, by address.
        ipMasq: false,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: network.subnet, gateway: network.gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'cni', 'ipam') },
      },
    ],
  });
}

export interface KubeletConfigInput {
  readonly dir: string;
  readonly nodeIP: string;
  readonly port: number;
  readonly healthzPort: number;
  readonly caFile: string;
  readonly serving: { readonly cert: string; readonly key: string };
  readonly cgroupRoot: string;
}

/** The KubeletConfiguration (YAML is a superset of JSON). */
export function kubeletConfig(input: KubeletConfigInput): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: input.nodeIP,
      port: input.port,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: input.healthzPort,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: input.caFile } },
      authorization: { mode: 'Webhook' },
      tlsCertFile: input.serving.cert,
      tlsPrivateKeyFile: input.serving.key,
      containerRuntimeEndpoint: `unix://${join(input.dir, 'containerd.sock')}`,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: input.cgroupRoot,
      podLogsDir: join(input.dir, 'pod-logs'),
      staticPodPath: '',
      failSwapOn: false,
      // No cluster DNS here: pods get an empty resolv.conf and reach servers by address.
      resolvConf: '',
      clusterDomain: 'cluster.local',
      serializeImagePulls: false,
      // A shared development machine: never evict or garbage-collect images because of its disk.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      nodeStatusReportFrequency: '10s',
      shutdownGracePeriod: '0s',
    },
    null,
    2,
  );
}

async function command(file: string, args: readonly string[], what: string): Promise<string> {
  try {
    const { stdout } = await run(file, [...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new StreamkeeperError('SK_SERVER_START_FAILED', `${what}: ${file} ${args.join(' ')} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

/** Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers, named ones, v2). */
function cgroupHierarchies(): string[] {
  const base = '/sys/fs/cgroup';
  if (existsSync(join(base, 'cgroup.controllers'))) return [base];
  return readdirSync(base, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(base, entry.name, 'cgroup.procs')))
    .map((entry) => join(base, entry.name));
}

/** Every process in a cgroup subtree. */
function cgroupProcesses(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const pids = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) pids.push(...cgroupProcesses(join(dir, entry.name)));
  }
  return pids;
}

function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroupTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    // still busy: a process outlived SIGKILL's delivery; the next node start does not reuse the name
  }
}

function inode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

export class KubeletNode {
  readonly timings: KubeletNodeTimings = { network: 0, containerd: 0, images: 0, kubelet: 0, total: 0 };
  readonly nodeName: string;
  private containerd: SupervisedProcess | undefined;
  private kubelet: SupervisedProcess | undefined;
  private networkInfo: NodeNetwork | undefined;
  private readonly id = randomBytes(3).toString('hex');
  private readonly cgroupRoot: string;
  /** Marks this node's iptables rules. */
  private readonly ruleTag: string;
  private destroyed = false;

  private constructor(
    readonly dir: string,
    private readonly ownsDir: boolean,
    private readonly options: KubeletNodeOptions,
  ) {
    this.nodeName = options.nodeName ?? `sk-node-${this.id}`;
    this.cgroupRoot = `/streamkeeper-node-${this.id}`;
    this.ruleTag = `streamkeeper-node-${this.id}`;
  }

  /** Starts containerd and the kubelet, and returns once the Node is Ready. */
  static async start(options: KubeletNodeOptions): Promise<KubeletNode> {
    if (process.getuid?.() !== 0) {
      throw new StreamkeeperError('SK_PREREQUISITE_MISSING', 'the real node runs containerd and runc, which need root; run as root, or use the node agent');
    }
    const images = nodeImages();
    if (!existsSync(options.controlPlane.binaries.kubelet)) {
      throw new StreamkeeperError('SK_PREREQUISITE_MISSING', `no kubelet at ${options.controlPlane.binaries.kubelet} (tools/kube/install.sh builds it; KUBEBUILDER_ASSETS directories usually lack it)`);
    }
    const dir = options.baseDir ?? mkdtempSync(join(tmpdir(), 'sk-node-'));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const node = new KubeletNode(dir, options.baseDir === undefined, options);
    try {
      await node.startAll(images);
    } catch (err) {
      await node.destroy();
      throw err;
    }
    return node;
  }

  get network(): NodeNetwork {
    if (this.networkInfo === undefined) throw new Error('the node has no network yet');
    return this.networkInfo;
  }

  /** Where pods reach a loopback port this node exposes: `<gateway>:<port>`. */
  podAddress(port: number): string {
    return `${this.network.gateway}:${port}`;
  }

  /**
   * Makes servers that listen on 127.0.0.1 reachable from this node's pods at `<gateway>:<port>`
   * (the same port), by DNAT of what arrives on the bridge. A server that tells clients its own
   * address (Kafka's advertised listeners) needs a listener on the gateway address instead.
   */
  async exposeLoopbackPorts(ports: readonly number[]): Promise<void> {
    await this.redirect(ports.map((port) => ({ address: this.network.gateway, port, toPort: port })));
  }

  /** The containerd socket (for `ctr -a`). */
  get containerdSocket(): string {
    return join(this.dir, 'containerd.sock');
  }

  logFile(name: 'containerd' | 'kubelet'): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  /** Imports OCI archives into the node's image store (namespace k8s.io, where the CRI looks). */
  async importImages(archives: readonly ImageArchive[]): Promise<void> {
    for (const image of archives) {
      const repository = image.ref.replace(/:[^/:]+$/, '');
      await command('ctr', ['-a', this.containerdSocket, '-n', 'k8s.io', 'images', 'import', '--base-name', repository, image.archive], `importing ${image.ref}`);
    }
  }

  /**
   * Stops the kubelet and every container of this node, then removes what the node made: mounts,
   * pod network namespaces, cgroups, the bridge and (if it made it) the directory.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const hierarchies = existsSync('/sys/fs/cgroup') ? cgroupHierarchies() : [];
    const podProcesses = [...new Set(hierarchies.flatMap((h) => cgroupProcesses(join(h, this.cgroupRoot))))];
    // The pods' network namespaces, found through their processes before those die.
    const netnsInodes = new Set(podProcesses.map((pid) => inode(`/proc/${pid}/ns/net`)).filter((ino): ino is number => ino !== undefined));
    await this.kubelet?.stop(5000);
    for (const pid of podProcesses) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.killShims();
    await this.containerd?.stop(5000);
    await this.removeRedirects();
    await this.unmountUnder(this.dir);
    await this.removeNetworkNamespaces(netnsInodes);
    for (let attempt = 0; attempt < 20 && hierarchies.some((h) => cgroupProcesses(join(h, this.cgroupRoot)).length > 0); attempt++) await sleep(100);
    for (const hierarchy of hierarchies) removeCgroupTree(join(hierarchy, this.cgroupRoot));
    if (this.networkInfo !== undefined) await run('ip', ['link', 'del', this.networkInfo.bridge]).catch(() => undefined);
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------ start-up ----

  private async startAll(images: NodeImages): Promise<void> {
    const started = Date.now();
    const since = (t: number): number => Date.now() - t;
    for (const sub of ['logs', 'pki', 'cni/conf', 'cni/ipam', 'kubelet', 'pod-logs']) mkdirSync(join(this.dir, sub), { recursive: true });
    this.networkInfo = await this.createNetwork();
    await this.redirectKubernetesService();
    await this.exposeLoopbackPorts(this.options.exposePorts ?? []);
    this.timings.network = since(started);
    await this.startContainerd(images.pause.ref);
    this.timings.containerd = since(started);
    await this.importImages([images.pause, images.busybox, ...(this.options.images ?? [])]);
    this.timings.images = since(started);
    await this.startKubelet();
    this.timings.kubelet = since(started);
    this.timings.total = since(started);
  }

  private async createNetwork(): Promise<NodeNetwork> {
    const routes = JSON.parse(await command('ip', ['-j', 'route', 'show', 'table', 'all'], 'reading routes')) as { dst?: string }[];
    const { subnet, gateway } = choosePodSubnet(
      routes.map((route) => route.dst ?? ''),
      randomBytes(1)[0] ?? 0,
    );
    const bridge = `sk-br-${this.id}`;
    await command('ip', ['link', 'add', bridge, 'type', 'bridge'], 'creating the node bridge');
    this.networkInfo = { bridge, subnet, gateway };
    await command('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge], 'addressing the node bridge');
    await command('ip', ['link', 'set', bridge, 'up'], 'bringing the node bridge up');
    // Lets packets from the bridge be DNATed to 127.0.0.1 (the kernel drops them otherwise).
    writeFileSync(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
    writeFileSync(join(this.dir, 'cni', 'conf', '10-streamkeeper.conflist'), cniConfig(this.dir, this.networkInfo));
    return this.networkInfo;
  }

  /**
   * Pods find the API server as every pod does, through the `kubernetes` Service
   * (KUBERNETES_SERVICE_HOST/PORT, which the kubelet sets from it). No kube-proxy runs here, so the
   * node forwards that one Service address to kube-apiserver on loopback, whose serving
   * certificate names the address.
   */
  private async redirectKubernetesService(): Promise<void> {
    const response = await this.options.controlPlane.adminRest().request('GET', '/api/v1/namespaces/default/services/kubernetes');
    const service = response.body as { spec?: { clusterIP?: string; ports?: { port: number }[] } };
    const address = service.spec?.clusterIP;
    const port = service.spec?.ports?.[0]?.port;
    if (response.status !== 200 || address === undefined || port === undefined) {
      throw new StreamkeeperError('SK_SERVER_START_FAILED', `the API server has no usable default/kubernetes Service (HTTP ${response.status}); pods could not reach it`);
    }
    await this.redirect([{ address, port, toPort: Number(new URL(this.options.controlPlane.server).port) }]);
  }

  private async redirect(redirects: readonly LoopbackRedirect[]): Promise<void> {
    for (const rule of loopbackRedirectRules(this.network.bridge, this.ruleTag, redirects)) await command('iptables', rule, 'redirecting pod traffic to a loopback server');
  }

  private async removeRedirects(): Promise<void> {
    const listing = await run('iptables', ['-t', 'nat', '-S', 'PREROUTING']).then(
      (result) => result.stdout,
      () => '',
    );
    for (const rule of taggedRuleDeletions(listing, this.ruleTag)) await run('iptables', rule).catch(() => undefined);
  }

  private spawn(name: 'containerd' | 'kubelet', file: string, args: readonly string[]): SupervisedProcess {
    return SupervisedProcess.start({
      name,
      command: file,
      args,
      logFile: this.logFile(name),
      truncateLog: true,
      ...(this.options.detached === undefined ? {} : { detached: this.options.detached }),
    });
  }

  private async startContainerd(pauseRef: string): Promise<void> {
    const config = join(this.dir, 'containerd.toml');
    writeFileSync(config, containerdConfig(this.dir, pauseRef));
    const containerd = this.spawn('containerd', 'containerd', [`--config=${config}`]);
    this.containerd = containerd;
    await containerd.waitUntilReady(
      async () =>
        existsSync(this.containerdSocket) &&
        (await run('ctr', ['-a', this.containerdSocket, 'version'], { timeout: 5000 }).then(
          () => true,
          () => false,
        )),
      30_000,
      'serving (ctr version)',
    );
  }

  private async startKubelet(): Promise<void> {
    const plane = this.options.controlPlane;
    const network = this.network;
    const certificates: NodeCertificates = await issueNodeCertificates(plane.pki, join(this.dir, 'pki'), this.nodeName, network.gateway);
    for (const hierarchy of cgroupHierarchies()) mkdirSync(join(hierarchy, this.cgroupRoot), { recursive: true });
    const [port, healthzPort] = await freePorts(2);
    const config = join(this.dir, 'kubelet.yaml');
    writeFileSync(config, kubeletConfig({ dir: this.dir, nodeIP: network.gateway, port: port ?? 0, healthzPort: healthzPort ?? 0, caFile: plane.pki.ca.cert, serving: certificates.serving, cgroupRoot: this.cgroupRoot }));
    const kubeconfig = join(this.dir, 'kubelet.kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'local', cluster: { server: plane.server, 'certificate-authority': plane.pki.ca.cert } }],
        users: [{ name: 'node', user: { 'client-certificate': certificates.client.cert, 'client-key': certificates.client.key } }],
        contexts: [{ name: 'node', context: { cluster: 'local', user: 'node' } }],
        'current-context': 'node',
      }),
      { mode: 0o600 },
    );
    const kubelet = this.spawn('kubelet', plane.binaries.kubelet, [
      `--config=${config}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${join(this.dir, 'kubelet')}`,
      `--cert-dir=${join(this.dir, 'pki')}`,
      `--hostname-override=${this.nodeName}`,
      `--node-ip=${network.gateway}`,
      '--v=1',
    ]);
    this.kubelet = kubelet;
    const admin = plane.adminRest();
    await kubelet.waitUntilReady(
      async () => {
        const response = await admin.request('GET', `/api/v1/nodes/${this.nodeName}`);
        if (response.status !== 200) return false;
        const node = response.body as { status?: { conditions?: { type: string; status: string }[] } };
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
      },
      this.options.readyTimeoutMs ?? 120_000,
      'a Ready Node',
    );
  }

  // ----------------------------------------------------------------- tear-down ----

  /** containerd's shims outlive containerd by design; ours are the ones that name our socket. */
  private killShims(): void {
    let entries: string[];
    try {
      entries = readdirSync('/proc');
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      let cmdline: string[];
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (cmdline[0]?.includes('containerd-shim') === true && cmdline.includes(this.containerdSocket)) {
        try {
          process.kill(Number(entry), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  /** Secret and emptyDir tmpfs, container root filesystems, sandbox shm: deepest first. */
  private async unmountUnder(dir: string): Promise<void> {
    let mountinfo: string;
    try {
      mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      return;
    }
    const points = mountinfo
      .split('\n')
      .map((line) => (line.split(' ')[4] ?? '').replace(/\\040/g, ' '))
      .filter((point) => point === dir || point.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const point of points) await run('umount', ['-l', point]).catch(() => undefined);
  }

  private async removeNetworkNamespaces(inodes: ReadonlySet<number>): Promise<void> {
    if (inodes.size === 0) return;
    for (const base of ['/run/netns', '/var/run/netns']) {
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      for (const name of names) {
        const path = join(base, name);
        const ino = inode(path);
        if (ino === undefined || !inodes.has(ino)) continue;
        await run('umount', [path]).catch(() => undefined);
        rmSync(path, { force: true });
      }
    }
  }
}
