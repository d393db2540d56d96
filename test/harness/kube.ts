/**
 * Helpers for integration tests on the shared real kube-apiserver: clients for the admin and the
 * operator identities, throwaway namespaces, and a node agent of the test's own (its own node
 * name, scheduling only the test's namespaces, so test files running in parallel never run each
 * other's pods).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientNodeKubeClient } from '../../src/kube/adapter.js';
import { ignoreNotFound, type KubeClient } from '../../src/kube/client.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { ObjectRef, Pod, Stored } from '../../src/kube/objects.js';
import { KubeRest } from '../../src/local/kube-rest.js';
import { NodeAgent } from '../../src/local/node-agent.js';
import { adminKubeconfig, operatorKubeconfig } from './servers.js';

export function adminKubeClient(): KubeClient {
  return new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: adminKubeconfig() }));
}

export function operatorKubeClient(): KubeClient {
  return new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: operatorKubeconfig() }));
}

export function adminRest(): KubeRest {
  return KubeRest.fromFile(adminKubeconfig());
}

export function operatorRest(): KubeRest {
  return KubeRest.fromFile(operatorKubeconfig());
}

/** A short random suffix for names that must not collide between runs and files. */
export function uniqueSuffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * Creates a namespace and waits for its `default` ServiceAccount (the ServiceAccount admission
 * plugin refuses pods until the controller has made it).
 */
export async function createNamespace(prefix: string, rest: KubeRest = adminRest()): Promise<string> {
  const name = `${prefix}-${uniqueSuffix()}`;
  await rest.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'test.streamkeeper.io/scratch': 'true' } } });
  const deadline = Date.now() + 60_000;
  while ((await rest.request('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`namespace ${name} got no default ServiceAccount within 60 s (is kube-controller-manager running?)`);
    await sleep(50);
  }
  return name;
}

/** Starts deleting a namespace (the namespace controller finishes it). */
export async function deleteNamespace(name: string, rest: KubeRest = adminRest()): Promise<void> {
  await rest.request('DELETE', `/api/v1/namespaces/${name}`);
}

export interface TestNodeAgent {
  readonly agent: NodeAgent;
  readonly nodeName: string;
  stop(): Promise<void>;
}

/** A node agent for one test file: its own node, scheduling only `namespaces`. */
export async function startTestNodeAgent(namespaces: readonly string[], client: KubeClient = adminKubeClient()): Promise<TestNodeAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'sk-node-agent-'));
  const nodeName = `test-node-${uniqueSuffix()}`;
  const agent = await NodeAgent.start({ client, nodeName, namespaces, workDir: join(dir, 'work'), logDir: join(dir, 'logs'), stopGraceMs: 2000 });
  return {
    agent,
    nodeName,
    async stop() {
      await agent.stop();
      await ignoreNotFound(client.delete('Node', { name: nodeName })).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls a pod until `check` holds (or it is gone, if `check` accepts undefined). */
export async function waitForPod(client: KubeClient, ref: ObjectRef, check: (pod: Stored<Pod> | undefined) => boolean, what: string, timeoutMs = 60_000): Promise<Stored<Pod> | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: Stored<Pod> | undefined;
  for (;;) {
    last = await ignoreNotFound(client.get('Pod', ref));
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`pod ${ref.namespace ?? ''}/${ref.name} was not ${what} within ${timeoutMs} ms; last status: ${JSON.stringify(last?.status ?? 'deleted')}`);
    await sleep(100);
  }
}
