import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeClient } from '../../../src/kube/client.js';
import type { Pod, Stored } from '../../../src/kube/objects.js';
import { adminKubeClient, createNamespace, deleteNamespace, startTestNodeAgent, uniqueSuffix, waitForPod, type TestNodeAgent } from '../../harness/kube.js';
import { zkConnect } from '../../harness/servers.js';

type Container = NonNullable<Pod['spec']>['containers'][number];
type PodSpec = NonNullable<Pod['spec']>;

const image = 'streamkeeper/streamkeeper:0.1.0';

describe('local node agent', () => {
  let client: KubeClient;
  let namespace: string;
  let node: TestNodeAgent;

  beforeAll(async () => {
    client = adminKubeClient();
    namespace = await createNamespace('node-agent');
    node = await startTestNodeAgent([namespace], client);
  });

  afterAll(async () => {
    await node.stop();
    await deleteNamespace(namespace);
  });

  function ref(name: string): { namespace: string; name: string } {
    return { namespace, name };
  }

  async function createPod(name: string, container: Partial<Container>, spec: Partial<PodSpec> = {}, labels: Record<string, string> = {}): Promise<Stored<Pod>> {
    return client.create('Pod', {
      metadata: { namespace, name, labels, annotations: { 'test.streamkeeper.io/purpose': 'node-agent' } },
      spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 5, ...spec, containers: [{ name: 'main', image, ...container }] },
    });
  }

  /** Waits until the container has logged `text` (e.g. that it is up and handles signals). */
  async function waitForLog(pod: string, text: string): Promise<void> {
    const file = node.agent.logFile(namespace, pod, 'main');
    const deadline = Date.now() + 60_000;
    while (!(existsSync(file) && readFileSync(file, 'utf8').includes(text))) {
      if (Date.now() > deadline) throw new Error(`${file} did not show "${text}" within 60 s`);
      await sleep(50);
    }
  }

  function finished(pod: Stored<Pod> | undefined): boolean {
    return pod?.status?.phase === 'Succeeded' || pod?.status?.phase === 'Failed';
  }

  function mainStatus(pod: Stored<Pod> | undefined): NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number] | undefined {
    return pod?.status?.containerStatuses?.find((status) => status.name === 'main');
  }

  function condition(pod: Stored<Pod> | undefined, type: string): string | undefined {
    return pod?.status?.conditions?.find((c) => c.type === type)?.status;
  }

  /** Every status the pod goes through until it is removed from the API. */
  async function statusesUntilRemoved(pod: Stored<Pod>, act: () => Promise<void>): Promise<Stored<Pod>[]> {
    const seen: Stored<Pod>[] = [];
    const abort = new AbortController();
    const watched = (async () => {
      for await (const event of client.watch('Pod', { namespace, resourceVersion: pod.metadata.resourceVersion, fieldSelector: `metadata.name=${pod.metadata.name}`, signal: abort.signal })) {
        if (event.type === 'BOOKMARK') continue;
        seen.push(event.object);
        if (event.type === 'DELETED') return;
      }
    })();
    await act();
    const guard = setTimeout(() => {
      abort.abort();
    }, 60_000);
    await watched;
    clearTimeout(guard);
    return seen;
  }

  it('registers a Ready node and keeps its lease renewed', async () => {
    const registered = await client.get('Node', { name: node.nodeName });
    expect(registered.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(registered.status?.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(registered.metadata.labels?.['kubernetes.io/hostname']).toBe(node.nodeName);
    const lease = await client.get('Lease', { namespace: 'kube-node-lease', name: node.nodeName });
    expect(lease.spec?.holderIdentity).toBe(node.nodeName);
    expect(lease.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Node', name: node.nodeName, uid: registered.metadata.uid });
  });

  it('binds a pending pod, runs the streamkeeper image as a process and reports Succeeded with exit code 0', async () => {
    const pod = await createPod('version', { args: ['version'] });
    const done = await waitForPod(client, ref(pod.metadata.name), finished, 'finished');
    expect(done?.spec?.nodeName).toBe(node.nodeName);
    expect(done?.status?.phase).toBe('Succeeded');
    expect(mainStatus(done)?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(mainStatus(done)?.restartCount).toBe(0);
    expect(condition(done, 'PodScheduled')).toBe('True');
    expect(condition(done, 'Initialized')).toBe('True');
    expect(condition(done, 'Ready')).toBe('False');
    expect(done?.status?.podIP).toBe('127.0.0.1');
    expect(readFileSync(node.agent.logFile(namespace, 'version', 'main'), 'utf8')).toMatch(/^streamkeeper \d+\.\d+\.\d+/);
  });

  it('reports Failed with the exit code of a container that fails', async () => {
    const pod = await createPod('unknown-subcommand', { args: ['no-such-subcommand'] });
    const done = await waitForPod(client, ref(pod.metadata.name), finished, 'finished');
    expect(done?.status?.phase).toBe('Failed');
    expect(mainStatus(done)?.state?.terminated).toMatchObject({ exitCode: 2, reason: 'Error' });
    expect(readFileSync(node.agent.logFile(namespace, 'unknown-subcommand', 'main'), 'utf8')).toContain('unknown command "no-such-subcommand"');
  });

  it('reports a running container as Running and Ready, with its start time', async () => {
    const pod = await createPod('runner', { args: ['sleep', '--seconds', '120'] });
    const running = await waitForPod(client, ref(pod.metadata.name), (p) => condition(p, 'Ready') === 'True', 'Ready');
    expect(running?.status?.phase).toBe('Running');
    expect(condition(running, 'ContainersReady')).toBe('True');
    expect(mainStatus(running)).toMatchObject({ ready: true, started: true, restartCount: 0 });
    expect(mainStatus(running)?.state?.running?.startedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    await client.delete('Pod', ref('runner'), { gracePeriodSeconds: 0 });
  });

  it('on deletion sends SIGTERM, then SIGKILL once the grace period is over, then removes the pod', async () => {
    const graceSeconds = 2;
    const pod = await createPod('stubborn', { args: ['sleep', '--seconds', '300', '--ignore-sigterm'] }, { terminationGracePeriodSeconds: graceSeconds });
    const running = await waitForPod(client, ref(pod.metadata.name), (p) => p?.status?.phase === 'Running', 'Running');
    await waitForLog('stubborn', '"msg":"sleeping"');
    let deletedAt = 0;
    const statuses = await statusesUntilRemoved(running ?? pod, async () => {
      deletedAt = Date.now();
      await client.delete('Pod', ref('stubborn'));
    });
    const removedAfterMs = Date.now() - deletedAt;
    const last = statuses[statuses.length - 1];
    expect(mainStatus(last)?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(readFileSync(node.agent.logFile(namespace, 'stubborn', 'main'), 'utf8')).toContain('received SIGTERM; ignoring it');
    // The process ignored SIGTERM, so only the SIGKILL at the end of the grace period ended it.
    expect(removedAfterMs).toBeGreaterThanOrEqual(graceSeconds * 1000);
    await expect(client.get('Pod', ref('stubborn'))).rejects.toMatchObject({ code: 'SK_KUBE_NOT_FOUND' });
  });

  it('lets a container that handles SIGTERM exit cleanly on deletion', async () => {
    const pod = await createPod('graceful', { args: ['sleep', '--seconds', '300'] }, { terminationGracePeriodSeconds: 30 });
    const running = await waitForPod(client, ref(pod.metadata.name), (p) => p?.status?.phase === 'Running', 'Running');
    await waitForLog('graceful', '"msg":"sleeping"');
    const statuses = await statusesUntilRemoved(running ?? pod, () => client.delete('Pod', ref('graceful')));
    expect(mainStatus(statuses[statuses.length - 1])?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(readFileSync(node.agent.logFile(namespace, 'graceful', 'main'), 'utf8')).toContain('received SIGTERM; exiting');
  });

  it('notices a process that dies on its own', async () => {
    const pod = await createPod('killed', { args: ['sleep', '--seconds', '300'] });
    const running = await waitForPod(client, ref(pod.metadata.name), (p) => p?.status?.phase === 'Running', 'Running');
    const pid = Number(mainStatus(running)?.containerID?.replace('streamkeeper-local://', ''));
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const done = await waitForPod(client, ref(pod.metadata.name), finished, 'finished');
    expect(done?.status?.phase).toBe('Failed');
    expect(mainStatus(done)?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
  });

  it('restarts a failing container under restartPolicy OnFailure, keeping the last termination', async () => {
    const pod = await createPod('crashing', { args: ['no-such-subcommand'] }, { restartPolicy: 'OnFailure' });
    const restarted = await waitForPod(client, ref(pod.metadata.name), (p) => (mainStatus(p)?.restartCount ?? 0) >= 1 && mainStatus(p)?.lastState?.terminated !== undefined, 'restarted');
    expect(mainStatus(restarted)?.lastState?.terminated).toMatchObject({ exitCode: 2, reason: 'Error' });
    expect(restarted?.status?.phase).toBe('Running');
    await client.delete('Pod', ref('crashing'), { gracePeriodSeconds: 0 });
  });

  it('gives the process the env of the pod: values, the downward API, Secrets and ConfigMaps', async () => {
    const suffix = uniqueSuffix();
    await client.create('Secret', { metadata: { namespace, name: 'credentials' }, stringData: { password: `s3cret-${suffix}`, 'api.key': 'k' } });
    await client.create('ConfigMap', { metadata: { namespace, name: 'settings' }, data: { 'log.level': 'debug', BATCH: '5s' } });
    const names = ['PLAIN', 'EXPANDED', 'POD_NAME', 'POD_NAMESPACE', 'POD_UID', 'POD_IP', 'NODE_NAME', 'SERVICE_ACCOUNT', 'TEAM', 'NOTE', 'PASSWORD', 'LOG_LEVEL', 'MISSING_OPTIONAL', 'CFG_BATCH', 'SECRET_api.key', 'HOSTNAME', 'ZK_CONNECT'];
    const pod = await createPod(
      'env',
      {
        args: ['sleep', '--seconds', '0', '--print-env', names.join(',')],
        envFrom: [
          { prefix: 'CFG_', configMapRef: { name: 'settings' } },
          { prefix: 'SECRET_', secretRef: { name: 'credentials' } },
          { configMapRef: { name: 'absent', optional: true } },
        ],
        env: [
          { name: 'PLAIN', value: 'plain value' },
          { name: 'EXPANDED', value: '$(PLAIN) and $$(PLAIN) and $(UNDEFINED)' },
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'SERVICE_ACCOUNT', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
          { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.labels['team']" } } },
          { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['test.streamkeeper.io/purpose']" } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'credentials', key: 'password' } } },
          { name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: 'settings', key: 'log.level' } } },
          { name: 'MISSING_OPTIONAL', valueFrom: { secretKeyRef: { name: 'credentials', key: 'absent', optional: true } } },
        ],
      },
      {},
      { team: 'streaming' },
    );
    const done = await waitForPod(client, ref(pod.metadata.name), finished, 'finished');
    expect(done?.status?.phase).toBe('Succeeded');
    const printed = readFileSync(node.agent.logFile(namespace, 'env', 'main'), 'utf8');
    const lines = printed.split('\n').filter((line) => names.some((name) => line.startsWith(`${name}=`) || line === `${name} unset`));
    expect(lines).toEqual([
      'PLAIN=plain value',
      'EXPANDED=plain value and $(PLAIN) and $(UNDEFINED)',
      'POD_NAME=env',
      `POD_NAMESPACE=${namespace}`,
      `POD_UID=${pod.metadata.uid}`,
      'POD_IP=127.0.0.1',
      `NODE_NAME=${node.nodeName}`,
      'SERVICE_ACCOUNT=default',
      'TEAM=streaming',
      'NOTE=node-agent',
      `PASSWORD=s3cret-${suffix}`,
      'LOG_LEVEL=debug',
      'MISSING_OPTIONAL unset',
      'CFG_BATCH=5s',
      'SECRET_api.key=k',
      'HOSTNAME=env',
      // The agent's own environment does not leak into pods.
      'ZK_CONNECT unset',
    ]);
  });

  it('waits with CreateContainerConfigError while a referenced Secret is missing, and starts once it exists', async () => {
    const pod = await createPod('needs-secret', { args: ['sleep', '--seconds', '0', '--print-env', 'TOKEN_VALUE'], env: [{ name: 'TOKEN_VALUE', valueFrom: { secretKeyRef: { name: 'late', key: 'value' } } }] });
    const waiting = await waitForPod(client, ref(pod.metadata.name), (p) => mainStatus(p)?.state?.waiting?.reason === 'CreateContainerConfigError', 'waiting for its Secret');
    expect(mainStatus(waiting)?.state?.waiting?.message).toContain('secret "late" not found');
    expect(waiting?.status?.phase).toBe('Pending');
    await client.create('Secret', { metadata: { namespace, name: 'late' }, stringData: { value: 'arrived' } });
    const done = await waitForPod(client, ref(pod.metadata.name), finished, 'finished');
    expect(done?.status?.phase).toBe('Succeeded');
    expect(readFileSync(node.agent.logFile(namespace, 'needs-secret', 'main'), 'utf8')).toContain('TOKEN_VALUE=arrived');
  });

  it('reports ErrImagePull, naming the image, for an image it cannot run', async () => {
    const pod = await createPod('foreign-image', { image: 'docker.io/library/busybox:1.36', args: ['true'] });
    const waiting = await waitForPod(client, ref(pod.metadata.name), (p) => mainStatus(p)?.state?.waiting?.reason === 'ErrImagePull', 'waiting with ErrImagePull');
    expect(waiting?.status?.phase).toBe('Pending');
    expect(mainStatus(waiting)?.state?.waiting?.message).toContain('docker.io/library/busybox:1.36');
    await client.delete('Pod', ref('foreign-image'));
    await waitForPod(client, ref('foreign-image'), (p) => p === undefined, 'removed');
  });

  it('refuses a command other than the image entrypoint with a clear reason', async () => {
    const pod = await createPod('custom-command', { command: ['/bin/sh', '-c'], args: ['echo hi'] });
    const waiting = await waitForPod(client, ref(pod.metadata.name), (p) => mainStatus(p)?.state?.waiting?.reason === 'CreateContainerConfigError', 'refused');
    expect(mainStatus(waiting)?.state?.waiting?.message).toContain('runs only the image entrypoint');
    await client.delete('Pod', ref('custom-command'));
  });

  it('accepts the image entrypoint as an explicit command', async () => {
    const pod = await createPod('explicit-entrypoint', { command: ['/nodejs/bin/node', '/app/bin/streamkeeper.js'], args: ['version'] });
    const done = await waitForPod(client, ref(pod.metadata.name), finished, 'finished');
    expect(done?.status?.phase).toBe('Succeeded');
  });

  it('is Ready only once its readiness probe passes', async () => {
    const [zkPort] = zkConnect().split(':').slice(1).map(Number);
    const probed = await createPod('probed', { args: ['sleep', '--seconds', '120'], readinessProbe: { tcpSocket: { port: zkPort ?? 0 }, periodSeconds: 1 } });
    const ready = await waitForPod(client, ref(probed.metadata.name), (p) => condition(p, 'Ready') === 'True', 'Ready');
    expect(mainStatus(ready)?.ready).toBe(true);
    const failing = await createPod('unready', { args: ['sleep', '--seconds', '120'], readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 1 }, ports: [{ name: 'metrics', containerPort: 1 }] });
    const running = await waitForPod(client, ref(failing.metadata.name), (p) => p?.status?.phase === 'Running', 'Running');
    expect(condition(running, 'Ready')).toBe('False');
    expect(condition(running, 'ContainersReady')).toBe('False');
    expect(mainStatus(running)?.ready).toBe(false);
    await client.delete('Pod', ref('probed'), { gracePeriodSeconds: 0 });
    await client.delete('Pod', ref('unready'), { gracePeriodSeconds: 0 });
  });

  it('leaves a pod whose nodeSelector it does not match Pending as Unschedulable', async () => {
    const pod = await createPod('elsewhere', { args: ['version'] }, { nodeSelector: { 'topology.kubernetes.io/zone': 'mars' } });
    const pending = await waitForPod(client, ref(pod.metadata.name), (p) => p?.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable') === true, 'Unschedulable');
    expect(pending?.spec?.nodeName).toBeUndefined();
    expect(pending?.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message).toContain("didn't match Pod's node affinity/selector");
  });
});
