/**
 * The KubeClient contract against a real kube-apiserver through the client-node adapter. This
 * file starts a control plane of its own: the 410 Gone check compacts etcd, which expires old
 * resourceVersions only for an API server with its watch cache off (a watch cache keeps serving
 * its own window of history), and compacting the shared cluster's etcd would disturb other tests.
 */
import { afterAll } from '@jest/globals';
import { ClientNodeKubeClient } from '../../../src/kube/adapter.js';
import { loadKubeConfig } from '../../../src/kube/config.js';
import { ControlPlane } from '../../../src/local/control-plane.js';
import { streamingJobCrd } from '../../../src/local/local-supervisor.js';
import { kubeContract } from '../../contract/kube/kube-contract.js';
import { createNamespace } from '../../harness/kube.js';

let plane: ControlPlane | undefined;

/** Compacts etcd up to its current revision through its JSON gateway. */
async function compactEtcd(endpoint: string): Promise<void> {
  const range = await fetch(`${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) });
  const { header } = (await range.json()) as { header: { revision: string } };
  const compacted = await fetch(`${endpoint}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: header.revision, physical: true }) });
  if (!compacted.ok) throw new Error(`etcd compaction failed: HTTP ${compacted.status} ${await compacted.text()}`);
}

afterAll(async () => {
  await plane?.destroy();
});

kubeContract('kube-apiserver via client-node', async () => {
  const started = await ControlPlane.start({ crds: [streamingJobCrd], watchCache: false });
  plane = started;
  const namespace = await createNamespace('contract', started.adminRest());
  const client = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: started.adminKubeconfig }));
  return { client, namespace, expireHistory: () => compactEtcd(started.etcdEndpoint) };
});
