/**
 * Why a job cannot move data, as its driver reports it: part of the driver's registration (the
 * ephemeral `driver` node), so the report is read in the same request that tells the operator the
 * driver is alive, and goes with the process that wrote it. Small and bounded; it carries error
 * messages from Kafka, ZooKeeper and the processor, never a credential.
 */

/**
 * The causes a driver can name. Stable: they become condition reasons and Event reasons, and
 * docs/operator.md tells the user what to do about each.
 */
export const blockerReasons = [
  /** The source or sink brokers do not answer (spec.*.kafka.bootstrapServers). */
  'KafkaUnreachable',
  /** A source topic does not exist (spec.source.kafka.topics). */
  'SourceTopicMissing',
  /** The sink or dead-letter topic does not exist and is not auto-created. */
  'SinkTopicMissing',
  /** The brokers refused an operation of the job (broker ACLs on topics, groups, transactional ids). */
  'KafkaAuthorizationFailed',
  /** The brokers refused the SASL credentials, or TLS could not verify them (spec.*.kafka.sasl.secretRef, tls.caSecretRef). */
  'KafkaAuthenticationFailed',
  /** The processor cannot be loaded, throws, or returns records that cannot be written. */
  'ProcessorFailed',
  /** A record the processor rejects, with failurePolicy.poisonRecords: fail. */
  'PoisonRecord',
  /** A task's transaction keeps being fenced by another producer of the same transactional id. */
  'TransactionFenced',
  /** A state partition's aggregation state needs more than spec.aggregation.stateMemory. */
  'StateLimitExceeded',
  /** Tasks fail for a reason not listed above; the message carries the last error. */
  'TaskFailing',
] as const;

export type BlockerReason = (typeof blockerReasons)[number];

export interface ProgressBlocker {
  readonly reason: BlockerReason;
  /** What is wrong, naming the resource; at most `maxBlockerMessage` characters. */
  readonly message: string;
  /** The spec field to fix (`spec.source.kafka.topics`), when one is to blame. */
  readonly field?: string;
  /** When the driver first saw this cause (ISO time, the driver's clock). */
  readonly since: string;
}

/** The content of the `driver` node. */
export interface DriverRegistration {
  readonly pod: string;
  /** ISO time the driver process registered. */
  readonly startedAt: string;
  /** Present while the driver knows why the job cannot move data. */
  readonly blocked?: ProgressBlocker;
  /**
   * The last error the driver retried since its last committed batch, named or not: what a stall
   * nobody explains is reported with.
   */
  readonly lastError?: string;
}

export const maxBlockerMessage = 512;
export const maxLastError = 256;

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function isBlockerReason(value: unknown): value is BlockerReason {
  return typeof value === 'string' && (blockerReasons as readonly string[]).includes(value);
}

export function encodeDriverRegistration(registration: DriverRegistration): Buffer {
  const blocked = registration.blocked;
  return Buffer.from(
    JSON.stringify({
      pod: registration.pod,
      startedAt: registration.startedAt,
      ...(blocked === undefined ? {} : { blocked: { ...blocked, message: bounded(blocked.message, maxBlockerMessage) } }),
      ...(registration.lastError === undefined ? {} : { lastError: bounded(registration.lastError, maxLastError) }),
    }),
  );
}

/**
 * Reads a driver registration. A node written by an older driver (no report) or one that cannot be
 * parsed is a registration without a report: the node's existence is what makes the driver live.
 */
export function decodeDriverRegistration(data: Buffer): DriverRegistration {
  let parsed: { pod?: unknown; startedAt?: unknown; blocked?: unknown; lastError?: unknown } = {};
  try {
    const value: unknown = JSON.parse(data.toString('utf8'));
    if (value !== null && typeof value === 'object') parsed = value as typeof parsed;
  } catch {
    // a registration without a report
  }
  const b = (typeof parsed.blocked === 'object' && parsed.blocked !== null ? parsed.blocked : {}) as { reason?: unknown; message?: unknown; field?: unknown; since?: unknown };
  const blocked: ProgressBlocker | undefined =
    isBlockerReason(b.reason) && typeof b.message === 'string' && typeof b.since === 'string'
      ? { reason: b.reason, message: bounded(b.message, maxBlockerMessage), since: b.since, ...(typeof b.field === 'string' && b.field.startsWith('spec.') ? { field: b.field } : {}) }
      : undefined;
  return {
    pod: typeof parsed.pod === 'string' ? parsed.pod : '',
    startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : '',
    ...(blocked === undefined ? {} : { blocked }),
    ...(typeof parsed.lastError === 'string' && parsed.lastError !== '' ? { lastError: bounded(parsed.lastError, maxLastError) } : {}),
  };
}
