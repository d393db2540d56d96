/**
 * The real node: a kubelet of the pinned release on containerd + runc with a CNI bridge, joined
 * to a control plane that runs kube-scheduler. Pods here get real kubelet behaviour: scheduling,
 * probes, restart policy, the restricted securityContext, mounted volumes and resource limits;
 * and they reach the servers this machine runs: the API server through the `kubernetes` Service,
 * ZooKeeper on loopback through the node's gateway, Kafka through a listener on that gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../src/package-info.js';
import { ControlPlane } from '../../../src/local/control-plane.js';
import { KafkaServer } from '../../../src/local/kafka-server.js';
import { createKafkajsClient } from '../../../src/runtime/kafka/index.js';
import { zkConnect } from '../../harness/servers.js';
import type { KubeRest } from '../../../src/local/kube-rest.js';
import { KubeletNode } from '../../../src/local/kubelet-node.js';
import { nodeImages, streamkeeperImage } from '../../../src/local/node-images.js';
import { pollUntil } from '../../support/poll-until.js';

const namespace = 'node-test';
const timing = { timeoutMs: 90_000, pollMs: 250 };

interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state?: { running?: unknown };
  lastState?: { terminated?: { exitCode: number; reason?: string } };
}

interface PodView {
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: ContainerStatus[] };
}

/** The restricted Pod Security profile, as a container spells it. */
const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

describe('a real kubelet node on containerd + runc', () => {
  let plane: ControlPlane | undefined;
  let node: KubeletNode | undefined;
  let kafka: KafkaServer | undefined;
  let rest: KubeRest;
  const busybox = (): string => nodeImages().busybox.ref;

  async function pod(name: string): Promise<PodView> {
    const response = await rest.request('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
    if (response.status !== 200) throw new Error(`GET pod ${name}: ${response.status}`);
    return response.body as PodView;
  }

  function logs(name: string): string {
    const { plane } = started();
    return execFileSync(plane.kubectl, ['--kubeconfig', plane.adminKubeconfig, '-n', namespace, 'logs', name], { encoding: 'utf8' });
  }

  const started = (): { plane: ControlPlane; node: KubeletNode } => {
    if (plane === undefined || node === undefined) throw new Error('the node did not start');
    return { plane, node };
  };

  async function createPod(object: Record<string, unknown>): Promise<void> {
    const response = await rest.request('POST', `/api/v1/namespaces/${namespace}/pods`, { body: { apiVersion: 'v1', kind: 'Pod', ...object } });
    if (response.status !== 201) throw new Error(`creating a pod: ${response.status} ${JSON.stringify(response.body)}`);
  }

  beforeAll(async () => {
    plane = await ControlPlane.start({ scheduler: true });
    rest = plane.adminRest();
    // The image users deploy, built from the Dockerfile (minutes on a cold cache, then cached).
    const zkPort = Number(zkConnect().split(',')[0]?.split(':')[1]);
    node = await KubeletNode.start({ controlPlane: plane, images: [streamkeeperImage()], exposePorts: [zkPort] });
    // Kafka tells clients where its brokers are, so pods need a listener it advertises on the gateway.
    kafka = await KafkaServer.start({ podListenerAddress: node.network.gateway });
    await rest.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } });
    await pollUntil(
      async () => {
        expect((await rest.request('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`)).status).toBe(200);
      },
      'the namespace default ServiceAccount',
      timing,
    );
    // A cold cache builds the image first (tools/test/run.mjs does it before jest for `npm test`).
  }, 30 * 60_000);

  afterAll(async () => {
    await kafka?.destroy();
    await node?.destroy();
    await plane?.destroy();
  }, 60_000);

  it('registers a Ready Node that reports containerd, the pinned kubelet and its bridge address', async () => {
    const { node } = started();
    const response = await rest.request('GET', `/api/v1/nodes/${node.nodeName}`);
    const view = response.body as { status: { nodeInfo: { containerRuntimeVersion: string; kubeletVersion: string }; addresses: { type: string; address: string }[] } };
    expect(view.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(view.status.nodeInfo.kubeletVersion).toBe('v1.34.10');
    expect(view.status.addresses).toContainEqual({ type: 'InternalIP', address: node.network.gateway });
  });

  it('schedules a restricted pod and runs it with its volumes mounted, a read-only root, no capabilities and its memory limit', async () => {
    const { node } = started();
    await rest.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name: 'credentials' }, stringData: { password: 'from-a-secret-volume' } });
    await rest.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name: 'settings' }, data: { mode: 'from-a-configmap-volume' } });
    const script = [
      'echo "secret=$(cat /etc/credentials/password)"',
      'echo "config=$(cat /etc/settings/mode)"',
      'echo "uid=$(id -u)"',
      'echo "caps=$(grep CapEff /proc/self/status | tr -d "[:space:]")"',
      'if touch /root-write 2>/dev/null; then echo root=writable; else echo root=read-only; fi',
      'echo ok > /scratch/ready && echo scratch=writable',
      'echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)"',
      'exec sleep 3600',
    ].join('; ');
    await createPod({
      metadata: { namespace, name: 'restricted' },
      spec: {
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'main',
            image: busybox(),
            imagePullPolicy: 'Never',
            command: ['sh', '-c', script],
            securityContext: restricted,
            resources: { limits: { memory: '48Mi', cpu: '200m' }, requests: { memory: '48Mi', cpu: '50m' } },
            readinessProbe: { exec: { command: ['cat', '/scratch/ready'] }, periodSeconds: 1 },
            volumeMounts: [
              { name: 'credentials', mountPath: '/etc/credentials', readOnly: true },
              { name: 'settings', mountPath: '/etc/settings', readOnly: true },
              { name: 'scratch', mountPath: '/scratch' },
            ],
          },
        ],
        volumes: [
          { name: 'credentials', secret: { secretName: 'credentials' } },
          { name: 'settings', configMap: { name: 'settings' } },
          { name: 'scratch', emptyDir: { sizeLimit: '1Mi' } },
        ],
      },
    });
    const running = await pollUntil(
      async () => {
        const view = await pod('restricted');
        expect(view.status.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
        return view;
      },
      'pod restricted Ready',
      timing,
    );
    expect(running.spec.nodeName).toBe(node.nodeName); // bound by kube-scheduler
    expect(running.status.podIP?.startsWith(node.network.subnet.replace(/0\/24$/, ''))).toBe(true);
    const output = logs('restricted');
    expect(output).toContain('secret=from-a-secret-volume');
    expect(output).toContain('config=from-a-configmap-volume');
    expect(output).toContain('uid=10001');
    expect(output).toContain('caps=CapEff:0000000000000000');
    expect(output).toContain('root=read-only');
    expect(output).toContain('scratch=writable');
    expect(output).toContain(`memory=${48 * 1024 * 1024}`);
  });

  it('restarts a container that exits non-zero (restartPolicy OnFailure)', async () => {
    await createPod({
      metadata: { namespace, name: 'crashing' },
      spec: {
        restartPolicy: 'OnFailure',
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'main', image: busybox(), imagePullPolicy: 'Never', command: ['sh', '-c', 'exit 3'], securityContext: restricted }],
      },
    });
    const status = await pollUntil(
      async () => {
        const container = (await pod('crashing')).status.containerStatuses?.[0];
        expect(container?.restartCount).toBeGreaterThanOrEqual(1);
        return container;
      },
      'pod crashing restarted',
      timing,
    );
    expect(status?.lastState?.terminated?.exitCode).toBe(3);
  });

  it('restarts a container whose liveness probe fails', async () => {
    await createPod({
      metadata: { namespace, name: 'unhealthy' },
      spec: {
        terminationGracePeriodSeconds: 1,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'main',
            image: busybox(),
            imagePullPolicy: 'Never',
            // Healthy for two seconds, then the file the probe reads is gone.
            command: ['sh', '-c', 'touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 3600'],
            securityContext: restricted,
            livenessProbe: { exec: { command: ['cat', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 1, initialDelaySeconds: 1 },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    });
    await pollUntil(
      async () => {
        const container = (await pod('unhealthy')).status.containerStatuses?.[0];
        expect(container?.restartCount).toBeGreaterThanOrEqual(1);
      },
      'pod unhealthy restarted by its liveness probe',
      timing,
    );
    const events = (await rest.request('GET', `/api/v1/namespaces/${namespace}/events`, { query: { fieldSelector: 'involvedObject.name=unhealthy' } })).body as { items: { reason: string; message: string }[] };
    expect(events.items.some((event) => event.reason === 'Unhealthy' && event.message.includes('Liveness probe failed'))).toBe(true);
  });

  it('runs the image built from the Dockerfile as a non-root container with a read-only root', async () => {
    const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
    await createPod({
      metadata: { namespace, name: 'streamkeeper-version' },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        // No runAsUser: the image's own user (nonroot, 65532) must satisfy runAsNonRoot.
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [{ name: 'streamkeeper', image: streamkeeperImage().ref, imagePullPolicy: 'Never', args: ['version'], securityContext: restricted }],
      },
    });
    await pollUntil(
      async () => {
        expect((await pod('streamkeeper-version')).status.phase).toBe('Succeeded');
      },
      'pod streamkeeper-version Succeeded',
      timing,
    );
    expect(logs('streamkeeper-version')).toBe(`streamkeeper ${version}\n`);
  });

  it('lets a pod reach the API server as a pod does, ZooKeeper on loopback, and Kafka through its pod listener', async () => {
    const { node } = started();
    if (kafka === undefined) throw new Error('Kafka did not start');
    const topic = 'from-pods';
    const client = createKafkajsClient({ brokers: [kafka.bootstrapServers], clientId: 'node-test' });
    try {
      await client.admin.createTopic(topic, { partitions: 1 });
      const zkPort = Number(zkConnect().split(',')[0]?.split(':')[1]);
      // Node.js in the shipped image; the distroless runtime has no shell. Each line it prints is
      // the answer of a real server: its ZooKeeper mode, the API server's version (TLS verified
      // against the ServiceAccount's ca.crt, authenticated by its token), and a record produced to
      // the partition leader at the address Kafka advertised.
      const script = `
        const net = require('node:net'), https = require('node:https'), fs = require('node:fs');
        const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
        const zookeeper = () => new Promise((resolve, reject) => {
          const [host, port] = process.env.ZK_ADDRESS.split(':');
          let reply = '';
          const socket = net.connect(Number(port), host, () => socket.write('srvr'));
          socket.on('data', (chunk) => (reply += chunk)).on('end', () => resolve(/Mode: (\\w+)/.exec(reply)?.[1])).on('error', reject);
        });
        const apiserver = () => new Promise((resolve, reject) => {
          https.get({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: '/version', ca: fs.readFileSync(sa + '/ca.crt'), headers: { authorization: 'Bearer ' + fs.readFileSync(sa + '/token', 'utf8') } }, (response) => {
            let body = '';
            response.on('data', (chunk) => (body += chunk)).on('end', () => resolve(response.statusCode + ' ' + JSON.parse(body).gitVersion));
          }).on('error', reject);
        });
        const kafka = async () => {
          const { Kafka, logLevel } = require('/app/node_modules/kafkajs');
          const producer = new Kafka({ brokers: [process.env.KAFKA_ADDRESS], logLevel: logLevel.NOTHING }).producer();
          await producer.connect();
          await producer.send({ topic: process.env.TOPIC, messages: [{ value: 'from-a-pod' }] });
          await producer.disconnect();
          return 'produced';
        };
        (async () => {
          console.log('zookeeper=' + (await zookeeper()));
          console.log('apiserver=' + (await apiserver()));
          console.log('kafka=' + (await kafka()));
        })().catch((err) => { console.error(err); process.exit(1); });`;
      await createPod({
        metadata: { namespace, name: 'reaches-servers' },
        spec: {
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'main',
              image: streamkeeperImage().ref,
              imagePullPolicy: 'Never',
              command: ['/nodejs/bin/node', '-e', script],
              env: [
                { name: 'ZK_ADDRESS', value: node.podAddress(zkPort) },
                { name: 'KAFKA_ADDRESS', value: kafka.podBootstrapServers },
                { name: 'TOPIC', value: topic },
              ],
              securityContext: restricted,
            },
          ],
        },
      });
      const phase = await pollUntil(
        async () => {
          const current = (await pod('reaches-servers')).status.phase;
          expect(['Succeeded', 'Failed']).toContain(current);
          return current;
        },
        'pod reaches-servers finished',
        timing,
      );
      // stderr is in the log too (kafkajs warns about its timers on Node.js 24): the answers only.
      const answers = logs('reaches-servers')
        .split('\n')
        .filter((line) => /^(zookeeper|apiserver|kafka)=/.test(line));
      expect({ phase, answers }).toEqual({ phase: 'Succeeded', answers: ['zookeeper=standalone', 'apiserver=200 v1.34.10', 'kafka=produced'] });
      expect(await client.admin.topicOffsets(topic)).toEqual([expect.objectContaining({ partition: 0, high: 1 })]);
    } finally {
      await client.close();
    }
  });

  it('removes everything it made when destroyed', async () => {
    const { node } = started();
    const bridge = node.network.bridge;
    const dir = node.dir;
    await node.destroy();
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toContain(bridge);
    expect(execFileSync('iptables', ['-t', 'nat', '-S', 'PREROUTING'], { encoding: 'utf8' })).not.toContain(bridge);
    expect(execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' })).not.toContain(dir);
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(node.containerdSocket);
  });
});
