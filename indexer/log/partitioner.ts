// Kafka's key partitioner, bit-compatible with the Java client's DefaultPartitioner (and kafkajs's
// DefaultPartitioner): partition = toPositive(murmur2(utf8(key))) % partitions. Both log backends
// route keys with it, so a market's records land in the same partition number on either backend
// and an analytics consumer of the Kafka topics sees the same layout as the embedded log.

const SEED = 0x9747b28c
const M = 0x5bd1e995

/** Kafka's murmur2 (Utils.murmur2): a signed 32-bit hash of the bytes. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const whole = length - (length % 4)

  for (let i = 0; i < whole; i += 4) {
    let k = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) | 0
    k = Math.imul(k, M)
    k ^= k >>> 24
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }

  const rest = length % 4
  if (rest === 3) h ^= data[whole + 2]! << 16
  if (rest >= 2) h ^= data[whole + 1]! << 8
  if (rest >= 1) {
    h ^= data[whole]!
    h = Math.imul(h, M)
  }

  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** Kafka's Utils.toPositive: clears the sign bit (not the absolute value). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition Kafka's default partitioner picks for a key among `partitions`. */
export function partitionForKey(key: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partition count must be a positive integer, got ${partitions}`)
  }
  return toPositive(murmur2(Buffer.from(key, 'utf8'))) % partitions
}
