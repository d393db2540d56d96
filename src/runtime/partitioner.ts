/**
 * Which sink partition an output record goes to. The choice must be deterministic — a retried
 * task has to write the same records to the same partitions — and keyed records follow Kafka's
 * default partitioner (murmur2 of the key), so consumers that rely on key → partition affinity
 * see the same layout as with any Kafka producer.
 */

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  const r = 24;
  let h = 0x9747b28c ^ length;
  const length4 = Math.floor(length / 4);
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4] ?? 0) | ((data[i4 + 1] ?? 0) << 8) | ((data[i4 + 2] ?? 0) << 16) | ((data[i4 + 3] ?? 0) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const remaining = length % 4;
  if (remaining > 0) {
    if (remaining === 3) h ^= (data[tail + 2] ?? 0) << 16;
    if (remaining >= 2) h ^= (data[tail + 1] ?? 0) << 8;
    h ^= data[tail] ?? 0;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The sink partition of a record: by its key like Kafka's default partitioner; a record without
 * a key stays with its source partition's number (modulo the sink's partition count).
 */
export function sinkPartition(key: Buffer | null, sourcePartition: number, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`a topic has at least one partition (got ${partitions})`);
  if (key === null) return sourcePartition % partitions;
  return (murmur2(key) & 0x7fffffff) % partitions;
}
