/**
 * What the driver and executor processes learn from their pod: the environment the operator sets
 * (declared here, once, and written into pod templates by the operator), read and checked in one
 * place. Credentials arrive only as Secret references (`valueFrom.secretKeyRef`), resolved by the
 * kubelet; the operator never reads them.
 * Kafka credentials arrive here from Secrets and go to the Kafka client only, never to ZooKeeper
 * or a log line.
 */
import { credentialEnv, readCredential, type DigestCredential } from '../coordination/acl.js';
import { defaultRoot, type JobRef } from '../coordination/layout.js';
import { kafkaClientEnv, parseKafkaClientLibrary, saslMechanisms, type KafkaClientLibrary, type KafkaSaslSettings, type KafkaTlsSettings, type SaslMechanism } from './kafka/index.js';
import { usageError } from '../errors/index.js';

/** The variables the operator sets on driver and executor pods. */
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

/** Variables the runtime reads beyond the operator's `podEnv`: where to serve metrics. */
export const runtimeEnv = {
  ...podEnv,
  /** `[HOST]:PORT` for /metrics, /healthz and /readyz (the `--metrics-addr` flag wins). */
  metricsAddr: 'STREAMKEEPER_METRICS_ADDR',
  /** The Kafka client library: `librdkafka` (the default) or `kafkajs`, see client-library.ts. */
  kafkaClient: kafkaClientEnv,
} as const;

/** TLS and SASL towards one Kafka cluster; the brokers come from the mirrored config. */
export interface KafkaAccess {
  readonly tls?: KafkaTlsSettings;
  readonly sasl?: KafkaSaslSettings;
}

export interface PodEnvironment {
  readonly job: JobRef;
  /** The pod's name: an executor registers under it. */
  readonly pod: string;
  readonly zkConnect: string;
  readonly zkRoot: string;
  /** undefined only with open ACLs (development). */
  readonly credential: DigestCredential | undefined;
  readonly source: KafkaAccess;
  readonly sink: KafkaAccess;
  readonly metricsAddr: string | undefined;
  readonly kafkaClient: KafkaClientLibrary;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** `namespace/name`. */
export function parseJobRef(text: string, source: string): JobRef {
  const match = /^([^/]+)\/([^/]+)$/.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) throw usageError(`${source} must be NAMESPACE/NAME (got "${text}")`);
  return { namespace: match[1], name: match[2] };
}

function kafkaAccess(env: NodeJS.ProcessEnv, names: { tls: string; ca: string; mechanism: string; username: string; password: string }): KafkaAccess {
  const ca = nonEmpty(env[names.ca]);
  const tlsFlag = nonEmpty(env[names.tls]);
  if (tlsFlag !== undefined && tlsFlag !== 'true' && tlsFlag !== 'false') throw usageError(`${names.tls} must be true or false (got "${tlsFlag}")`);
  const tls: KafkaTlsSettings | undefined = ca !== undefined ? { ca } : tlsFlag === 'true' ? {} : undefined;
  const username = nonEmpty(env[names.username]);
  const password = nonEmpty(env[names.password]);
  if ((username === undefined) !== (password === undefined)) throw usageError(`${names.username} and ${names.password} must be set together`);
  let sasl: KafkaSaslSettings | undefined;
  if (username !== undefined && password !== undefined) {
    const mechanism = nonEmpty(env[names.mechanism]);
    if (mechanism === undefined || !(saslMechanisms as readonly string[]).includes(mechanism)) {
      throw usageError(`${names.mechanism} must be one of ${saslMechanisms.join(', ')} when SASL credentials are given (got "${mechanism ?? ''}")`);
    }
    sasl = { mechanism: mechanism as SaslMechanism, username, password };
  }
  return { ...(tls === undefined ? {} : { tls }), ...(sasl === undefined ? {} : { sasl }) };
}

/**
 * Reads the pod's environment; `flags` (the command line) win over it. Missing ZooKeeper
 * credentials are an error unless open ACLs were asked for (see `readCredential`).
 */
export function readPodEnvironment(env: NodeJS.ProcessEnv, flags: { readonly job?: string; readonly zkConnect?: string; readonly zkRoot?: string; readonly pod?: string; readonly metricsAddr?: string } = {}): PodEnvironment {
  const jobText = flags.job ?? nonEmpty(env[runtimeEnv.job]);
  if (jobText === undefined) throw usageError(`--job NAMESPACE/NAME (or ${runtimeEnv.job}) is required`);
  const zkConnect = flags.zkConnect ?? nonEmpty(env[runtimeEnv.zkConnect]);
  if (zkConnect === undefined) throw usageError(`--zk-connect (or ${runtimeEnv.zkConnect}) is required`);
  const pod = flags.pod ?? nonEmpty(env[runtimeEnv.podName]);
  if (pod === undefined) throw usageError(`${runtimeEnv.podName} (the pod's name) is required`);
  return {
    job: parseJobRef(jobText, flags.job === undefined ? runtimeEnv.job : '--job'),
    pod,
    zkConnect,
    zkRoot: flags.zkRoot ?? nonEmpty(env[runtimeEnv.zkRoot]) ?? defaultRoot,
    credential: readCredential(env),
    source: kafkaAccess(env, { tls: runtimeEnv.sourceTls, ca: runtimeEnv.sourceTlsCa, mechanism: runtimeEnv.sourceSaslMechanism, username: runtimeEnv.sourceSaslUsername, password: runtimeEnv.sourceSaslPassword }),
    sink: kafkaAccess(env, { tls: runtimeEnv.sinkTls, ca: runtimeEnv.sinkTlsCa, mechanism: runtimeEnv.sinkSaslMechanism, username: runtimeEnv.sinkSaslUsername, password: runtimeEnv.sinkSaslPassword }),
    metricsAddr: flags.metricsAddr ?? nonEmpty(env[runtimeEnv.metricsAddr]),
    kafkaClient: parseKafkaClientLibrary(nonEmpty(env[runtimeEnv.kafkaClient])),
  };
}
