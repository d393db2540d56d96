import { describe, expect, it } from '@jest/globals';
import { decodeDriverRegistration, encodeDriverRegistration, maxBlockerMessage } from '../../../src/coordination/progress-report.js';
import type { TaskRecord } from '../../../src/coordination/task-state.js';
import { batchBlocker, parseError, sourceBlocker, taskBlocker } from '../../../src/runtime/progress-blockers.js';

function task(error: string | undefined, shape: Partial<TaskRecord> = {}): TaskRecord {
  return { id: '0000000003-00000', batch: '0000000003', ranges: [{ topic: 'in', partition: 0, from: '0', to: '5' }], state: 'failed', owner: 'job-executor-0', attempt: 2, failures: 1, ...(error === undefined ? {} : { error }), ...shape };
}

describe('the causes a driver reports', () => {
  it('reads the code, the field and the message of an error as executors record it', () => {
    expect(parseError('SK_KAFKA_UNKNOWN_TOPIC: spec.sink.kafka.topic: topic out does not exist')).toEqual({ code: 'SK_KAFKA_UNKNOWN_TOPIC', field: 'spec.sink.kafka.topic', message: 'topic out does not exist' });
    expect(parseError('SK_POISON_RECORD: record in/0@1: the value is not JSON')).toEqual({ code: 'SK_POISON_RECORD', field: undefined, message: 'record in/0@1: the value is not JSON' });
    expect(parseError('socket hang up')).toEqual({ code: 'UNKNOWN', field: undefined, message: 'socket hang up' });
    expect(parseError('SK_NOT_A_CODE: x')).toMatchObject({ code: 'UNKNOWN' });
  });

  it.each([
    ['SK_KAFKA_UNREACHABLE: connecting the Kafka admin client: Connection error: connect ECONNREFUSED 127.0.0.1:1', 'KafkaUnreachable', 'spec.source.kafka.bootstrapServers', 'cannot reach the source brokers 127.0.0.1:1'],
    ['SK_KAFKA_UNKNOWN_TOPIC: fetching offsets of in: This server does not host this topic-partition', 'SourceTopicMissing', 'spec.source.kafka.topics', 'source topic in does not exist on 127.0.0.1:1'],
    ['SK_KAFKA_NOT_AUTHORIZED: SASL PLAIN authentication failed', 'KafkaAuthorizationFailed', 'spec.source.kafka.sasl', 'refused the job'],
  ])('names the source field for %s', (error, reason, field, words) => {
    const cause = sourceBlocker(parseError(error), 'in', ['127.0.0.1:1']);
    expect(cause).toMatchObject({ reason, field });
    expect(cause?.message).toContain(words);
    expect(cause?.message).toContain(`(${field})`);
  });

  it('names the Secret of refused SASL credentials, never its content', () => {
    const cause = sourceBlocker(parseError('SK_KAFKA_AUTHENTICATION_FAILED: fetching offsets of in: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512'), 'in', ['k:9093'], { sasl: 'kafka-sasl', ca: 'kafka-ca' });
    expect(cause).toEqual({
      reason: 'KafkaAuthenticationFailed',
      field: 'spec.source.kafka.sasl.secretRef',
      message: 'the source brokers k:9093 refused the SASL credentials of Secret kafka-sasl: fetching offsets of in: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (spec.source.kafka.sasl.secretRef)',
    });
  });

  it('names the CA Secret when TLS cannot verify the brokers, and the system CAs without one', () => {
    const error = parseError('SK_KAFKA_AUTHENTICATION_FAILED: connecting the Kafka admin client: SSL handshake failed: certificate verify failed: unable to get local issuer certificate');
    expect(sourceBlocker(error, 'in', ['k:9093'], { sasl: 'kafka-sasl', ca: 'kafka-ca' })).toMatchObject({ reason: 'KafkaAuthenticationFailed', field: 'spec.source.kafka.tls.caSecretRef', message: expect.stringContaining('signed by the CA bundle of Secret kafka-ca') as unknown });
    expect(sourceBlocker(error, 'in', ['k:9093'], {})?.message).toContain('signed by the system CAs');
  });

  it('says a SASL login was refused when the job has no SASL credentials at all', () => {
    expect(sourceBlocker(parseError('SK_KAFKA_AUTHENTICATION_FAILED: Unexpected Kafka request during SASL handshake'), 'in', ['k:9093'])?.message).toContain('refused no SASL credentials (spec.source.kafka.sasl is not set)');
  });

  it("names the sink side's Secret for a task's refused login on the sink", () => {
    const sides = { source: { brokers: ['s:9093'], secrets: { sasl: 'source-sasl' } }, sink: { brokers: ['t:9093'], secrets: { sasl: 'sink-sasl' } } };
    const cause = taskBlocker(task('SK_KAFKA_AUTHENTICATION_FAILED: spec.sink.kafka.topic: SASL authentication error: invalid credentials'), sides);
    expect(cause).toMatchObject({ reason: 'KafkaAuthenticationFailed', field: 'spec.sink.kafka.sasl.secretRef' });
    expect(cause?.message).toContain('task 0000000003-00000 (in/0) on job-executor-0: the sink brokers t:9093 refused the SASL credentials of Secret sink-sasl');
    expect(taskBlocker(task('SK_KAFKA_AUTHENTICATION_FAILED: SASL authentication error: invalid credentials'), sides)?.message).toContain('Secret source-sasl');
  });

  it('leaves failures the user cannot act on to the stall detection', () => {
    expect(sourceBlocker(parseError('SK_TIMEOUT: metadata took too long'), 'in', ['k:9092'])).toBeUndefined();
  });

  it.each([
    ['SK_KAFKA_UNKNOWN_TOPIC: spec.sink.kafka.topic: topic out does not exist on the sink brokers', 'SinkTopicMissing', 'spec.sink.kafka.topic'],
    ['SK_KAFKA_UNKNOWN_TOPIC: spec.failurePolicy.deadLetterTopic: topic dlq has no partitions', 'SinkTopicMissing', 'spec.failurePolicy.deadLetterTopic'],
    ['SK_KAFKA_UNKNOWN_TOPIC: connecting a range reader: unknown topic', 'SourceTopicMissing', 'spec.source.kafka.topics'],
    ['SK_PROCESSOR_ERROR: spec.processor.module: cannot load the processor module /p.mjs: not found', 'ProcessorFailed', 'spec.processor.module'],
    ['SK_PROCESSOR_ERROR: the processor failed on in/0 [0, 4]: boom', 'ProcessorFailed', 'spec.processor'],
    ['SK_POISON_RECORD: record in/0@1: the value is not JSON (failurePolicy.poisonRecords: fail)', 'PoisonRecord', 'spec.failurePolicy.poisonRecords'],
    ['SK_KAFKA_FENCED: committing: taken over by a newer producer', 'TransactionFenced', undefined],
    ['SK_STATE_LIMIT: spec.aggregation.stateMemory: the aggregation state of one state partition needs more than its budget of 1048576 bytes', 'StateLimitExceeded', 'spec.aggregation.stateMemory'],
    ['SK_KAFKA_ERROR: broker said no', 'TaskFailing', undefined],
  ])('turns the task error %s into a cause', (error, reason, field) => {
    const cause = taskBlocker(task(error));
    expect(cause?.reason).toBe(reason);
    expect(cause?.field).toBe(field);
    expect(cause?.message).toContain('task 0000000003-00000 (in/0) on job-executor-0');
  });

  it('takes a batch\'s cause from the task that failed most often, and none while no task failed', () => {
    expect(batchBlocker([task(undefined, { state: 'assigned' }), task('SK_KAFKA_ERROR: x', { state: 'assigned' })])).toBeUndefined();
    const cause = batchBlocker([task('SK_KAFKA_ERROR: flaky', { id: '0000000003-00000' }), task('SK_POISON_RECORD: record in/1@0: bad', { id: '0000000003-00001', state: 'exhausted', failures: 3 })]);
    expect(cause?.reason).toBe('PoisonRecord');
  });
});

describe('the driver registration and its report', () => {
  it('round-trips, and bounds the message', () => {
    const blocked = { reason: 'KafkaUnreachable' as const, message: 'x'.repeat(5000), field: 'spec.source.kafka.bootstrapServers', since: '2026-01-01T00:00:00.000Z' };
    const decoded = decodeDriverRegistration(encodeDriverRegistration({ pod: 'job-driver', startedAt: '2026-01-01T00:00:00.000Z', blocked }));
    expect(decoded).toMatchObject({ pod: 'job-driver', startedAt: '2026-01-01T00:00:00.000Z', blocked: { reason: 'KafkaUnreachable', field: 'spec.source.kafka.bootstrapServers' } });
    expect(decoded.blocked?.message.length).toBe(maxBlockerMessage);
  });

  it('reads an older or unreadable registration as one without a report', () => {
    expect(decodeDriverRegistration(Buffer.from('{}'))).toEqual({ pod: '', startedAt: '' });
    expect(decodeDriverRegistration(Buffer.from('not json'))).toEqual({ pod: '', startedAt: '' });
    expect(decodeDriverRegistration(Buffer.from(JSON.stringify({ pod: 'd', startedAt: 't', blocked: { reason: 'SomethingNew', message: 'm', since: 't' } })))).toEqual({ pod: 'd', startedAt: 't' });
  });
});
