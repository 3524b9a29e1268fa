// The body of a Kafka produce request (versions 3 to 7 share it) with one record batch (magic 2,
// uncompressed) per partition, encoded in two passes: the first sizes every record, the second
// writes the whole body into one buffer, varints inline, and checksums each batch in place. The bytes
// are those kafkajs 2.2.4's own encoder writes for the same request (kafka-record-batch.unit.test.ts
// compares them), at a fraction of its cost: no buffer per record, no copying as buffers grow.
import { crc32c } from './kafka-crc32c.ts'

export interface BatchRecord {
  readonly key: string
  readonly value: Buffer
  readonly headers?: Readonly<Record<string, string>>
}

export interface ProducePartition {
  readonly partition: number
  /** The idempotent producer's sequence number of the batch's first record. */
  readonly firstSequence: number
  readonly records: readonly BatchRecord[]
}

export interface ProduceTopic {
  readonly topic: string
  readonly partitions: readonly ProducePartition[]
}

export interface ProduceRequestBody {
  readonly transactionalId: string | null
  readonly acks: number
  readonly timeoutMs: number
  /** -1n when the producer is not idempotent. */
  readonly producerId: bigint
  readonly producerEpoch: number
  /** Create time of every record, in ms since the epoch (each batch's first and max timestamp). */
  readonly timestamp: number
  readonly topics: readonly ProduceTopic[]
}

// Record batch header up to the records: base offset (8), length (4), partition leader epoch (4),
// magic (1), CRC (4), attributes (2), last offset delta (4), first and max timestamp (8 + 8),
// producer id (8), producer epoch (2), first sequence (4), record count (4).
const BATCH_HEADER_BYTES = 61
// Offset within a batch of the attributes, where the CRC's coverage starts, and of the CRC itself.
const CRC_START = 21
const CRC_AT = 17
const MAGIC = 2
const TRANSACTIONAL = 16

/** Bytes of `n` as a zigzag varint (Kafka's varint), for n in the int32 range. */
function varintSize(n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0
  let size = 1
  while (v >= 0x80) {
    v >>>= 7
    size++
  }
  return size
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0
  while (v >= 0x80) {
    buf[at++] = (v & 0x7f) | 0x80
    v >>>= 7
  }
  buf[at++] = v
  return at
}

function headersSize(headers: Readonly<Record<string, string>> | undefined): number {
  if (headers === undefined) return 1
  const names = Object.keys(headers)
  let size = varintSize(names.length)
  for (const name of names) {
    const nameBytes = Buffer.byteLength(name)
    const valueBytes = Buffer.byteLength(headers[name]!)
    size += varintSize(nameBytes) + nameBytes + varintSize(valueBytes) + valueBytes
  }
  return size
}

/** Sizes of each record's body (attributes to headers), and the total of each partition's batch. */
interface Layout {
  readonly recordBodies: Int32Array
  readonly keyBytes: Int32Array
  readonly batchBytes: number[]
  readonly total: number
}

function layout(body: ProduceRequestBody): Layout {
  let recordCount = 0
  for (const { partitions } of body.topics) for (const { records } of partitions) recordCount += records.length
  const recordBodies = new Int32Array(recordCount)
  const keyBytes = new Int32Array(recordCount)
  const batchBytes: number[] = []
  let total = 2 + Buffer.byteLength(body.transactionalId ?? '') + 2 + 4 + 4
  let r = 0
  for (const { topic, partitions } of body.topics) {
    total += 2 + Buffer.byteLength(topic) + 4
    for (const { records } of partitions) {
      let batch = BATCH_HEADER_BYTES
      for (let i = 0; i < records.length; i++, r++) {
        const record = records[i]!
        const keyLength = Buffer.byteLength(record.key)
        const valueLength = record.value.length
        // attributes (1), timestamp delta 0 (1), offset delta, key, value, headers
        const size =
          2 +
          varintSize(i) +
          varintSize(keyLength) +
          keyLength +
          varintSize(valueLength) +
          valueLength +
          headersSize(record.headers)
        recordBodies[r] = size
        keyBytes[r] = keyLength
        batch += varintSize(size) + size
      }
      batchBytes.push(batch)
      total += 4 + 4 + batch
    }
  }
  return { recordBodies, keyBytes, batchBytes, total }
}

function writeString(buf: Buffer, at: number, text: string, bytes: number): number {
  if (bytes === text.length && bytes < 64) {
    // ASCII (one byte per UTF-16 unit): a loop beats a call into the native UTF-8 encoder.
    for (let j = 0; j < bytes; j++) buf[at + j] = text.charCodeAt(j)
    return at + bytes
  }
  return at + buf.write(text, at, bytes, 'utf8')
}

function writeHeaders(buf: Buffer, at: number, headers: Readonly<Record<string, string>> | undefined): number {
  if (headers === undefined) return writeVarint(buf, at, 0)
  const names = Object.keys(headers)
  at = writeVarint(buf, at, names.length)
  for (const name of names) {
    const value = headers[name]!
    const nameBytes = Buffer.byteLength(name)
    at = writeString(buf, writeVarint(buf, at, nameBytes), name, nameBytes)
    const valueBytes = Buffer.byteLength(value)
    at = writeString(buf, writeVarint(buf, at, valueBytes), value, valueBytes)
  }
  return at
}

/** Writes one partition's record batch at `at`; returns the offset after it. */
function writeBatch(
  buf: Buffer,
  at: number,
  body: ProduceRequestBody,
  partition: ProducePartition,
  sizes: Layout,
  firstRecord: number,
  batchBytes: number,
): number {
  const start = at
  const { records } = partition
  buf.writeBigInt64BE(0n, at)
  // The batch length counts the bytes after itself: from the partition leader epoch on.
  buf.writeInt32BE(batchBytes - 12, at + 8)
  buf.writeInt32BE(0, at + 12)
  buf.writeInt8(MAGIC, at + 16)
  buf.writeInt16BE(body.transactionalId ? TRANSACTIONAL : 0, at + CRC_START)
  buf.writeInt32BE(records.length - 1, at + 23)
  buf.writeBigInt64BE(BigInt(body.timestamp), at + 27)
  buf.writeBigInt64BE(BigInt(body.timestamp), at + 35)
  buf.writeBigInt64BE(body.producerId, at + 43)
  buf.writeInt16BE(body.producerEpoch, at + 51)
  buf.writeInt32BE(partition.firstSequence, at + 53)
  buf.writeInt32BE(records.length, at + 57)
  at += BATCH_HEADER_BYTES
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const r = firstRecord + i
    at = writeVarint(buf, at, sizes.recordBodies[r]!)
    buf[at++] = 0 // attributes: none are defined for a record
    buf[at++] = 0 // timestamp delta: every record has the batch's first timestamp
    at = writeVarint(buf, at, i)
    const keyLength = sizes.keyBytes[r]!
    at = writeString(buf, writeVarint(buf, at, keyLength), record.key, keyLength)
    at = writeVarint(buf, at, record.value.length)
    buf.set(record.value, at)
    at += record.value.length
    at = writeHeaders(buf, at, record.headers)
  }
  buf.writeUInt32BE(crc32c(buf, start + CRC_START, at), start + CRC_AT)
  return at
}

/** The produce request body: what kafkajs's Produce v3 to v7 request `encode()` writes. */
export function encodeProduceRequest(body: ProduceRequestBody): Buffer {
  const sizes = layout(body)
  const buf = Buffer.allocUnsafe(sizes.total)
  let at = 0
  if (body.transactionalId === null) at = buf.writeInt16BE(-1, at)
  else {
    const bytes = Buffer.byteLength(body.transactionalId)
    at = writeString(buf, buf.writeInt16BE(bytes, at), body.transactionalId, bytes)
  }
  at = buf.writeInt16BE(body.acks, at)
  at = buf.writeInt32BE(body.timeoutMs, at)
  at = buf.writeInt32BE(body.topics.length, at)
  let batch = 0
  let record = 0
  for (const { topic, partitions } of body.topics) {
    const topicBytes = Buffer.byteLength(topic)
    at = writeString(buf, buf.writeInt16BE(topicBytes, at), topic, topicBytes)
    at = buf.writeInt32BE(partitions.length, at)
    for (const partition of partitions) {
      at = buf.writeInt32BE(partition.partition, at)
      const batchBytes = sizes.batchBytes[batch++]!
      at = writeBatch(buf, buf.writeInt32BE(batchBytes, at), body, partition, sizes, record, batchBytes)
      record += partition.records.length
    }
  }
  return buf
}
