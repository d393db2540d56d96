/**
 * Which state partition owns a key. Every key lives in exactly one state partition, chosen by
 * the hash Kafka's default partitioner uses (murmur2), so the repartition topic, the changelog
 * and any consumer relying on key → partition affinity agree. The count is fixed for a job's
 * life: changing it would move keys away from their state.
 */
import { murmur2 } from '../partitioner.js';

export function statePartition(key: Buffer, statePartitions: number): number {
  if (!Number.isInteger(statePartitions) || statePartitions < 1) throw new RangeError(`a job has at least one state partition (got ${statePartitions})`);
  return (murmur2(key) & 0x7fffffff) % statePartitions;
}
