/**
 * What integration tests call to reach the shared real servers. A missing server is an error
 * with instructions, never a skipped test.
 */
import { readFileSync } from 'node:fs';

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

/**
 * The SASL_SSL listener of the same broker (SCRAM-SHA-512, a certificate from a CA the harness
 * made for this run): what a client needs to reach it, credentials included.
 */
export interface SecureKafka {
  readonly brokers: string[];
  readonly caPem: string;
  readonly mechanism: 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

export function kafkaSecure(): SecureKafka {
  const brokers = required('KAFKA_SECURE_BROKERS', "a real Kafka broker's SASL_SSL listener").split(',');
  const mechanism = required('KAFKA_SECURE_SASL_MECHANISM', "the SASL mechanism of Kafka's SASL_SSL listener");
  if (mechanism !== 'scram-sha-512') throw new Error(`KAFKA_SECURE_SASL_MECHANISM must be scram-sha-512 (got ${mechanism})`);
  return {
    brokers,
    caPem: readFileSync(required('KAFKA_SECURE_CA_FILE', "the CA of Kafka's SASL_SSL listener (a PEM file)"), 'utf8'),
    mechanism,
    username: required('KAFKA_SECURE_USERNAME', "a SCRAM user of Kafka's SASL_SSL listener"),
    password: required('KAFKA_SECURE_PASSWORD', "that SCRAM user's password"),
  };
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
