// Starts the real servers the integration tests share — ZooKeeper, Kafka (KRaft) and a
// Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) — once per jest run, in
// parallel, on free loopback ports with throwaway data directories. Servers named by ZK_CONNECT /
// KAFKA_BROKERS / KUBECONFIG_ADMIN are used instead when set. Addresses and kubeconfigs reach the
// test workers through the environment, which they inherit:
//
//   ZK_CONNECT, KAFKA_BROKERS
//   KAFKA_SECURE_BROKERS, KAFKA_SECURE_CA_FILE, KAFKA_SECURE_SASL_MECHANISM, KAFKA_SECURE_USERNAME,
//   KAFKA_SECURE_PASSWORD   the same broker's SASL_SSL listener (SCRAM-SHA-512, a CA made per run)
//   KUBECONFIG_ADMIN     system:masters (bypasses RBAC)
//   KUBECONFIG_OPERATOR  the operator's ServiceAccount with exactly the RBAC of manifests/install.yaml
//   KUBECTL              a kubectl matching the API server
//   KUBE_API_SERVER      the API server URL
//
// Jest loads global setup outside its module transform, so this file is plain JavaScript and uses
// the compiled launchers in dist/ (built here, incrementally, so running jest directly works).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from './build.mjs';

export default async function globalSetup() {
  ensureBuilt();
  const { reapOrphans } = await import('../../dist/local/supervised-process.js');
  const { ServerSet } = await import('../../dist/local/server-set.js');
  const { streamingJobCrd } = await import('../../dist/local/local-supervisor.js');
  const reaped = reapOrphans();
  if (reaped.length > 0) process.stderr.write(`harness: reaped servers left by an earlier run: ${reaped.join(', ')}\n`);
  const externalCluster = process.env.KUBECONFIG_ADMIN !== undefined && process.env.KUBECONFIG_ADMIN !== '';
  const servers = await ServerSet.start({
    zkConnect: process.env.ZK_CONNECT,
    kafkaBrokers: process.env.KAFKA_BROKERS,
    kafkaSecureListener: true,
    controlPlane: externalCluster ? undefined : { crds: [streamingJobCrd] },
  });
  globalThis.__streamkeeperServers = servers;
  try {
    process.env.ZK_CONNECT = servers.zkConnect;
    process.env.KAFKA_BROKERS = servers.kafkaBrokers;
    const secure = servers.kafka?.secure;
    if (secure !== undefined) {
      process.env.KAFKA_SECURE_BROKERS = secure.bootstrapServers;
      process.env.KAFKA_SECURE_CA_FILE = secure.caFile;
      process.env.KAFKA_SECURE_SASL_MECHANISM = secure.sasl.mechanism;
      process.env.KAFKA_SECURE_USERNAME = secure.sasl.username;
      process.env.KAFKA_SECURE_PASSWORD = secure.sasl.password;
    }
    const plane = servers.controlPlane;
    if (plane !== undefined) {
      process.env.KUBECONFIG_ADMIN = plane.adminKubeconfig;
      process.env.KUBECONFIG_OPERATOR = await plane.operatorKubeconfig();
      process.env.KUBECTL = plane.kubectl;
      process.env.KUBE_API_SERVER = plane.server;
    } else {
      await useExternalCluster(streamingJobCrd);
    }
  } catch (err) {
    globalThis.__streamkeeperServers = undefined;
    await servers.destroy();
    throw err;
  }
  const secureBrokers = process.env.KAFKA_SECURE_BROKERS ?? 'none';
  process.stderr.write(`\nharness: ZooKeeper ${servers.zkConnect}, Kafka ${servers.kafkaBrokers} (SASL_SSL ${secureBrokers}), kube-apiserver ${process.env.KUBE_API_SERVER}\n`);
}

/** A cluster given by KUBECONFIG_ADMIN: install the CRD and the operator's access there. */
async function useExternalCluster(crd) {
  const { KubeRest } = await import('../../dist/local/kube-rest.js');
  const { readManifestFile } = await import('../../dist/local/control-plane.js');
  const { writeOperatorKubeconfig } = await import('../../dist/local/operator-access.js');
  const admin = KubeRest.fromFile(process.env.KUBECONFIG_ADMIN);
  for (const object of readManifestFile(crd)) {
    await admin.apply(object);
    await admin.waitForCrdEstablished(object.metadata.name);
  }
  if (process.env.KUBECONFIG_OPERATOR === undefined || process.env.KUBECONFIG_OPERATOR === '') {
    const dir = mkdtempSync(join(tmpdir(), 'sk-harness-'));
    globalThis.__streamkeeperScratch = dir;
    const file = join(dir, 'operator.kubeconfig');
    await writeOperatorKubeconfig(admin, { file });
    process.env.KUBECONFIG_OPERATOR = file;
  }
  if (process.env.KUBECTL === undefined || process.env.KUBECTL === '') {
    const { kubeBinaries } = await import('../../dist/local/kube-binaries.js');
    process.env.KUBECTL = kubeBinaries().kubectl;
  }
  process.env.KUBE_API_SERVER = admin.config.getCurrentCluster()?.server ?? '';
}
