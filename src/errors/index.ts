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
  SK_NOT_BUILT: { kind: 'permanent', summary: 'this part of streamkeeper is not available in this build' },
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
  SK_KAFKA_ERROR: { kind: 'transient', summary: 'Kafka reported an error' },
  SK_KUBE_CONFLICT: { kind: 'transient', summary: 'the object changed since it was read' },
  SK_KUBE_NOT_FOUND: { kind: 'permanent', summary: 'the Kubernetes object does not exist' },
  SK_KUBE_FORBIDDEN: { kind: 'permanent', summary: 'the operator is not allowed to do this' },
  SK_KUBE_ERROR: { kind: 'transient', summary: 'the Kubernetes API reported an error' },
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
