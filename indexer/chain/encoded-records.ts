// A range's records as the trusted write path hands them to the sink: their JSON in one UTF-8
// buffer, and beside it what the sink needs of each record without parsing it (chain position,
// type, market). The log's values are views into the buffer, with no Buffer allocated per record.
//
// Each record's JSON goes into the buffer as soon as it is made. A template literal's string stays
// a tree of its pieces until something reads it; thousands of such trees kept to the end of a range
// outlive young-generation collections, which cost about 5 µs of CPU per event when the range was
// joined at its end, against writing each one while it is young.
import type { ChainEventRecord } from '../records/schemas.ts'
import type { EncodedEvent } from './log-to-json.ts'

export interface EncodedRecords {
  readonly count: number
  /** Every record's JSON, one after another, UTF-8. */
  readonly bytes: Buffer
  /** Where each record's JSON ends in `bytes` (the next one starts there). */
  readonly ends: readonly number[]
  readonly blockNumbers: readonly number[]
  readonly logIndexes: readonly number[]
  readonly types: readonly ChainEventRecord['type'][]
  /** Index into `markets`. */
  readonly marketCodes: readonly number[]
  readonly markets: readonly string[]
}

export interface EncodedRecordsBuilder {
  /** Appends the event after the ones added before it. */
  add(event: EncodedEvent): void
  /**
   * For a writer of bytes (the answer reader): the buffer, with at least `bytes` free from
   * `size()`, where the next record's JSON goes; `added` then notes it. A later reserve may return
   * another buffer.
   */
  reserve(bytes: number): Buffer
  /** Where the next record's JSON starts in the buffer. */
  size(): number
  /** Notes the record written from `size()` to `end` in the reserved buffer. */
  added(end: number, blockNumber: number, logIndex: number, type: ChainEventRecord['type'], marketId: string): void
  finish(): EncodedRecords
}

/** A UTF-16 code unit never takes more than 3 bytes of UTF-8 (a surrogate pair takes 4 for 2). */
const MAX_UTF8_BYTES_PER_UNIT = 3
const INITIAL_BYTES = 64 * 1024

/** `initialBytes`: about what the records will take, when the caller knows (default 64 KiB). */
export function createEncodedRecordsBuilder(initialBytes = INITIAL_BYTES): EncodedRecordsBuilder {
  let bytes: Buffer = Buffer.allocUnsafe(initialBytes)
  let size = 0
  const ends: number[] = []
  const blockNumbers: number[] = []
  const logIndexes: number[] = []
  const types: ChainEventRecord['type'][] = []
  const marketCodes: number[] = []
  const markets: string[] = []
  const marketCode = new Map<string, number>()
  const reserve = (room: number): Buffer => {
    if (size + room > bytes.length) bytes = grown(bytes, size, size + room)
    return bytes
  }
  const added = (end: number, blockNumber: number, logIndex: number, type: ChainEventRecord['type'], marketId: string): void => {
    size = end
    ends.push(end)
    blockNumbers.push(blockNumber)
    logIndexes.push(logIndex)
    types.push(type)
    let code = marketCode.get(marketId)
    if (code === undefined) {
      code = markets.length
      markets.push(marketId)
      marketCode.set(marketId, code)
    }
    marketCodes.push(code)
  }
  return {
    add: (event) => {
      const end = size + reserve(event.json.length * MAX_UTF8_BYTES_PER_UNIT).write(event.json, size, 'utf8')
      added(end, event.blockNumber, event.logIndex, event.type, event.marketId)
    },
    reserve,
    size: () => size,
    added,
    finish: () => ({ count: ends.length, bytes: bytes.subarray(0, size), ends, blockNumbers, logIndexes, types, marketCodes, markets }),
  }
}

function grown(bytes: Buffer, used: number, needed: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(needed, bytes.length * 2))
  bytes.copy(next, 0, 0, used)
  return next
}

/** The records in chain order, for the rare node that answers logs out of order; stable for equal positions. */
export function sortedByChainPosition(records: EncodedRecords): EncodedRecords {
  const { blockNumbers, logIndexes } = records
  const order = Array.from({ length: records.count }, (_, i) => i)
  order.sort((a, b) => blockNumbers[a]! - blockNumbers[b]! || logIndexes[a]! - logIndexes[b]!)
  const bytes = Buffer.allocUnsafe(records.bytes.length)
  let size = 0
  const ends = order.map((i) => (size += encodedValue(records, i).copy(bytes, size)))
  const pick = <T>(values: readonly T[]): T[] => order.map((i) => values[i]!)
  return {
    ...{ count: records.count, bytes, ends, blockNumbers: pick(blockNumbers), logIndexes: pick(logIndexes) },
    ...{ types: pick(records.types), marketCodes: pick(records.marketCodes), markets: records.markets },
  }
}

/** Record i's JSON bytes: a view into the shared buffer, no copy. */
export function encodedValue(records: EncodedRecords, i: number): Buffer {
  const start = i === 0 ? 0 : records.ends[i - 1]!
  return records.bytes.subarray(start, records.ends[i]!)
}
