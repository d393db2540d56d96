/**
 * The states a transactional producer goes through and which operation each allows. Shared by the
 * kafkajs adapter and the fake so both refuse the same misuse with the same codes, and so that no
 * transaction whose send failed can ever be committed with part of its output missing.
 */
import { StreamkeeperError, isStreamkeeperError } from '../../errors/index.js';

export type ProducerState =
  | 'ready' // no transaction open
  | 'in-transaction'
  | 'abort-only' // a send or offset commit failed: the transaction may hold part of its output
  | 'ending' // commit or abort in flight
  | 'failed' // commit or abort failed: outcome unknown until a new producer settles it
  | 'fenced'
  | 'closed';

export type TransactionOperation = 'send' | 'commitOffsets' | 'commit' | 'abort';

/** Why `operation` may not run now, or undefined when it may. `current` is whether the caller's transaction is the open one. */
export function refusal(transactionalId: string, state: ProducerState, operation: TransactionOperation | 'begin', current: boolean): StreamkeeperError | undefined {
  const refuse = (why: string): StreamkeeperError => new StreamkeeperError('SK_KAFKA_TRANSACTION_STATE', `cannot ${operation} (transactional id ${transactionalId}): ${why}`);
  switch (state) {
    case 'closed':
      return refuse('the producer is closed');
    case 'fenced':
      return new StreamkeeperError('SK_KAFKA_FENCED', `cannot ${operation}: transactional id ${transactionalId} was taken over by a newer producer`);
    case 'failed':
      return refuse('an earlier commit or abort failed; close this producer and open a new one with the same transactional id to settle that transaction');
    case 'ending':
      return refuse('a commit or abort is in progress');
    case 'ready':
      if (operation === 'begin') return undefined;
      return refuse('the transaction has already ended');
    case 'in-transaction':
    case 'abort-only':
      if (operation === 'begin') return refuse('a transaction is already open; commit or abort it first');
      if (!current) return refuse('the transaction has already ended');
      if (state === 'abort-only' && operation !== 'abort') return refuse('an earlier send or offset commit in this transaction failed, so it can only be aborted');
      return undefined;
  }
}

/** The state after `operation` failed with `err` while the producer was in `state`. */
export function stateAfterFailure(state: ProducerState, operation: TransactionOperation, err: unknown): ProducerState {
  if (state === 'closed') return 'closed';
  if (isStreamkeeperError(err, 'SK_KAFKA_FENCED')) return 'fenced';
  return operation === 'commit' || operation === 'abort' ? 'failed' : 'abort-only';
}

/** Tracks one producer's state; each transaction carries the sequence number `begin` gave it. */
export class TransactionLifecycle {
  private state: ProducerState = 'ready';
  private sequence = 0;

  constructor(readonly transactionalId: string) {}

  get current(): ProducerState {
    return this.state;
  }

  /** Opens a transaction and returns its sequence number. */
  begin(): number {
    const refused = refusal(this.transactionalId, this.state, 'begin', false);
    if (refused !== undefined) throw refused;
    this.state = 'in-transaction';
    return ++this.sequence;
  }

  /** Runs `action` for transaction `sequence` if the state allows it, and records the outcome. */
  async run<T>(sequence: number, operation: TransactionOperation, action: () => Promise<T>): Promise<T> {
    const refused = refusal(this.transactionalId, this.state, operation, sequence === this.sequence);
    if (refused !== undefined) throw refused;
    const ending = operation === 'commit' || operation === 'abort';
    const before = this.state;
    if (ending) this.state = 'ending';
    try {
      const result = await action();
      if (ending && this.state === 'ending') this.state = 'ready';
      return result;
    } catch (err) {
      this.state = stateAfterFailure(this.state === 'ending' ? before : this.state, operation, err);
      throw err;
    }
  }

  /** A failure outside any transaction (for instance while opening) that leaves the producer unusable. */
  markFenced(): void {
    this.state = 'fenced';
  }

  close(): void {
    this.state = 'closed';
  }
}
