/**
 * What a real node costs against the node agent (the baseline), in one invocation on one control
 * plane: the time from starting the node to a Ready Node, and from creating a pod of the
 * streamkeeper image (`streamkeeper version`) to its Succeeded phase. The node agent runs the
 * image's CLI as a local process; the kubelet runs the image built from the Dockerfile on
 * containerd + runc.
 *
 *   node bench/run.mjs bench/node-startup.ts [--rounds 3]
 *
 * Needs root (containerd, runc) and builds what it needs on a cold cache (tools/kube/install.sh,
 * tools/container-runtime/install.sh, tools/image/build.sh) before timing anything.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClientNodeKubeClient } from '../src/kube/adapter.js';
import { loadKubeConfig } from '../src/kube/config.js';
import { ControlPlane } from '../src/local/control-plane.js';
import type { KubeRest } from '../src/local/kube-rest.js';
import { KubeletNode } from '../src/local/kubelet-node.js';
import { NodeAgent } from '../src/local/node-agent.js';
import { nodeImages, streamkeeperImage } from '../src/local/node-images.js';
import { ensureBuilt } from './support/built.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Creates a `streamkeeper version` pod and returns the milliseconds until it Succeeded. */
async function versionPod(rest: KubeRest, namespace: string, name: string, image: string): Promise<number> {
  const started = Date.now();
  const created = await rest.request('POST', `/api/v1/namespaces/${namespace}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'streamkeeper',
            image,
            imagePullPolicy: 'Never',
            args: ['version'],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
  });
  if (created.status !== 201) throw new Error(`creating pod ${name}: ${created.status}`);
  await until(async () => {
    const pod = (await rest.request('GET', `/api/v1/namespaces/${namespace}/pods/${name}`)).body as { status?: { phase?: string } };
    if (pod.status?.phase === 'Failed') throw new Error(`pod ${name} failed`);
    return pod.status?.phase === 'Succeeded';
  }, `pod ${name} Succeeded`);
  return Date.now() - started;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

ensureBuilt();
nodeImages();
const image = streamkeeperImage();
const plane = await ControlPlane.start({ scheduler: true });
const rest = plane.adminRest();
const namespace = 'bench';
await rest.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
await until(async () => (await rest.request('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`)).status === 200, 'default ServiceAccount');

const results = { agent: { ready: [] as number[], pod: [] as number[] }, kubelet: { ready: [] as number[], pod: [] as number[] } };
try {
  for (let round = 1; round <= rounds; round++) {
    // Baseline: the node agent.
    const dir = mkdtempSync(join(tmpdir(), 'sk-bench-agent-'));
    let started = Date.now();
    const agent = await NodeAgent.start({ client: new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: plane.adminKubeconfig })), nodeName: `agent-${round}`, workDir: dir, logDir: join(dir, 'logs') });
    results.agent.ready.push(Date.now() - started);
    results.agent.pod.push(await versionPod(rest, namespace, `agent-${round}`, image.ref));
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
    await rest.request('DELETE', `/api/v1/nodes/agent-${round}`);

    started = Date.now();
    const node = await KubeletNode.start({ controlPlane: plane, images: [image] });
    results.kubelet.ready.push(Date.now() - started);
    results.kubelet.pod.push(await versionPod(rest, namespace, `kubelet-${round}`, image.ref));
    process.stdout.write(`round ${round}: kubelet node steps (cumulative ms) ${JSON.stringify(node.timings)}\n`);
    await node.destroy();
    await rest.request('DELETE', `/api/v1/nodes/${node.nodeName}`);
  }
} finally {
  await plane.destroy();
}

const row = (name: string, agent: number, kubelet: number): string => `${name.padEnd(34)} ${String(agent).padStart(8)} ${String(kubelet).padStart(8)} ${(kubelet / agent).toFixed(1).padStart(7)}x`;
process.stdout.write(`\nmedians of ${rounds} rounds, ms        agent  kubelet   ratio\n`);
process.stdout.write(`${row('node start to Ready', median(results.agent.ready), median(results.kubelet.ready))}\n`);
process.stdout.write(`${row('pod create to Succeeded', median(results.agent.pod), median(results.kubelet.pod))}\n`);
process.stdout.write(`${row('both', median(results.agent.ready) + median(results.agent.pod), median(results.kubelet.ready) + median(results.kubelet.pod))}\n`);
