/**
 * One vocabulary for every error streamkeeper can show a user or act on. Each error has a stable
 * code (SK_*), a kind that says how callers must react, and — where it applies — the spec field
 * or resource it is about. Anything that is not a StreamkeeperError is treated as transient.
 */

/** How a caller reacts: retry later, give up, report the spec as invalid, or print usage. */
export type ErrorKind = 'transient' | 'permanent' | 'invalid-spec' | 'usage';

interface CodeEntry {
  readonly kind: ErrorKind;
  readonly summary: string;
}

/** The catalogue. Codes are part of the public contract (status reasons, Events, exit messages). */
export const errorCatalogue = {
  SK_USAGE: { kind: 'usage', summary: 'the command line is not valid' },
  SK_INVALID_SPEC: { kind: 'invalid-spec', summary: 'the StreamingJob spec is not valid' },
  SK_CONFIG_TOO_LARGE: { kind: 'invalid-spec', summary: 'the job config is larger than a znode may hold' },
  SK_PREREQUISITE_MISSING: { kind: 'permanent', summary: 'a program or server streamkeeper needs is missing' },
  SK_SERVER_START_FAILED: { kind: 'permanent', summary: 'a local server did not start' },
  SK_TIMEOUT: { kind: 'transient', summary: 'an operation did not finish in time' },
  SK_ZK_CONNECTION_LOSS: { kind: 'transient', summary: 'the ZooKeeper connection was lost' },
  SK_ZK_SESSION_EXPIRED: { kind: 'transient', summary: 'the ZooKeeper session expired' },
  SK_ZK_NO_NODE: { kind: 'permanent', summary: 'the znode does not exist' },
  SK_ZK_NODE_EXISTS: { kind: 'permanent', summary: 'the znode already exists' },
  SK_ZK_BAD_VERSION: { kind: 'permanent', summary: 'the znode changed since it was read' },
  SK_ZK_NOT_EMPTY: { kind: 'permanent', summary: 'the znode has children' },
  SK_ZK_NO_AUTH: { kind: 'permanent', summary: 'not authorised for this znode' },
  SK_ZK_ERROR: { kind: 'transient', summary: 'ZooKeeper reported an error' },
  SK_ZK_CREDENTIALS_MISSING: { kind: 'permanent', summary: 'no ZooKeeper credentials were found for this process' },
  SK_TASK_STALE: { kind: 'permanent', summary: 'the task is no longer held by this owner and attempt' },
  SK_KAFKA_ERROR: { kind: 'transient', summary: 'Kafka reported an error' },
  SK_KAFKA_UNREACHABLE: { kind: 'transient', summary: 'no Kafka broker answered (refused, unresolvable or timed out connections)' },
  SK_KAFKA_FENCED: { kind: 'permanent', summary: 'a newer producer with the same transactional id took over (or the broker expired the transaction); this producer can only be closed' },
  SK_KAFKA_TRANSACTION_STATE: { kind: 'permanent', summary: 'the transactional producer is not in a state that allows this operation' },
  SK_KAFKA_UNKNOWN_TOPIC: { kind: 'permanent', summary: 'the Kafka topic or partition does not exist' },
  SK_KAFKA_OFFSET_OUT_OF_RANGE: { kind: 'permanent', summary: 'the requested offsets are no longer (or not yet) in the partition log' },
  SK_KAFKA_RECORD_TOO_LARGE: { kind: 'permanent', summary: 'a record or batch is larger than the broker accepts' },
  SK_KAFKA_NOT_AUTHORIZED: { kind: 'permanent', summary: 'Kafka refused the operation (topic, group, cluster or transactional-id ACLs)' },
  SK_KAFKA_AUTHENTICATION_FAILED: { kind: 'permanent', summary: 'the Kafka brokers refused the SASL credentials, or TLS could not verify the brokers with the trusted CA' },
  SK_KAFKA_INVALID_REQUEST: { kind: 'permanent', summary: 'the Kafka request is not valid' },
  SK_KAFKA_UNSUPPORTED: { kind: 'permanent', summary: 'the Kafka broker does not support a protocol version the client speaks' },
  SK_KUBE_CONFLICT: { kind: 'transient', summary: 'the object changed since it was read' },
  SK_KUBE_NOT_FOUND: { kind: 'permanent', summary: 'the Kubernetes object does not exist' },
  SK_KUBE_FORBIDDEN: { kind: 'permanent', summary: 'the operator is not allowed to do this' },
  SK_KUBE_ERROR: { kind: 'transient', summary: 'the Kubernetes API reported an error' },
  SK_KUBE_GONE: { kind: 'transient', summary: 'the resourceVersion is too old to watch from; list again' },
  SK_KUBE_ALREADY_EXISTS: { kind: 'permanent', summary: 'the Kubernetes object already exists' },
  SK_KUBE_INVALID: { kind: 'invalid-spec', summary: 'the Kubernetes API rejected the object as invalid' },
  SK_KUBE_BAD_REQUEST: { kind: 'permanent', summary: 'the Kubernetes API rejected the request' },
  SK_KUBE_CONFIG: { kind: 'permanent', summary: 'no usable Kubernetes client configuration' },
  SK_PROCESSOR_ERROR: { kind: 'permanent', summary: 'the processor failed, could not be loaded, or returned records that cannot be written' },
  SK_STATE_LIMIT: { kind: 'permanent', summary: 'the aggregation state of a state partition needs more memory than spec.aggregation.stateMemory allows' },
  SK_POISON_RECORD: { kind: 'permanent', summary: 'a record the processor rejected, with failurePolicy.poisonRecords: fail' },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof errorCatalogue;

export interface ErrorOptions {
  /** The spec field (JSON path such as `spec.executors.replicas`) or resource the error is about. */
  readonly field?: string;
  /** For transient errors: how long to wait before trying again. */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

export class StreamkeeperError extends Error {
  override readonly name = 'StreamkeeperError';
  readonly kind: ErrorKind;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = errorCatalogue[code].kind;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** `SK_INVALID_SPEC: spec.executors.replicas: must be at least 1` */
  override toString(): string {
    return `${this.code}: ${this.field === undefined ? '' : `${this.field}: `}${this.message}`;
  }
}

export function invalidSpec(field: string, message: string): StreamkeeperError {
  return new StreamkeeperError('SK_INVALID_SPEC', message, { field });
}

export function usageError(message: string): StreamkeeperError {
  return new StreamkeeperError('SK_USAGE', message);
}

/** What a caller should do with any thrown value. Unknown errors are transient. */
export interface Classified {
  readonly kind: ErrorKind;
  readonly code: ErrorCode | 'UNKNOWN';
  readonly message: string;
  readonly retryAfterMs: number | undefined;
}

export function classify(err: unknown): Classified {
  if (err instanceof StreamkeeperError) {
    return { kind: err.kind, code: err.code, message: err.toString(), retryAfterMs: err.retryAfterMs };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'transient', code: 'UNKNOWN', message, retryAfterMs: undefined };
}

export function isStreamkeeperError(err: unknown, code?: ErrorCode): err is StreamkeeperError {
  return err instanceof StreamkeeperError && (code === undefined || err.code === code);
}
