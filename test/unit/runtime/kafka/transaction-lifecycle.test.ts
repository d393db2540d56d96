import { describe, expect, it } from '@jest/globals';
import { StreamkeeperError, type ErrorCode } from '../../../../src/errors/index.js';
import { TransactionLifecycle, refusal, stateAfterFailure, type ProducerState, type TransactionOperation } from '../../../../src/runtime/kafka/transaction-lifecycle.js';

describe('transaction lifecycle', () => {
  it.each<[ProducerState, TransactionOperation | 'begin', boolean, ErrorCode | undefined]>([
    ['ready', 'begin', false, undefined],
    ['ready', 'send', false, 'SK_KAFKA_TRANSACTION_STATE'],
    ['ready', 'commit', false, 'SK_KAFKA_TRANSACTION_STATE'],
    ['in-transaction', 'send', true, undefined],
    ['in-transaction', 'commitOffsets', true, undefined],
    ['in-transaction', 'commit', true, undefined],
    ['in-transaction', 'abort', true, undefined],
    ['in-transaction', 'begin', false, 'SK_KAFKA_TRANSACTION_STATE'],
    ['in-transaction', 'send', false, 'SK_KAFKA_TRANSACTION_STATE'],
    ['abort-only', 'abort', true, undefined],
    ['abort-only', 'commit', true, 'SK_KAFKA_TRANSACTION_STATE'],
    ['abort-only', 'send', true, 'SK_KAFKA_TRANSACTION_STATE'],
    ['abort-only', 'commitOffsets', true, 'SK_KAFKA_TRANSACTION_STATE'],
    ['ending', 'send', true, 'SK_KAFKA_TRANSACTION_STATE'],
    ['ending', 'begin', false, 'SK_KAFKA_TRANSACTION_STATE'],
    ['failed', 'begin', false, 'SK_KAFKA_TRANSACTION_STATE'],
    ['failed', 'abort', true, 'SK_KAFKA_TRANSACTION_STATE'],
    ['fenced', 'begin', false, 'SK_KAFKA_FENCED'],
    ['fenced', 'abort', true, 'SK_KAFKA_FENCED'],
    ['closed', 'begin', false, 'SK_KAFKA_TRANSACTION_STATE'],
  ])('in state %s, %s (current transaction: %s) is refused with %s', (state, operation, current, code) => {
    expect(refusal('tx-1', state, operation, current)?.code).toBe(code);
  });

  it.each<[ProducerState, TransactionOperation, unknown, ProducerState]>([
    ['in-transaction', 'send', new StreamkeeperError('SK_KAFKA_ERROR', 'timeout'), 'abort-only'],
    ['in-transaction', 'commitOffsets', new Error('unknown'), 'abort-only'],
    ['in-transaction', 'commit', new StreamkeeperError('SK_KAFKA_ERROR', 'timeout'), 'failed'],
    ['abort-only', 'abort', new Error('unknown'), 'failed'],
    ['in-transaction', 'send', new StreamkeeperError('SK_KAFKA_FENCED', 'fenced'), 'fenced'],
    ['in-transaction', 'commit', new StreamkeeperError('SK_KAFKA_FENCED', 'fenced'), 'fenced'],
    ['closed', 'commit', new StreamkeeperError('SK_KAFKA_FENCED', 'fenced'), 'closed'],
  ])('after %s fails at %s with %p it is %s', (state, operation, err, after) => {
    expect(stateAfterFailure(state, operation, err)).toBe(after);
  });

  it('returns to ready after a commit and refuses the ended transaction afterwards', async () => {
    const lifecycle = new TransactionLifecycle('tx-1');
    const first = lifecycle.begin();
    await lifecycle.run(first, 'send', () => Promise.resolve());
    await lifecycle.run(first, 'commit', () => Promise.resolve());
    expect(lifecycle.current).toBe('ready');
    await expect(lifecycle.run(first, 'send', () => Promise.resolve())).rejects.toMatchObject({ code: 'SK_KAFKA_TRANSACTION_STATE' });
    const second = lifecycle.begin();
    expect(second).not.toBe(first);
  });

  it('refuses everything while a commit is in flight, and a failed commit leaves the producer unusable', async () => {
    const lifecycle = new TransactionLifecycle('tx-1');
    const transaction = lifecycle.begin();
    let fail: (err: Error) => void = () => undefined;
    const commit = lifecycle.run(transaction, 'commit', () => new Promise<void>((_, reject) => (fail = reject)));
    await expect(lifecycle.run(transaction, 'abort', () => Promise.resolve())).rejects.toMatchObject({ code: 'SK_KAFKA_TRANSACTION_STATE' });
    fail(new StreamkeeperError('SK_KAFKA_ERROR', 'request timed out'));
    await expect(commit).rejects.toMatchObject({ code: 'SK_KAFKA_ERROR' });
    expect(lifecycle.current).toBe('failed');
    expect(() => lifecycle.begin()).toThrow(/close this producer and open a new one/);
  });

  it('does not run an operation it refuses', async () => {
    const lifecycle = new TransactionLifecycle('tx-1');
    let ran = false;
    await expect(
      lifecycle.run(1, 'send', () => {
        ran = true;
        return Promise.resolve();
      }),
    ).rejects.toMatchObject({ code: 'SK_KAFKA_TRANSACTION_STATE' });
    expect(ran).toBe(false);
  });
});
