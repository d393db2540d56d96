/**
 * The product as users install it, on a real node: `helm install` of charts/streamkeeper puts the
 * operator in a container of the image built from the Dockerfile, under Pod Security
 * `restricted` and the chart's RBAC; a StreamingJob's driver and executors run as containers of
 * that image, reading and writing a real Kafka exactly once; an executor's container SIGKILLed is
 * replaced and its batches rescheduled; `helm upgrade` keeps the generated ZooKeeper credential;
 * `helm uninstall` leaves only what docs/install.md lists.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn } from 'node:child_process';
import { CoordinationLayout } from '../../../src/coordination/layout.js';
import { ZooKeeperSession } from '../../../src/coordination/session.js';
import { digestAuth, type DigestCredential } from '../../../src/coordination/zookeeper/digest.js';
import { NativeZooKeeperClient } from '../../../src/coordination/zookeeper/native-client.js';
import { ClientNodeKubeClient } from '../../../src/kube/adapter.js';
import { loadKubeConfig } from '../../../src/kube/config.js';
import type { KubeClient } from '../../../src/kube/client.js';
import type { Event, Stored } from '../../../src/kube/objects.js';
import { ControlPlane } from '../../../src/local/control-plane.js';
import { KafkaServer } from '../../../src/local/kafka-server.js';
import type { KubeRest, ManifestObject } from '../../../src/local/kube-rest.js';
import { KubeletNode } from '../../../src/local/kubelet-node.js';
import { streamkeeperImage } from '../../../src/local/node-images.js';
import { createKafkajsClient, type KafkaClient } from '../../../src/runtime/kafka/index.js';
import { uniqueSuffix } from '../../harness/kube.js';
import { zkConnect } from '../../harness/servers.js';
import { Kubectl } from '../e2e/support/kubectl.js';
import { eventually } from '../e2e/support/waiting.js';
import { WordcountJob, type JobWorld } from '../e2e/support/wordcount-job.js';
import { chartDir, runHelm } from '../packaging/helm.js';

const release = 'streamkeeper';
const releaseNamespace = 'streamkeeper-system';
const jobNamespace = 'helm-jobs';
const waitMs = 180_000;

/** Figures measured along the way (not asserted: machines are noisy). */
function report(line: string): void {
  process.stderr.write(`helm e2e: ${line}\n`);
}

function restricted(name: string): ManifestObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } };
}

describe('helm install on a real node: the operator and a job as containers of the shipped image', () => {
  let plane: ControlPlane | undefined;
  let node: KubeletNode | undefined;
  let kafkaServer: KafkaServer | undefined;
  let kafka: KafkaClient | undefined;
  let session: Promise<ZooKeeperSession> | undefined;
  let rest: KubeRest;
  let admin: KubeClient;
  let kubectl: Kubectl;
  let job: WordcountJob | undefined;
  let operatorLog = '';
  const zkRoot = `/sk-helm-${uniqueSuffix()}`;
  const image = (): { repository: string; tag: string; ref: string } => {
    const ref = streamkeeperImage().ref;
    const at = ref.lastIndexOf(':');
    return { repository: ref.slice(0, at), tag: ref.slice(at + 1), ref };
  };

  const started = (): { plane: ControlPlane; node: KubeletNode; kafkaServer: KafkaServer; kafka: KafkaClient } => {
    if (plane === undefined || node === undefined || kafkaServer === undefined || kafka === undefined) throw new Error('the cluster did not start');
    return { plane, node, kafkaServer, kafka };
  };

  function helm(args: readonly string[]): string {
    const result = runHelm([...args, '--kubeconfig', started().plane.adminKubeconfig]);
    if (result.status !== 0) throw new Error(`helm ${args.join(' ')} failed (exit ${String(result.status)}):\n${result.stderr}`);
    return result.stdout;
  }

  /** The operator's ZooKeeper credential, as the chart generated it. */
  async function operatorCredential(): Promise<DigestCredential> {
    const secret = await admin.get('Secret', { namespace: releaseNamespace, name: `${release}-zk-credentials` });
    const [user = '', password = ''] = Buffer.from(secret.data?.credentials ?? '', 'base64').toString('utf8').split(':');
    return { user, password };
  }

  async function events(): Promise<Stored<Event>[]> {
    return (await admin.list('Event', { namespace: jobNamespace })).items;
  }

  /** The host pid of a pod's first container, from the node's containerd. */
  async function containerProcess(podName: string): Promise<number> {
    const pod = await admin.get('Pod', { namespace: jobNamespace, name: podName });
    const id = pod.status?.containerStatuses?.[0]?.containerID?.replace(/^containerd:\/\//, '');
    if (id === undefined) throw new Error(`pod ${podName} has no container yet`);
    const tasks = execFileSync('ctr', ['-a', started().node.containerdSocket, '-n', 'k8s.io', 'tasks', 'ls'], { encoding: 'utf8' });
    const line = tasks.split('\n').find((l) => l.startsWith(id));
    const pid = Number(line?.split(/\s+/)[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no running task for container ${id} of ${podName}:\n${tasks}`);
    return pid;
  }

  beforeAll(async () => {
    plane = await ControlPlane.start({ scheduler: true });
    rest = plane.adminRest();
    admin = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: plane.adminKubeconfig }));
    kubectl = new Kubectl(plane.kubectl, plane.adminKubeconfig);
    const zkPort = Number(zkConnect().split(',')[0]?.split(':')[1]);
    node = await KubeletNode.start({ controlPlane: plane, images: [streamkeeperImage()], exposePorts: [zkPort] });
    kafkaServer = await KafkaServer.start({ podListenerAddress: node.network.gateway });
    kafka = createKafkajsClient({ brokers: [kafkaServer.bootstrapServers], clientId: 'helm-e2e' });
    for (const name of [releaseNamespace, jobNamespace]) await rest.apply(restricted(name));
    await eventually(async () => {
      expect((await rest.request('GET', `/api/v1/namespaces/${jobNamespace}/serviceaccounts/default`)).status).toBe(200);
    }, 'the job namespace default ServiceAccount');
  }, 30 * 60_000);

  afterAll(async () => {
    await job?.close();
    await session?.then((s) => s.close()).catch(() => undefined);
    await kafka?.close().catch(() => undefined);
    await kafkaServer?.destroy();
    await node?.destroy();
    await plane?.destroy();
  }, 120_000);

  it('installs the operator as a restricted container of the shipped image, which becomes Ready and leads', async () => {
    const { node } = started();
    const begun = Date.now();
    helm([
      'install', release, chartDir, '--namespace', releaseNamespace, '--wait', '--timeout', '5m',
      '--set', `image.repository=${image().repository}`, '--set', `image.tag=${image().tag}`, '--set', 'image.pullPolicy=Never',
      '--set', `zookeeper.external.connect=${node.podAddress(Number(zkConnect().split(',')[0]?.split(':')[1]))}`,
      '--set', `zookeeper.root=${zkRoot}`,
      '--set', 'operator.replicas=1', '--set', 'operator.progressRefreshPeriod=2s',
    ]);
    report(`helm install --wait: ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    const pods = (await admin.list('Pod', { namespace: releaseNamespace, labelSelector: 'app.kubernetes.io/component=operator' })).items;
    expect(pods).toHaveLength(1);
    const [operator] = pods;
    expect(operator?.spec?.nodeName).toBe(node.nodeName);
    expect(operator?.spec?.containers[0]?.image).toBe(image().ref);
    expect(operator?.status?.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0 });
    // It holds the chart's Lease: the API server reached from the pod, with the chart's RBAC.
    await eventually(async () => {
      const lease = await admin.get('Lease', { namespace: releaseNamespace, name: 'streamkeeper-operator' });
      expect(lease.spec?.holderIdentity).toBe(operator?.metadata.name);
    }, 'the operator pod holds the Lease');
  }, waitMs);

  it('runs a StreamingJob whose driver and executors are containers on the node, counting every word exactly once', async () => {
    const { kafkaServer, kafka } = started();
    const world: JobWorld = {
      namespace: jobNamespace,
      admin,
      kubectl,
      kafka,
      layout: new CoordinationLayout(zkRoot),
      zookeeper: () => {
        session ??= operatorCredential().then((credential) =>
          ZooKeeperSession.open({ connector: (options) => NativeZooKeeperClient.connect(options), connectString: zkConnect(), sessionTimeoutMs: 10_000, auth: [digestAuth(credential)] }),
        );
        return session;
      },
    };
    job = await WordcountJob.prepare(world, 'wordcount', {
      executors: 2,
      customize: (spec) => ({ ...spec, image: image().ref, source: { kafka: { ...spec.source.kafka, bootstrapServers: [kafkaServer.podBootstrapServers] } } }),
    });
    await job.produceSample(200);
    const begun = Date.now();
    await job.apply();
    const pods = await job.waitForPodsReady(2, waitMs);
    await job.waitForRunning(2, waitMs);
    report(`job applied to Running with 2 executors: ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    for (const pod of pods.all) {
      expect(pod.spec?.nodeName).toBe(started().node.nodeName);
      expect(pod.spec?.containers[0]?.image).toBe(image().ref);
    }
    await job.produceSample(200);
    await job.waitForAllInputCommitted({ timeoutMs: waitMs });
    const comparison = await job.verifyExactlyOnce();
    report(`${job.produced.length} lines, ${comparison.expectedTotal} words counted exactly once`);
  }, 2 * waitMs);

  it("replaces an executor whose container was SIGKILLed, reschedules its work, and keeps the output exactly once", async () => {
    if (job === undefined) throw new Error('the job did not start (see the previous test)');
    const running = job;
    const input = running.startProducing(30, 300);
    const victim = `${running.name}-executor-0`;
    const before = (await running.pods()).executors.find((pod) => pod.metadata.name === victim);
    const pid = await containerProcess(victim);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    const failed = await eventually(async () => {
      const event = (await events()).find((e) => e.reason === 'ExecutorFailed' && (e.note ?? '').includes(victim) && Date.parse(e.series?.lastObservedTime ?? e.eventTime) >= killedAt - 1000);
      if (event === undefined) throw new Error(`no ExecutorFailed Event about ${victim} since the kill`);
      return event;
    }, `an ExecutorFailed Event about ${victim}`, waitMs);
    expect(failed).toMatchObject({ type: 'Warning', action: 'Reschedule', regarding: { kind: 'StreamingJob', name: running.name } });
    report(`SIGKILL of ${victim}'s container (pid ${pid}) to ExecutorFailed/Reschedule: ${((Date.parse(failed.series?.lastObservedTime ?? failed.eventTime) - killedAt) / 1000).toFixed(2)} s`);
    const ready = await running.waitForPodsReady(2, waitMs);
    expect(ready.executors.find((pod) => pod.metadata.name === victim)?.metadata.uid).not.toBe(before?.metadata.uid);
    await running.waitForRunning(2, waitMs);
    await input.stop();
    await running.waitForAllInputCommitted({ timeoutMs: waitMs });
    await running.verifyExactlyOnce();
  }, 3 * waitMs);

  it('keeps the generated ZooKeeper credential through helm upgrade, and the job running', async () => {
    if (job === undefined) throw new Error('the job did not start');
    const credential = await operatorCredential();
    helm(['upgrade', release, chartDir, '--namespace', releaseNamespace, '--reuse-values', '--set', 'operator.logLevel=debug', '--wait', '--timeout', '5m']);
    expect(await operatorCredential()).toEqual(credential);
    const deployment = await admin.get('Deployment', { namespace: releaseNamespace, name: `${release}-operator` });
    expect(deployment.spec?.template.spec?.containers[0]?.args).toContain('--log-level=debug');
    await eventually(async () => {
      const pods = (await admin.list('Pod', { namespace: releaseNamespace, labelSelector: 'app.kubernetes.io/component=operator' })).items.filter((p) => p.metadata.deletionTimestamp === undefined);
      expect(pods.map((p) => p.spec?.containers[0]?.args?.includes('--log-level=debug'))).toEqual([true]);
    }, 'the upgraded operator pod alone', waitMs);
    await job.produceSample(100);
    await job.waitForAllInputCommitted({ timeoutMs: waitMs });
    await job.verifyExactlyOnce();
  }, 2 * waitMs);

  it('helm uninstall removes what the chart installed; the CRD, the credential Secret and the job stay', async () => {
    if (job === undefined) throw new Error('the job did not start');
    await job.close();
    // The operator's last words (the uninstall release runs as it stops), for the next test.
    const { plane } = started();
    const follow = spawn(plane.kubectl, ['--kubeconfig', plane.adminKubeconfig, '-n', releaseNamespace, 'logs', '-f', '--tail=5', '-l', 'app.kubernetes.io/component=operator'], { stdio: ['ignore', 'pipe', 'pipe'] });
    follow.stdout.on('data', (chunk: Buffer) => (operatorLog += chunk.toString('utf8')));
    try {
      helm(['uninstall', release, '--namespace', releaseNamespace, '--wait', '--timeout', '3m']);
      await eventually(async () => {
        expect((await admin.list('Pod', { namespace: releaseNamespace })).items.map((p) => p.metadata.name)).toEqual([]);
      }, 'the operator pod gone', waitMs);
    } finally {
      follow.kill();
    }
    const names = async (resource: string): Promise<string[]> => {
      const response = await rest.request('GET', resource);
      expect(response.status).toBe(200);
      return (response.body as { items: { metadata: { name: string } }[] }).items.map((o) => o.metadata.name).filter((name) => name.startsWith(release));
    };
    const core = (resource: string): string => `/api/v1/namespaces/${releaseNamespace}/${resource}`;
    expect(await names(`/apis/apps/v1/namespaces/${releaseNamespace}/deployments`)).toEqual([]);
    expect(await names(core('serviceaccounts'))).toEqual([]);
    expect(await names(core('services'))).toEqual([]);
    expect(await names(core('configmaps'))).toEqual([]);
    expect(await names(`/apis/rbac.authorization.k8s.io/v1/namespaces/${releaseNamespace}/roles`)).toEqual([]);
    expect(await names('/apis/rbac.authorization.k8s.io/v1/clusterroles')).toEqual([]);
    expect(await names('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings')).toEqual([]);
    // Kept by design (docs/install.md): the credential Secret, the CRD and the user's jobs.
    expect(await names(core('secrets'))).toEqual([`${release}-zk-credentials`]);
    expect((await rest.request('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/streamingjobs.streamkeeper.io')).status).toBe(200);
    expect(await job.get()).toBeDefined();
  }, 2 * waitMs);

  // helm uninstall deletes the operator's ClusterRoleBinding and ServiceAccount in the same breath
  // as its Deployment; the chart's pre-delete hook stops the operator first, so it still has the
  // rights to release the job and delete its Lease.
  it('the stopping operator releases the job and deletes its Lease, so that deleting the job does not hang', async () => {
    if (job === undefined) throw new Error('the job did not start');
    const running = job;
    report(`the operator's log as it stopped:\n${operatorLog.split('\n').slice(-8).join('\n')}`);
    // The operator pod is gone (previous test): whatever it released on its way out is done.
    await eventually(async () => {
      expect((await running.get())?.metadata.finalizers ?? []).toEqual([]);
      expect((await rest.request('GET', `/apis/coordination.k8s.io/v1/namespaces/${releaseNamespace}/leases/streamkeeper-operator`)).status).toBe(404);
    }, 'the job released and the Lease deleted by the uninstalled operator', 10_000);
    await kubectl.run(['delete', 'streamingjob', running.name, '-n', jobNamespace, '--timeout=60s']);
    await eventually(async () => {
      expect((await running.pods({ includeTerminating: true })).all).toEqual([]);
    }, "the job's pods gone", waitMs);
  }, 2 * waitMs);
});
