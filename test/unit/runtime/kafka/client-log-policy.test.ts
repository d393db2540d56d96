import { describe, expect, it } from '@jest/globals';
import type { LogLevel } from '../../../../src/logging/logger.js';
import { clientLogLevel } from '../../../../src/runtime/kafka/client-log-policy.js';

describe('how loud a Kafka client\'s own lines are', () => {
  it.each<[string, LogLevel, string, Record<string, unknown>]>([
    ['an old producer epoch (the task moved and fenced this producer)', 'error', 'Response Produce(key: 0, version: 7)', { error: 'Producer attempted an operation with an old epoch' }],
    ['a fenced producer in the message', 'error', 'Producer fenced by a newer instance (PRODUCER_FENCED)', {}],
    ['the protocol error name', 'warn', 'Protocol error', { type: 'INVALID_PRODUCER_EPOCH' }],
    ['the bounded retries of the idempotent producer', 'warn', 'Limiting retries for the idempotent producer may invalidate EoS guarantees', {}],
    ['a group coordinator not elected yet (the client retries)', 'error', 'Response GroupCoordinator(key: 10, version: 2)', { error: 'The group coordinator is not available' }],
    ['a coordinator still loading', 'error', 'Response FindCoordinator(key: 10, version: 2)', { type: 'COORDINATOR_LOAD_IN_PROGRESS' }],
    ['a new topic without a leader yet', 'error', 'Response Metadata(key: 3, version: 6)', { error: 'There is no leader for this topic-partition as we are in the middle of a leadership election' }],
  ])('puts %s at debug', (_what, level, message, fields) => {
    expect(clientLogLevel(level, message, fields)).toBe('debug');
  });

  it('keeps faults someone must act on at their level', () => {
    expect(clientLogLevel('error', 'Connection error: connect ECONNREFUSED 127.0.0.1:1')).toBe('error');
    expect(clientLogLevel('warn', 'SASL PLAIN authentication failed', { error: 'bad credentials' })).toBe('warn');
    expect(clientLogLevel('info', 'Producer attempted an operation with an old epoch')).toBe('info');
  });
});
