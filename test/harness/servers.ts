/**
 * What integration tests call to reach the shared real servers. A missing server is an error
 * with instructions, never a skipped test.
 */
function required(name: string, what: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${what} is required but ${name} is not set. Run the integration tests through \`npm test\` (or \`npm run test:integration\`), whose harness installs and starts it, or set ${name} to a running server.`);
  }
  return value;
}

export function zkConnect(): string {
  return required('ZK_CONNECT', 'a real ZooKeeper server');
}

export function kafkaBrokers(): string[] {
  return required('KAFKA_BROKERS', 'a real Kafka broker').split(',');
}

/** A kubeconfig with cluster-admin rights (group system:masters) on the real kube-apiserver. */
export function adminKubeconfig(): string {
  return required('KUBECONFIG_ADMIN', 'a real kube-apiserver (admin kubeconfig)');
}

/**
 * A kubeconfig for the operator's ServiceAccount, holding exactly the RBAC objects of
 * manifests/install.yaml: what the operator gets when users install it.
 */
export function operatorKubeconfig(): string {
  return required('KUBECONFIG_OPERATOR', "a real kube-apiserver (the operator's kubeconfig)");
}

/** A kubectl binary matching the API server. */
export function kubectl(): string {
  return required('KUBECTL', 'kubectl');
}
