/**
 * Turns what kafkajs throws into the project's error vocabulary, so callers decide retry versus
 * give-up from an SK_* code instead of from kafkajs class names and protocol error strings.
 * Anything not recognised stays transient (SK_KAFKA_ERROR).
 */
import { StreamkeeperError, type ErrorCode } from '../../errors/index.js';

/** The fields kafkajs errors carry; read structurally so this module needs no kafkajs import. */
interface KafkajsErrorShape {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/** Kafka protocol error names (kafkajs `type`) with a meaning of their own. */
const codeByProtocolError: Readonly<Record<string, ErrorCode>> = {
  INVALID_PRODUCER_EPOCH: 'SK_KAFKA_FENCED',
  PRODUCER_FENCED: 'SK_KAFKA_FENCED',
  INVALID_PRODUCER_ID_MAPPING: 'SK_KAFKA_FENCED',
  INVALID_TXN_STATE: 'SK_KAFKA_TRANSACTION_STATE',
  UNKNOWN_TOPIC_OR_PARTITION: 'SK_KAFKA_UNKNOWN_TOPIC',
  UNKNOWN_TOPIC_ID: 'SK_KAFKA_UNKNOWN_TOPIC',
  OFFSET_OUT_OF_RANGE: 'SK_KAFKA_OFFSET_OUT_OF_RANGE',
  MESSAGE_TOO_LARGE: 'SK_KAFKA_RECORD_TOO_LARGE',
  RECORD_LIST_TOO_LARGE: 'SK_KAFKA_RECORD_TOO_LARGE',
  TOPIC_AUTHORIZATION_FAILED: 'SK_KAFKA_NOT_AUTHORIZED',
  GROUP_AUTHORIZATION_FAILED: 'SK_KAFKA_NOT_AUTHORIZED',
  CLUSTER_AUTHORIZATION_FAILED: 'SK_KAFKA_NOT_AUTHORIZED',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'SK_KAFKA_NOT_AUTHORIZED',
  SASL_AUTHENTICATION_FAILED: 'SK_KAFKA_AUTHENTICATION_FAILED',
  UNSUPPORTED_SASL_MECHANISM: 'SK_KAFKA_AUTHENTICATION_FAILED',
  ILLEGAL_SASL_STATE: 'SK_KAFKA_AUTHENTICATION_FAILED',
  INVALID_TOPIC_EXCEPTION: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_PARTITIONS: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_REPLICATION_FACTOR: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_REPLICA_ASSIGNMENT: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_CONFIG: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_REQUEST: 'SK_KAFKA_INVALID_REQUEST',
  POLICY_VIOLATION: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_TRANSACTION_TIMEOUT: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_RECORD: 'SK_KAFKA_INVALID_REQUEST',
  INVALID_TIMESTAMP: 'SK_KAFKA_INVALID_REQUEST',
  TOPIC_DELETION_DISABLED: 'SK_KAFKA_INVALID_REQUEST',
  UNSUPPORTED_VERSION: 'SK_KAFKA_UNSUPPORTED',
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 'SK_KAFKA_UNSUPPORTED',
};

/** kafkajs error classes (`name`) with a meaning of their own. */
const codeByErrorName: Readonly<Record<string, ErrorCode>> = {
  KafkaJSOffsetOutOfRange: 'SK_KAFKA_OFFSET_OUT_OF_RANGE',
  KafkaJSSASLAuthenticationError: 'SK_KAFKA_AUTHENTICATION_FAILED',
  KafkaJSNotImplemented: 'SK_KAFKA_UNSUPPORTED',
  KafkaJSServerDoesNotSupportApiKey: 'SK_KAFKA_UNSUPPORTED',
  KafkaJSUnsupportedMagicByteInMessageSet: 'SK_KAFKA_UNSUPPORTED',
  KafkaJSConnectionError: 'SK_KAFKA_UNREACHABLE',
  KafkaJSBrokerNotFound: 'SK_KAFKA_UNREACHABLE',
};

/**
 * Node.js's codes for a broker certificate TLS could not verify. kafkajs reports them as a
 * KafkaJSConnectionError like a refused connection, but waiting does not fix them: the CA or the
 * broker's certificate has to change.
 */
const certificateErrors: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** kafkajs 2.2.4 predates error code 90 and reports it as "Unknown error code 90". */
const unknownProducerFenced = /\bUnknown error code 90\b/;

function shape(err: unknown): KafkajsErrorShape | undefined {
  return typeof err === 'object' && err !== null ? (err as KafkajsErrorShape) : undefined;
}

/** The SK code for a kafkajs error, looking through retry wrappers to the error that caused them. */
export function kafkajsErrorCode(err: unknown): ErrorCode {
  for (let current = shape(err), depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof StreamkeeperError) return current.code;
    const code = (current as { readonly code?: unknown }).code;
    if (typeof code === 'string' && certificateErrors.has(code)) return 'SK_KAFKA_AUTHENTICATION_FAILED';
    const byType = typeof current.type === 'string' ? codeByProtocolError[current.type] : undefined;
    if (byType !== undefined) return byType;
    const byName = typeof current.name === 'string' ? codeByErrorName[current.name] : undefined;
    if (byName !== undefined) return byName;
    if (typeof current.message === 'string' && unknownProducerFenced.test(current.message)) return 'SK_KAFKA_FENCED';
    const firstOfMany = Array.isArray(current.errors) ? (current.errors as unknown[])[0] : undefined;
    current = shape(current.cause ?? firstOfMany);
  }
  return 'SK_KAFKA_ERROR';
}

function messageOf(err: unknown): string {
  const message = shape(err)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** Wraps a kafkajs failure of `what` (e.g. `send to orders/3`) as a StreamkeeperError; passes ours through. */
export function fromKafkajs(err: unknown, what: string): StreamkeeperError {
  if (err instanceof StreamkeeperError) return err;
  return new StreamkeeperError(kafkajsErrorCode(err), `${what}: ${messageOf(err)}`, { cause: err });
}

/** Errors after which asking for fresh metadata (who leads the partition now) and retrying may help. */
const staleLeadership = new Set(['NOT_LEADER_FOR_PARTITION', 'LEADER_NOT_AVAILABLE', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'REPLICA_NOT_AVAILABLE', 'KAFKA_STORAGE_ERROR', 'UNKNOWN_TOPIC_OR_PARTITION', 'NOT_COORDINATOR']);
const staleConnection = new Set(['KafkaJSBrokerNotFound', 'KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSLockTimeout', 'KafkaJSMetadataNotLoaded', 'KafkaJSTopicMetadataNotLoaded']);

export function isStaleLeadership(err: unknown): boolean {
  for (let current = shape(err), depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof StreamkeeperError) return false; // already judged final
    if (typeof current.type === 'string' && staleLeadership.has(current.type)) return true;
    if (typeof current.name === 'string' && staleConnection.has(current.name)) return true;
    current = shape(current.cause);
  }
  return false;
}

/**
 * The group coordinator is moving or still loading. kafkajs 2.2.4 means to retry these inside
 * `sendOffsets` but checks Java's names for them (NOT_COORDINATOR, …) rather than its own, so it
 * gives up at once; the adapter retries them itself.
 */
const coordinatorNotReady = new Set(['NOT_COORDINATOR_FOR_GROUP', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'GROUP_LOAD_IN_PROGRESS']);

export function isCoordinatorNotReady(err: unknown): boolean {
  for (let current = shape(err), depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof StreamkeeperError) return false;
    if (typeof current.type === 'string' && coordinatorNotReady.has(current.type)) return true;
    current = shape(current.cause);
  }
  return false;
}
