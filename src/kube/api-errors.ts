/**
 * Turns an API server failure (HTTP status + metav1.Status body) into the project's error
 * vocabulary, so callers branch on SK_* codes and never on HTTP numbers. The fake builds its
 * failures as Status bodies and passes them through here too, so both report alike.
 */
import { StreamkeeperError, type ErrorCode } from '../errors/index.js';
import type { Status } from './objects.js';

export interface ApiFailure {
  /** HTTP status code (for a watch ERROR event: the Status `code`). */
  readonly httpStatus: number;
  /** The parsed body, normally a metav1.Status. */
  readonly body?: unknown;
  /** The Retry-After response header, in seconds. */
  readonly retryAfterSeconds?: number;
  /** What was being done, for the message: `update Lease kube-system/streamkeeper`. */
  readonly operation: string;
}

interface StatusCause {
  readonly field?: string;
  readonly message?: string;
  readonly reason?: string;
}

function asStatus(body: unknown): Status | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const candidate = body as { kind?: unknown };
  return candidate.kind === 'Status' ? (body as Status) : undefined;
}

function codeFor(httpStatus: number, reason: string | undefined): ErrorCode {
  switch (httpStatus) {
    case 400:
      return 'SK_KUBE_BAD_REQUEST';
    case 403:
      return 'SK_KUBE_FORBIDDEN';
    case 404:
      return 'SK_KUBE_NOT_FOUND';
    case 409:
      return reason === 'AlreadyExists' ? 'SK_KUBE_ALREADY_EXISTS' : 'SK_KUBE_CONFLICT';
    case 410:
      return 'SK_KUBE_GONE';
    case 422:
      return 'SK_KUBE_INVALID';
    default:
      return 'SK_KUBE_ERROR';
  }
}

export function errorFromApiFailure(failure: ApiFailure): StreamkeeperError {
  const status = asStatus(failure.body);
  const reason = status?.reason;
  const code = codeFor(failure.httpStatus, reason);
  const causes = (status?.details?.causes ?? []) as StatusCause[];
  const field = causes.find((cause) => cause.field !== undefined && cause.field !== '')?.field;
  const detail = status?.message ?? (typeof failure.body === 'string' && failure.body.trim() !== '' ? failure.body.trim().slice(0, 500) : `HTTP ${failure.httpStatus}`);
  const retryAfterSeconds = failure.retryAfterSeconds ?? status?.details?.retryAfterSeconds;
  const retryAfterMs = code === 'SK_KUBE_ERROR' && retryAfterSeconds !== undefined && retryAfterSeconds > 0 ? retryAfterSeconds * 1000 : undefined;
  return new StreamkeeperError(code, `${failure.operation}: ${detail}`, {
    ...(field === undefined ? {} : { field }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** A metav1.Status body, as the API server sends with a failure. */
export function statusBody(code: number, reason: string, message: string, causes: readonly StatusCause[] = []): Status {
  return {
    apiVersion: 'v1',
    kind: 'Status',
    status: 'Failure',
    code,
    reason,
    message,
    ...(causes.length === 0 ? {} : { details: { causes: causes.map((cause) => ({ ...cause })) } }),
  };
}
