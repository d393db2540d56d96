import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError, classify, type ErrorCode } from '../../../../src/errors/index.js';
import { fromKafkajs, isCoordinatorNotReady, isStaleLeadership, kafkajsErrorCode } from '../../../../src/runtime/kafka/kafkajs-errors.js';

/** Shaped like kafkajs's errors (name, type, message, cause), without importing kafkajs. */
function kafkajsError(name: string, fields: { type?: string; message?: string; cause?: unknown; errors?: unknown[] } = {}): Error {
  return Object.assign(new Error(fields.message ?? name), { name, ...fields });
}
const protocol = (type: string): Error => kafkajsError('KafkaJSProtocolError', { type, message: `protocol error ${type}` });

describe('kafkajs error mapping', () => {
  it.each<[string, unknown, ErrorCode]>([
    ['an old producer epoch', protocol('INVALID_PRODUCER_EPOCH'), 'SK_KAFKA_FENCED'],
    ['error code 90, which kafkajs 2.2.4 does not know', kafkajsError('KafkaJSProtocolError', { type: 'KAFKAJS_UNKNOWN_ERROR_CODE', message: 'Unknown error code 90' }), 'SK_KAFKA_FENCED'],
    ['a transaction in the wrong state', protocol('INVALID_TXN_STATE'), 'SK_KAFKA_TRANSACTION_STATE'],
    ['an unknown topic', protocol('UNKNOWN_TOPIC_OR_PARTITION'), 'SK_KAFKA_UNKNOWN_TOPIC'],
    ['an unknown topic behind kafkajs’s retry wrapper', kafkajsError('KafkaJSNumberOfRetriesExceeded', { cause: protocol('UNKNOWN_TOPIC_OR_PARTITION') }), 'SK_KAFKA_UNKNOWN_TOPIC'],
    ['an offset out of range', kafkajsError('KafkaJSOffsetOutOfRange', { type: 'OFFSET_OUT_OF_RANGE' }), 'SK_KAFKA_OFFSET_OUT_OF_RANGE'],
    ['a record too large', protocol('MESSAGE_TOO_LARGE'), 'SK_KAFKA_RECORD_TOO_LARGE'],
    ['a refused SASL login', kafkajsError('KafkaJSSASLAuthenticationError'), 'SK_KAFKA_AUTHENTICATION_FAILED'],
    ['an unauthorised topic', protocol('TOPIC_AUTHORIZATION_FAILED'), 'SK_KAFKA_NOT_AUTHORIZED'],
    ['an unauthorised transactional id', protocol('TRANSACTIONAL_ID_AUTHORIZATION_FAILED'), 'SK_KAFKA_NOT_AUTHORIZED'],
    ['too few partitions', protocol('INVALID_PARTITIONS'), 'SK_KAFKA_INVALID_REQUEST'],
    ['the first of several topic creation errors', kafkajsError('KafkaJSAggregateError', { errors: [protocol('INVALID_REPLICATION_FACTOR')] }), 'SK_KAFKA_INVALID_REQUEST'],
    ['an unsupported protocol version', protocol('UNSUPPORTED_VERSION'), 'SK_KAFKA_UNSUPPORTED'],
    ['a request kafkajs cannot make', kafkajsError('KafkaJSNotImplemented'), 'SK_KAFKA_UNSUPPORTED'],
    ['a refused or lost connection', kafkajsError('KafkaJSConnectionError'), 'SK_KAFKA_UNREACHABLE'],
    ['a broker certificate the CA did not sign', Object.assign(kafkajsError('KafkaJSConnectionError', { message: 'Connection error: unable to verify the first certificate' }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 'SK_KAFKA_AUTHENTICATION_FAILED'],
    ['a broker certificate for another host', kafkajsError('KafkaJSNumberOfRetriesExceeded', { cause: Object.assign(kafkajsError('KafkaJSConnectionError'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) }), 'SK_KAFKA_AUTHENTICATION_FAILED'],
    ['a broker missing from the metadata', kafkajsError('KafkaJSBrokerNotFound'), 'SK_KAFKA_UNREACHABLE'],
    ['retries that ended on a refused connection', kafkajsError('KafkaJSNumberOfRetriesExceeded', { cause: kafkajsError('KafkaJSConnectionError') }), 'SK_KAFKA_UNREACHABLE'],
    ['a request timeout', kafkajsError('KafkaJSRequestTimeoutError'), 'SK_KAFKA_ERROR'],
    ['a coordinator that moved', protocol('NOT_COORDINATOR_FOR_GROUP'), 'SK_KAFKA_ERROR'],
    ['anything else', new Error('socket hang up'), 'SK_KAFKA_ERROR'],
    ['a value that is not an error', 'boom', 'SK_KAFKA_ERROR'],
    ['one of ours', new StreamkeeperError('SK_TIMEOUT', 'slow'), 'SK_TIMEOUT'],
  ])('maps %s', (_what, err, code) => {
    expect(kafkajsErrorCode(err)).toBe(code);
  });

  it('says what failed, keeps the cause, and lets callers classify it', () => {
    const cause = protocol('INVALID_PRODUCER_EPOCH');
    const err = fromKafkajs(cause, 'committing the transaction');
    expect(err).toMatchObject({ code: 'SK_KAFKA_FENCED', message: 'committing the transaction: protocol error INVALID_PRODUCER_EPOCH', cause });
    expect(classify(err).kind).toBe('permanent');
    expect(classify(fromKafkajs(kafkajsError('KafkaJSConnectionError'), 'x')).kind).toBe('transient');
  });

  it('passes its own errors through unchanged', () => {
    const ours = new StreamkeeperError('SK_TIMEOUT', 'slow');
    expect(fromKafkajs(ours, 'reading')).toBe(ours);
  });

  it.each<[string, unknown, boolean]>([
    ['a leader that moved', protocol('NOT_LEADER_FOR_PARTITION'), true],
    ['a partition still without leader', protocol('LEADER_NOT_AVAILABLE'), true],
    ['a lost connection, wrapped', kafkajsError('KafkaJSNumberOfRetriesExceeded', { cause: kafkajsError('KafkaJSConnectionError') }), true],
    ['an offset out of range', protocol('OFFSET_OUT_OF_RANGE'), false],
    ['a verdict already made', new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', 'gone', { cause: protocol('UNKNOWN_TOPIC_OR_PARTITION') }), false],
  ])('treats %s as stale leadership: %s', (_what, err, stale) => {
    expect(isStaleLeadership(err)).toBe(stale);
  });

  it.each<[string, unknown, boolean]>([
    ['kafkajs’s name for NOT_COORDINATOR', protocol('NOT_COORDINATOR_FOR_GROUP'), true],
    ['kafkajs’s name for COORDINATOR_LOAD_IN_PROGRESS', protocol('GROUP_LOAD_IN_PROGRESS'), true],
    ['kafkajs’s name for COORDINATOR_NOT_AVAILABLE', protocol('GROUP_COORDINATOR_NOT_AVAILABLE'), true],
    ['a fenced producer', protocol('INVALID_PRODUCER_EPOCH'), false],
  ])('retries an offset commit on %s: %s', (_what, err, retry) => {
    expect(isCoordinatorNotReady(err)).toBe(retry);
  });
});
