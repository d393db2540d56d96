/**
 * How loud a Kafka client's own log lines are in ours. Clients log the expected events of our
 * protocol as failures: a partition's task moving to another executor fences the previous
 * producer of its transactional id by design, and the client then reports an "old epoch" or a
 * fenced producer as an ERROR. ERROR in our logs means someone must act, so these become debug
 * lines; our own code says what happened, in our words, where it handles them. Kept apart from
 * any one client's log bridge, so the rules hold whichever client is wired in.
 */
import type { LogLevel } from '../../logging/logger.js';

/** Client messages that describe the protocol working as designed, not a fault. */
const expectedByDesign: readonly RegExp[] = [
  // A newer producer of the same transactional id took over: the task moved (fencing is how
  // exactly-once keeps a zombie out); the task runner handles it and says so.
  /old epoch/i,
  /INVALID_PRODUCER_EPOCH/,
  /PRODUCER_FENCED/,
  /producer.*fenced|fenced.*producer/i,
  // The idempotent producer's retries are bounded on purpose: a task that cannot write fails
  // and is retried by the protocol, with the transaction keeping it exactly once.
  /Limiting retries for the idempotent producer/i,
  // Responses the client retries by itself: a group coordinator or partition leader still being
  // elected (a fresh broker, a new topic). The request fails only when the retries run out, and
  // that failure reaches our code, which reports it (progress blockers), not this line.
  /coordinator (is )?not available|COORDINATOR_NOT_AVAILABLE/i,
  /coordinator load in progress|COORDINATOR_LOAD_IN_PROGRESS/i,
  /no leader for this topic-partition|LEADER_NOT_AVAILABLE/i,
];

function mentions(value: unknown, pattern: RegExp): boolean {
  return typeof value === 'string' && pattern.test(value);
}

/**
 * The level to log a client line at: `level` as the client chose it, except that lines about
 * expected protocol events (in the message or its error field) go to debug.
 */
export function clientLogLevel(level: LogLevel, message: string, fields: Readonly<Record<string, unknown>> = {}): LogLevel {
  if (level !== 'error' && level !== 'warn') return level;
  const texts = [message, fields.error, fields.err, fields.type];
  return expectedByDesign.some((pattern) => texts.some((text) => mentions(text, pattern))) ? 'debug' : level;
}
