/**
 * The contract between the pods the operator creates and the runtime inside them: the container
 * arguments and the environment variables the driver and executors read. Credentials arrive only
 * as Secret references (`valueFrom.secretKeyRef`), resolved by the kubelet; the operator never
 * reads them.
 */
import { credentialEnv } from '../../coordination/acl.js';

export const podEnv = {
  /** `namespace/name` of the StreamingJob. */
  job: 'STREAMKEEPER_JOB',
  /** The pod's own name and namespace (downward API); an executor registers under its name. */
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  /** ZooKeeper connect string, `host:port[,...][/chroot]`. */
  zkConnect: 'ZK_CONNECT',
  /** Root znode of streamkeeper's data (the operator's `--zk-root`). */
  zkRoot: 'STREAMKEEPER_ZK_ROOT',
  /** The job's ZooKeeper digest credential, from the job's credential Secret. */
  zkUser: credentialEnv.user,
  zkPassword: credentialEnv.password,
  /** `true` when the operator runs with `--insecure-zk-open-acl` (development only). */
  zkInsecureOpenAcl: credentialEnv.insecureOpenAcl,
  /** SASL credentials and TLS CA bundle of the source cluster, from the Secrets the spec names. */
  sourceSaslUsername: 'STREAMKEEPER_KAFKA_SOURCE_SASL_USERNAME',
  sourceSaslPassword: 'STREAMKEEPER_KAFKA_SOURCE_SASL_PASSWORD',
  sourceTlsCa: 'STREAMKEEPER_KAFKA_SOURCE_TLS_CA',
  /** Not secret, so plain values: `true` when TLS is on, and the SASL mechanism. */
  sourceTls: 'STREAMKEEPER_KAFKA_SOURCE_TLS',
  sourceSaslMechanism: 'STREAMKEEPER_KAFKA_SOURCE_SASL_MECHANISM',
  /** The same for the sink's cluster, after the "same as the source" default is resolved. */
  sinkSaslUsername: 'STREAMKEEPER_KAFKA_SINK_SASL_USERNAME',
  sinkSaslPassword: 'STREAMKEEPER_KAFKA_SINK_SASL_PASSWORD',
  sinkTlsCa: 'STREAMKEEPER_KAFKA_SINK_TLS_CA',
  sinkTls: 'STREAMKEEPER_KAFKA_SINK_TLS',
  sinkSaslMechanism: 'STREAMKEEPER_KAFKA_SINK_SASL_MECHANISM',
} as const;

/** Keys of the job credential Secret (the same keys src/coordination reads). */
export const credentialSecretKeys = { user: 'user', password: 'password' } as const;

/** The user and group the containers run as: the image's `nonroot` user. */
export const podUserId = 65532;

/** Where the writable scratch directory is mounted (the root filesystem is read-only). */
export const scratchMountPath = '/tmp';
