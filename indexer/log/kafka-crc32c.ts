// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of a Kafka record batch. Slice
// by 8: eight 256-entry tables fold eight bytes per step instead of one, read as two 32-bit words
// through a typed-array view (on a little-endian machine, where a word's low byte is the first
// byte); several times faster in JavaScript than kafkajs's byte-at-a-time table, for the same result.

const POLYNOMIAL = 0x82f63b78

/** TABLES[k][b]: the CRC of byte b followed by k zero bytes; computed once, never written after. */
const TABLES = buildTables()

/** Whether a 32-bit word read through an Int32Array holds its first byte in its low 8 bits. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

type Tables = [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array]

function buildTables(): Tables {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256)) as Tables
  const first = tables[0]
  for (let b = 0; b < 256; b++) {
    let crc = b
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLYNOMIAL : crc >>> 1
    first[b] = crc
  }
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1]!
    const table = tables[k]!
    for (let b = 0; b < 256; b++) table[b] = (previous[b]! >>> 8) ^ first[previous[b]! & 0xff]!
  }
  return tables
}

/** The CRC-32C of bytes[start, end), as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES
  let crc = -1
  let i = start
  // Bytes one at a time up to a 4-byte boundary, since a typed-array view must be aligned.
  const aligned = Math.min(end, i + ((4 - ((bytes.byteOffset + i) & 3)) & 3))
  for (; i < aligned; i++) crc = (crc >>> 8) ^ t0[(crc ^ bytes[i]!) & 0xff]!
  const words = LITTLE_ENDIAN ? ((end - i) >>> 3) << 1 : 0
  if (words > 0) {
    const view = new Int32Array(bytes.buffer, bytes.byteOffset + i, words)
    for (let j = 0; j < words; j += 2) {
      const lo = crc ^ view[j]!
      const hi = view[j + 1]!
      crc =
        t7[lo & 0xff]! ^
        t6[(lo >>> 8) & 0xff]! ^
        t5[(lo >>> 16) & 0xff]! ^
        t4[lo >>> 24]! ^
        t3[hi & 0xff]! ^
        t2[(hi >>> 8) & 0xff]! ^
        t1[(hi >>> 16) & 0xff]! ^
        t0[hi >>> 24]!
    }
    i += words * 4
  }
  for (; i < end; i++) crc = (crc >>> 8) ^ t0[(crc ^ bytes[i]!) & 0xff]!
  return (crc ^ -1) >>> 0
}
