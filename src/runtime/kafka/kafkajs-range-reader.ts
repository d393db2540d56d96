/**
 * Exact offset-range reads on kafkajs: fetch requests sent straight to the partition leader with
 * read_committed isolation, starting at `from` and advancing by the batches the broker returns
 * until the position reaches `until`. No consumer group is involved, so there is no rebalance, no
 * seek race and no shared position between reads. Design and alternatives: docs/compatibility.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamkeeperError } from '../../errors/index.js';
import type { Logger } from '../../logging/logger.js';
import { selectCommitted, type FetchedRecord } from './committed-records.js';
import { defaultReadTimeoutMs, type ConsumedRecord, type RangeReader, type RecordHeader, type WaitOptions } from './kafka-client.js';
import { fromKafkajs, isStaleLeadership, kafkajsErrorCode } from './kafkajs-errors.js';
import { readCommitted, type InternalCluster, type InternalFetchedMessage, type InternalFetchedPartition } from './kafkajs-internals.js';
import { checkRange, checkTimeout } from './request-checks.js';

export interface RangeReaderLimits {
  /** Longest a single fetch waits at the broker for data to appear; reads re-check their deadline after each. */
  readonly maxWaitMs: number;
  /** Bytes one fetch may return for the partition (the broker still returns one whole batch if it is larger). */
  readonly maxBytesPerFetch: number;
}

export const defaultRangeReaderLimits: RangeReaderLimits = { maxWaitMs: 500, maxBytesPerFetch: 1024 * 1024 };

/** How many fetches in a row may come back empty below the last stable offset before we give up. */
const emptyBelowStableLimit = 3;
const staleRetryDelayMs = 100;

function toNumber(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new StreamkeeperError('SK_KAFKA_UNSUPPORTED', `${what} ${value} is beyond the offsets streamkeeper can represent`);
  return n;
}

/** kafkajs groups headers by key; flatten them back to Kafka's list (equal keys adjacent). */
function headersOf(headers: InternalFetchedMessage['headers']): RecordHeader[] {
  const list: RecordHeader[] = [];
  for (const [key, value] of Object.entries(headers)) {
    const values = Array.isArray(value) ? (value as readonly Buffer[]) : [value as Buffer | null | undefined];
    for (const v of values) list.push({ key, value: v ?? Buffer.alloc(0) });
  }
  return list;
}

/** A control record's key is version (int16) then type (int16): 0 = ABORT, 1 = COMMIT. */
function isAbortMarker(message: InternalFetchedMessage): boolean {
  return message.isControlRecord && message.key !== null && message.key.length >= 4 && message.key.readInt16BE(2) === 0;
}

export function toFetchedRecords(messages: readonly InternalFetchedMessage[]): FetchedRecord<InternalFetchedMessage>[] {
  return messages.map((message) => {
    const batch = message.batchContext;
    return {
      offset: toNumber(message.offset, 'offset'),
      batch: { baseOffset: toNumber(batch.firstOffset, 'offset'), lastOffsetDelta: batch.lastOffsetDelta, producerId: batch.producerId, inTransaction: batch.inTransaction, isControlBatch: batch.isControlBatch },
      isAbortMarker: isAbortMarker(message),
      payload: message,
    };
  });
}

/** Shaped like kafkajs's protocol error of the same name, so the read loop retries it the same way. */
class LeaderNotAvailable extends Error {
  readonly type = 'LEADER_NOT_AVAILABLE';
}

export class KafkajsRangeReader implements RangeReader {
  /** Leader node per partition, per topic; dropped when a fetch says leadership moved. */
  private readonly leaders = new Map<string, Map<number, number>>();
  private closed = false;

  constructor(
    private readonly cluster: InternalCluster,
    private readonly logger: Logger,
    private readonly limits: RangeReaderLimits = defaultRangeReaderLimits,
  ) {}

  async readRange(topic: string, partition: number, fromOffset: number, untilOffset: number, options: WaitOptions = {}): Promise<ConsumedRecord[]> {
    checkRange(topic, partition, fromOffset, untilOffset);
    const timeoutMs = options.timeoutMs ?? defaultReadTimeoutMs;
    checkTimeout(timeoutMs);
    if (this.closed) throw new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', 'the range reader is closed');
    if (fromOffset === untilOffset) return [];

    const deadline = Date.now() + timeoutMs;
    const records: ConsumedRecord[] = [];
    let position = fromOffset;
    let emptyBelowStable = 0;
    while (position < untilOffset) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        throw new StreamkeeperError('SK_TIMEOUT', `reading ${topic}/${partition} [${fromOffset}, ${untilOffset}): offsets from ${position} were not readable within ${timeoutMs} ms (not yet written, or in a transaction still open)`);
      }
      let fetched: InternalFetchedPartition;
      try {
        fetched = await this.fetch(topic, partition, position, Math.min(this.limits.maxWaitMs, remainingMs));
      } catch (err) {
        if (!isStaleLeadership(err) || this.isClosed()) throw fromKafkajs(err, `reading ${topic}/${partition} at offset ${position}`);
        this.logger.debug({ topic, partition, error: (err as Error).message }, 'partition leadership changed; looking it up again');
        this.leaders.delete(topic);
        await sleep(Math.min(staleRetryDelayMs, Math.max(0, deadline - Date.now())));
        continue;
      }

      const aborted = (fetched.abortedTransactions ?? []).map((t) => ({ producerId: t.producerId, firstOffset: toNumber(t.firstOffset, 'offset') }));
      const selection = selectCommitted(toFetchedRecords(fetched.messages), aborted, position);
      for (const { offset, payload } of selection.records) {
        if (offset >= untilOffset) break;
        records.push({ topic, partition, offset, key: payload.key, value: payload.value, headers: headersOf(payload.headers), timestamp: Number(payload.timestamp) });
      }
      if (selection.nextOffset > position) {
        position = selection.nextOffset;
        emptyBelowStable = 0;
      } else if (toNumber(fetched.lastStableOffset, 'offset') > position && ++emptyBelowStable >= emptyBelowStableLimit) {
        // The broker says decided records exist here but returns none we can decode: record
        // batches emptied by log compaction, which kafkajs's decoder drops without a trace.
        throw new StreamkeeperError('SK_KAFKA_UNSUPPORTED', `reading ${topic}/${partition}: no records can be read at offset ${position} although the partition is stable up to ${fetched.lastStableOffset} (empty record batches left by log compaction are not supported)`);
      }
      // Otherwise the fetch waited at the broker and the range end is not stable yet: ask again.
    }
    return records;
  }

  /** A method, not the field, so the compiler does not assume the reader stays open across awaits. */
  private isClosed(): boolean {
    return this.closed;
  }

  private async fetch(topic: string, partition: number, offset: number, maxWaitMs: number): Promise<InternalFetchedPartition> {
    const broker = await this.cluster.findBroker({ nodeId: await this.leaderOf(topic, partition) });
    const { responses } = await broker.fetch({
      isolationLevel: readCommitted,
      maxWaitTime: Math.max(1, Math.floor(maxWaitMs)),
      minBytes: 1,
      maxBytes: this.limits.maxBytesPerFetch,
      topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: this.limits.maxBytesPerFetch }] }],
    });
    const data = responses.find((r) => r.topicName === topic)?.partitions.find((p) => p.partition === partition);
    if (data === undefined) throw new StreamkeeperError('SK_KAFKA_ERROR', `the broker answered a fetch of ${topic}/${partition} without that partition`);
    return data;
  }

  private async leaderOf(topic: string, partition: number): Promise<number> {
    let leaders = this.leaders.get(topic);
    if (leaders?.has(partition) !== true) {
      // Asked of any broker for this one topic, so a deleted topic cannot poison later lookups.
      const broker = await this.cluster.brokerPool.findConnectedBroker();
      let metadata;
      try {
        metadata = await broker.metadata([topic]);
      } catch (err) {
        // Unknown here is final; anything else goes back to the read loop to retry or report.
        if (kafkajsErrorCode(err) === 'SK_KAFKA_UNKNOWN_TOPIC') throw fromKafkajs(err, `looking up ${topic}`);
        throw err;
      }
      const partitions = metadata.topicMetadata.find((t) => t.topic === topic)?.partitionMetadata ?? [];
      leaders = new Map(partitions.filter((p) => p.leader >= 0).map((p) => [p.partitionId, p.leader]));
      this.leaders.set(topic, leaders);
      if (!partitions.some((p) => p.partitionId === partition)) {
        throw new StreamkeeperError('SK_KAFKA_UNKNOWN_TOPIC', `topic ${topic} has no partition ${partition} (it has ${partitions.length})`);
      }
    }
    const leader = leaders.get(partition);
    if (leader === undefined) throw new LeaderNotAvailable(`${topic}/${partition} has no leader at the moment`);
    return leader;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.cluster.disconnect();
  }
}
