/**
 * Argument checks shared by every KafkaClient implementation, so that the adapter and the fake
 * reject the same malformed requests with the same code before any I/O.
 */
import { StreamkeeperError } from '../../errors/index.js';
import type { OutgoingRecord, TopicPartitionOffset } from './kafka-client.js';

function invalid(message: string): StreamkeeperError {
  return new StreamkeeperError('SK_KAFKA_INVALID_REQUEST', message);
}

/** Kafka's own rule: 1–249 characters from [a-zA-Z0-9._-], and not `.` or `..`. */
export function checkTopicName(topic: string): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw invalid(`"${topic}" is not a valid topic name (1–249 of a-z A-Z 0-9 . _ -)`);
  }
}

export function checkPartition(partition: number): void {
  if (!Number.isSafeInteger(partition) || partition < 0) throw invalid(`partition must be a non-negative integer (got ${partition})`);
}

export function checkOffset(name: string, offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalid(`${name} must be a non-negative integer (got ${offset})`);
}

export function checkPartitionCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) throw invalid(`partition count must be a positive integer (got ${count})`);
}

export function checkRange(topic: string, partition: number, fromOffset: number, untilOffset: number): void {
  checkTopicName(topic);
  checkPartition(partition);
  checkOffset('fromOffset', fromOffset);
  checkOffset('untilOffset', untilOffset);
  if (untilOffset < fromOffset) throw invalid(`untilOffset ${untilOffset} is before fromOffset ${fromOffset}`);
}

export function checkSend(topic: string, partition: number, records: readonly OutgoingRecord[]): void {
  checkTopicName(topic);
  checkPartition(partition);
  if (records.length === 0) throw invalid(`no records to send to ${topic}/${partition}`);
  for (const record of records) {
    if (record.timestamp !== undefined && (!Number.isSafeInteger(record.timestamp) || record.timestamp < 0)) {
      throw invalid(`record timestamp must be a non-negative integer of milliseconds (got ${record.timestamp})`);
    }
  }
}

export function checkGroupOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): void {
  if (groupId === '') throw invalid('consumer group id must not be empty');
  if (offsets.length === 0) throw invalid(`no offsets to commit for group ${groupId}`);
  for (const { topic, partition, offset } of offsets) {
    checkTopicName(topic);
    checkPartition(partition);
    checkOffset('offset', offset);
  }
}

export function checkTimeout(timeoutMs: number): void {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw invalid(`timeoutMs must be a positive number (got ${timeoutMs})`);
}

/** The broker enforces its own upper bound (transaction.max.timeout.ms). */
export function checkTransactionTimeout(timeoutMs: number | undefined): void {
  if (timeoutMs !== undefined && (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)) {
    throw invalid(`transaction timeout must be a positive integer of milliseconds (got ${timeoutMs})`);
  }
}
