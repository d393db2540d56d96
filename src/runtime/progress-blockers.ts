/**
 * Turns the errors that keep a job from moving data into the causes its driver reports (see
 * coordination/progress-report.ts): which cause, what the message says, and the spec field the
 * user has to look at. Pure: the driver decides when to report, this decides what.
 */
import type { BlockerReason, ProgressBlocker } from '../coordination/progress-report.js';
import type { TaskRecord } from '../coordination/task-state.js';
import { errorCatalogue, type ErrorCode } from '../errors/index.js';
import type { KafkaSecretNames } from './job-settings.js';

/** A cause before it is dated: `since` is added when the driver first sees it. */
export type BlockerCause = Omit<ProgressBlocker, 'since'>;

export type KafkaSide = 'source' | 'sink';

/** An error as `classify(err).message` and task records spell it: `SK_CODE: spec.field: message`. */
export interface ParsedError {
  readonly code: ErrorCode | 'UNKNOWN';
  readonly field: string | undefined;
  readonly message: string;
}

const errorText = /^(SK_[A-Z_]+): (?:(spec\.[A-Za-z0-9_.[\]]+): )?([\s\S]*)$/;

export function parseError(text: string): ParsedError {
  const match = errorText.exec(text);
  const code = match?.[1];
  if (match === null || code === undefined || !(code in errorCatalogue)) return { code: 'UNKNOWN', field: undefined, message: text };
  return { code: code as ErrorCode, field: match[2], message: match[3] ?? '' };
}

function cause(reason: BlockerReason, message: string, field: string | undefined): BlockerCause {
  return field === undefined ? { reason, message } : { reason, message: `${message} (${field})`, field };
}

/** librdkafka and Node.js name a failed TLS handshake or certificate check with these words. */
const tlsFailure = /\b(?:ssl|tls|certificates?|x509)\b/i;

/**
 * A failed login towards one side's brokers, naming the Secret to look at and never its content:
 * a certificate the CA Secret (or, without one, the system CAs) cannot verify, or SASL
 * credentials the brokers refuse.
 */
export function authenticationBlocker(error: ParsedError, side: KafkaSide, brokers: readonly string[], secrets: KafkaSecretNames, where?: string): BlockerCause {
  const prefix = where === undefined ? '' : `${where}: `;
  if (tlsFailure.test(error.message)) {
    const trusted = secrets.ca === undefined ? 'the system CAs' : `the CA bundle of Secret ${secrets.ca}`;
    return cause('KafkaAuthenticationFailed', `${prefix}TLS towards the ${side} brokers ${brokers.join(',')} failed; their certificate must be signed by ${trusted}: ${error.message}`, `spec.${side}.kafka.tls.caSecretRef`);
  }
  const credentials = secrets.sasl === undefined ? 'no SASL credentials (spec.' + side + '.kafka.sasl is not set)' : `the SASL credentials of Secret ${secrets.sasl}`;
  return cause('KafkaAuthenticationFailed', `${prefix}the ${side} brokers ${brokers.join(',')} refused ${credentials}: ${error.message}`, `spec.${side}.kafka.sasl.secretRef`);
}

/**
 * Why the driver cannot read a source topic's offsets, or undefined when the failure is not one
 * the user can act on (a timeout, a leader election): those are retried, and a stall that lasts
 * shows up as no progress.
 */
export function sourceBlocker(error: ParsedError, topic: string, brokers: readonly string[], secrets: KafkaSecretNames = {}): BlockerCause | undefined {
  switch (error.code) {
    case 'SK_KAFKA_UNREACHABLE':
      return cause('KafkaUnreachable', `cannot reach the source brokers ${brokers.join(',')}: ${error.message}`, 'spec.source.kafka.bootstrapServers');
    case 'SK_KAFKA_UNKNOWN_TOPIC':
      return cause('SourceTopicMissing', `source topic ${topic} does not exist on ${brokers.join(',')}`, 'spec.source.kafka.topics');
    case 'SK_KAFKA_NOT_AUTHORIZED':
      return cause('KafkaAuthorizationFailed', `the source brokers ${brokers.join(',')} refused the job: ${error.message}`, 'spec.source.kafka.sasl');
    case 'SK_KAFKA_AUTHENTICATION_FAILED':
      return authenticationBlocker(error, 'source', brokers, secrets);
    default:
      return undefined;
  }
}

/** The side a task error is about, from the field the runtime attached to it. */
function sideOf(field: string | undefined): KafkaSide | undefined {
  if (field === undefined) return undefined;
  if (field.startsWith('spec.sink.') || field === 'spec.failurePolicy.deadLetterTopic') return 'sink';
  if (field.startsWith('spec.source.')) return 'source';
  return undefined;
}

/** Where each side's brokers are and which Secrets its credentials come from, for login failures. */
export interface KafkaSides {
  readonly source: { readonly brokers: readonly string[]; readonly secrets: KafkaSecretNames };
  readonly sink: { readonly brokers: readonly string[]; readonly secrets: KafkaSecretNames };
}

/** Why a task failed, from the error its executor recorded. */
export function taskBlocker(task: Pick<TaskRecord, 'id' | 'ranges' | 'error' | 'owner'>, sides?: KafkaSides): BlockerCause | undefined {
  if (task.error === undefined || task.error === '') return undefined;
  const error = parseError(task.error);
  const where = `task ${task.id} (${task.ranges.map((r) => `${r.topic}/${r.partition}`).join(', ')}) on ${task.owner}`;
  switch (error.code) {
    case 'SK_KAFKA_UNREACHABLE': {
      const side = sideOf(error.field);
      return cause('KafkaUnreachable', `${where} cannot reach ${side ?? 'the'} brokers: ${error.message}`, error.field);
    }
    case 'SK_KAFKA_UNKNOWN_TOPIC':
      return sideOf(error.field) === 'sink'
        ? cause('SinkTopicMissing', `${where}: ${error.message}`, error.field)
        : cause('SourceTopicMissing', `${where}: ${error.message}`, error.field ?? 'spec.source.kafka.topics');
    case 'SK_KAFKA_NOT_AUTHORIZED':
      return cause('KafkaAuthorizationFailed', `${where}: ${error.message}`, error.field);
    case 'SK_KAFKA_AUTHENTICATION_FAILED': {
      // A task logs in to both sides; without a field the error came from either.
      const side = sideOf(error.field) ?? 'source';
      if (sides !== undefined) return authenticationBlocker(error, side, sides[side].brokers, sides[side].secrets, where);
      return cause('KafkaAuthenticationFailed', `${where}: ${error.message}`, error.field);
    }
    case 'SK_PROCESSOR_ERROR':
      return cause('ProcessorFailed', `${where}: ${error.message}`, error.field ?? 'spec.processor');
    case 'SK_POISON_RECORD':
      return cause('PoisonRecord', `${where}: ${error.message}`, 'spec.failurePolicy.poisonRecords');
    case 'SK_KAFKA_FENCED':
      return cause('TransactionFenced', `${where}: ${error.message}`, undefined);
    case 'SK_STATE_LIMIT':
      return cause('StateLimitExceeded', `${where}: ${error.message}`, error.field ?? 'spec.aggregation.stateMemory');
    default:
      return cause('TaskFailing', `${where} failed: ${error.code === 'UNKNOWN' ? '' : `${error.code}: `}${error.field === undefined ? '' : `${error.field}: `}${error.message}`, undefined);
  }
}

/**
 * The cause to report for a batch's tasks: from the failed or exhausted task that failed most
 * often (the one furthest from succeeding), or undefined while no task has reported a failure.
 */
export function batchBlocker(tasks: readonly TaskRecord[], sides?: KafkaSides): BlockerCause | undefined {
  const failing = tasks
    .filter((t) => (t.state === 'failed' || t.state === 'exhausted') && t.error !== undefined && t.error !== '')
    .sort((a, b) => b.failures - a.failures || (a.id < b.id ? -1 : 1));
  const first = failing[0];
  return first === undefined ? undefined : taskBlocker(first, sides);
}

/** Whether two causes would read the same in status (what decides a new report). */
export function sameCause(a: BlockerCause | undefined, b: BlockerCause | undefined): boolean {
  return a?.reason === b?.reason && a?.message === b?.message && a?.field === b?.field;
}
