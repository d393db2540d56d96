/**
 * The KubeClient contract against a real kube-apiserver through the client-node adapter. Not
 * part of the unit or integration projects: run it with a kubeconfig and an existing scratch
 * namespace (the StreamingJob CRD installed). The 410 Gone check runs when the etcd client URL
 * is given too: it compacts etcd, which makes old resourceVersions Gone for an API server
 * started with --watch-cache=false (a watch cache keeps serving its own window of history):
 *
 *   STREAMKEEPER_CONTRACT_KUBECONFIG=path STREAMKEEPER_CONTRACT_NAMESPACE=ns \
 *   [STREAMKEEPER_CONTRACT_ETCD=http://127.0.0.1:2379] \
 *     node --experimental-vm-modules node_modules/jest/bin/jest.js -c test/contract/kube/jest.config.mjs
 */
import { ClientNodeKubeClient } from '../../../src/kube/adapter.js';
import { loadKubeConfig } from '../../../src/kube/config.js';
import { kubeContract } from './kube-contract.js';

const etcd = process.env.STREAMKEEPER_CONTRACT_ETCD;

/** Compacts etcd up to its current revision through its JSON gateway. */
async function compactEtcd(endpoint: string): Promise<void> {
  const range = await fetch(`${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) });
  const { header } = (await range.json()) as { header: { revision: string } };
  const compacted = await fetch(`${endpoint}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: header.revision, physical: true }) });
  if (!compacted.ok) throw new Error(`etcd compaction failed: HTTP ${compacted.status} ${await compacted.text()}`);
}

kubeContract(
  'kube-apiserver via client-node',
  () => {
    const kubeconfig = process.env.STREAMKEEPER_CONTRACT_KUBECONFIG;
    const namespace = process.env.STREAMKEEPER_CONTRACT_NAMESPACE;
    if (kubeconfig === undefined || namespace === undefined) {
      throw new Error('set STREAMKEEPER_CONTRACT_KUBECONFIG and STREAMKEEPER_CONTRACT_NAMESPACE');
    }
    const client = new ClientNodeKubeClient(loadKubeConfig({ kind: 'file', path: kubeconfig }));
    return Promise.resolve({ client, namespace, ...(etcd === undefined ? {} : { expireHistory: () => compactEtcd(etcd) }) });
  },
  { canExpireHistory: etcd !== undefined },
);
