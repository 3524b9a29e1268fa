// The backfill's fastest path: an eth_getLogs answer's bytes straight into its records' JSON bytes
// (the EncodedRecords the log event sink appends), with no JSON.parse, no log objects, no BigInt and
// no string per value. It reads one layout only, the one anvil sends:
//
//   {"jsonrpc":"2.0","id":7,"result":[{"address":"0x…","topics":["0x…",…],"data":"0x…",
//    "blockHash":"0x…","blockNumber":"0x…","blockTimestamp":"0x…","transactionHash":"0x…",
//    "transactionIndex":"0x…","logIndex":"0x…","removed":false},…]}
//
// with lowercase hex, every log the perp contract's, one of the four events with static arguments
// (PositionOpened, PositionClosed, PositionLiquidated, FundingUpdated), in chain order within the
// requested blocks, and every value one the checked path accepts. Anything else, a single byte
// included, makes it return undefined, and the caller reads the same bytes the parsed way
// (JSON.parse, the decoder, log-to-json.ts), which decides every case this reader leaves to it:
// other layouts, MarketListed, foreign or removed logs, missing timestamps, out-of-order logs, and
// every error. So whenever it returns records they are byte for byte the parsed path's, which
// logs-answer-reader.unit.test.ts checks over random answers in that layout and random edits of
// them, and backfill.int.test.ts over anvil's own answers.
// The layout and the record's literals are in answer-layout.ts. Pure: no I/O.
import { decodeMarketId } from '../../contracts-abi/market-id.ts'
import { marketIdPattern, recordSchemaVersion } from '../records/record-patterns.ts'
import type { BlockRange } from './adaptive-range.ts'
import { createEncodedRecordsBuilder, type EncodedRecords, type EncodedRecordsBuilder } from './encoded-records.ts'
import {
  ANSWER_HEAD,
  EVENT_SPECS,
  LOG_ADDRESS,
  LOG_BLOCK_HASH,
  LOG_BLOCK_NUMBER,
  LOG_DATA,
  LOG_END,
  LOG_INDEX,
  LOG_TIMESTAMP,
  LOG_TOPICS,
  LOG_TX_HASH,
  LOG_TX_INDEX,
  NEXT_TOPIC,
  OUT_0X,
  OUT_BLOCK_HASH,
  OUT_DATA,
  OUT_END,
  OUT_HASH_LOG,
  OUT_LOG_INDEX,
  OUT_SIDE_LONG,
  OUT_SIDE_SHORT,
  OUT_TIMESTAMP,
  OUT_TX_HASH,
  READER_EVENTS,
  RESULT_HEAD,
  layoutOf,
  literal,
  type AnswerReaderOptions,
  type EventLayout,
} from './answer-layout.ts'
import { copyAt, matchesAt, putAt, sameBytes, skipBlank, wordBytes, type WordBytes } from './byte-views.ts'
import { HEX_DIGIT, isLowercaseHex, WORD_DIGITS as WORD, writeInteger, writeSmallUint, writeWadDecimal } from './hex-word-decimal.ts'

/** An answer read: its log count (for the range sizer) and its records. */
export interface LogsAnswer {
  readonly logs: number
  readonly encoded: EncodedRecords
}

/** undefined: not this reader's layout; read the answer the parsed way. */
export type LogsAnswerReader = (body: Uint8Array, range: BlockRange) => LogsAnswer | undefined

const QUOTE = 0x22
const COMMA = 0x2c
const CLOSE_ARRAY = 0x5d
/** More than any record of these events takes (about 1 KB). */
const RECORD_ROOM = 4096
/** Markets remembered per reader; past that, each further market's id is decoded per log. */
const MAX_MARKETS = 64

/** A market met in the answers: its 64 id digits, its slug as bytes and as the record's key. */
interface Market {
  readonly digits: WordBytes
  readonly slug: WordBytes
  readonly id: string
}

/** Copies `count` lowercase hex digits; the position after them in `out`, or -1 at a non-hex byte. */
function copyHex(src: Uint8Array, at: number, count: number, out: Uint8Array, pos: number): number {
  return isLowercaseHex(src, at, count) ? copyAt(src, at, count, out, pos) : -1
}

function isZeros(src: Uint8Array, at: number, count: number): boolean {
  return at + count <= src.length && skipBlank(src, at, at + count, 0x30) === at + count
}

/** Where one log's parts are in the answer, and its numbers. */
interface ParsedLog {
  event: EventLayout
  topicsAt: [number, number, number, number]
  dataAt: number
  blockHashAt: number
  blockNumber: number
  timestampAt: number
  timestampEnd: number
  txAt: number
  logIndex: number
  end: number
}

function emptyParsedLog(event: EventLayout): ParsedLog {
  return { event, topicsAt: [0, 0, 0, 0], dataAt: 0, blockHashAt: 0, blockNumber: 0, timestampAt: 0, timestampEnd: 0, txAt: 0, logIndex: 0, end: 0 }
}

/** The event whose topic0 digits are at `at`. */
function eventAt(layouts: readonly EventLayout[], src: Uint8Array, at: number): EventLayout | undefined {
  for (const event of layouts) if (matchesAt(src, at, event.selector)) return event
  return undefined
}

/** A hex quantity's digits from `at` to the closing quote: 1 to `max` lowercase digits; its end, or -1. */
function quantityEnd(src: Uint8Array, at: number, max: number): number {
  let i = at
  while (i < src.length && i - at <= max && HEX_DIGIT[src[i]!]! >= 0) i++
  return i === at || i - at > max || src[i] !== QUOTE ? -1 : i
}

function hexValue(src: Uint8Array, at: number, end: number): number {
  let value = 0
  for (let i = at; i < end; i++) value = value * 16 + HEX_DIGIT[src[i]!]!
  return value
}

export function createLogsAnswerReader(options: AnswerReaderOptions): LogsAnswerReader {
  const { chainId, contract } = options
  const layouts = READER_EVENTS.map((name) => layoutOf(EVENT_SPECS[name], options.selectors[name]))
  const contractDigits = literal(contract.slice(2))
  const idHead = literal(`{"v":${recordSchemaVersion},"id":"${chainId}:0x`)
  const chainHead = literal(`","chain":{"chain_id":${chainId},"contract":"${contract}","block_number":`)
  // The markets met so far. A chain lists a handful, so a log's market is found by comparing
  // digits, with no string made per log.
  const markets: Market[] = []
  /** The log's market, or undefined where the checked path would refuse its id. */
  const marketAt = (src: Uint8Array, at: number): Market | undefined => {
    for (const market of markets) if (matchesAt(src, at, market.digits)) return market
    if (!isLowercaseHex(src, at, WORD)) return undefined
    const digits = Buffer.from(src.subarray(at, at + WORD))
    let id: string
    try {
      id = decodeMarketId(`0x${digits.toString('latin1')}`)
    } catch {
      return undefined
    }
    // log-to-json holds the slug to the record schema's pattern, as here.
    if (!marketIdPattern.test(id)) return undefined
    const market = { digits: wordBytes(digits), slug: literal(id), id }
    if (markets.length < MAX_MARKETS) markets.push(market)
    return market
  }

  const parseLog = (src: Uint8Array, at: number, log: ParsedLog): boolean => {
    let p = at
    if (!matchesAt(src, p, LOG_ADDRESS) || !matchesAt(src, p + LOG_ADDRESS.bytes.length, contractDigits)) return false
    p += LOG_ADDRESS.bytes.length + 40
    if (!matchesAt(src, p, LOG_TOPICS)) return false
    p += LOG_TOPICS.bytes.length
    const event = eventAt(layouts, src, p)
    if (event === undefined) return false
    log.event = event
    log.topicsAt[0] = p
    p += WORD
    for (let t = 1; t < event.topics; t++) {
      // Each topic's digits are checked where they are read (writeFields, the market's slug).
      if (!matchesAt(src, p, NEXT_TOPIC)) return false
      log.topicsAt[t] = p + NEXT_TOPIC.bytes.length
      p += NEXT_TOPIC.bytes.length + WORD
    }
    if (!matchesAt(src, p, LOG_DATA)) return false
    log.dataAt = p + LOG_DATA.bytes.length
    p = log.dataAt + event.words * WORD
    // The block hash's digits are checked once per block, by encodeLog.
    if (!matchesAt(src, p, LOG_BLOCK_HASH)) return false
    log.blockHashAt = p + LOG_BLOCK_HASH.bytes.length
    p = log.blockHashAt + WORD
    if (!matchesAt(src, p, LOG_BLOCK_NUMBER)) return false
    p += LOG_BLOCK_NUMBER.bytes.length
    let end = quantityEnd(src, p, 13)
    if (end < 0) return false
    log.blockNumber = hexValue(src, p, end)
    if (!matchesAt(src, end, LOG_TIMESTAMP)) return false
    log.timestampAt = end + LOG_TIMESTAMP.bytes.length
    log.timestampEnd = quantityEnd(src, log.timestampAt, 12)
    if (log.timestampEnd < 0 || !matchesAt(src, log.timestampEnd, LOG_TX_HASH)) return false
    log.txAt = log.timestampEnd + LOG_TX_HASH.bytes.length
    p = log.txAt + WORD
    // The transaction hash's digits are checked where the record's id is written.
    if (!matchesAt(src, p, LOG_TX_INDEX)) return false
    p += LOG_TX_INDEX.bytes.length
    end = quantityEnd(src, p, 13)
    if (end < 0 || !matchesAt(src, end, LOG_INDEX)) return false
    p = end + LOG_INDEX.bytes.length
    end = quantityEnd(src, p, 13)
    if (end < 0) return false
    log.logIndex = hexValue(src, p, end)
    if (!matchesAt(src, end, LOG_END)) return false
    log.end = end + LOG_END.bytes.length
    return true
  }

  /** The event's data fields; the position after them, or -1 where the checked path would refuse one. */
  const writeFields = (src: Uint8Array, log: ParsedLog, out: Uint8Array, start: number): number => {
    let pos = start
    for (const field of log.event.fields) {
      const at = field.topic > 0 ? log.topicsAt[field.topic]! : log.dataAt + field.word * WORD
      pos = putAt(out, pos, field.head)
      switch (field.kind) {
        case 'bytes32':
          pos = copyHex(src, at, WORD, out, putAt(out, pos, OUT_0X))
          break
        case 'address':
          if (!isZeros(src, at, 24)) return -1
          pos = copyHex(src, at + 24, 40, out, putAt(out, pos, OUT_0X))
          break
        case 'side': {
          if (!isZeros(src, at, WORD - 1)) return -1
          const last = src[at + WORD - 1]
          if (last !== 0x30 && last !== 0x31) return -1
          pos = putAt(out, pos, last === 0x31 ? OUT_SIDE_LONG : OUT_SIDE_SHORT)
          break
        }
        case 'uint':
        case 'int':
          pos = writeWadDecimal(src, at, field.kind === 'int', out, pos)
          break
        case 'seconds':
          pos = writeSmallUint(src, at, out, pos)
          break
      }
      if (pos < 0) return -1
      if (field.quoted) out[pos++] = QUOTE
    }
    return pos
  }

  /** Reads the log at `at` and writes its record; the position after the log, or -1 to leave the answer. */
  const encodeLog = (body: Uint8Array, at: number, state: AnswerState): number => {
    const log = state.log
    if (!parseLog(body, at, log)) return -1
    const { blockNumber, logIndex } = log
    if (blockNumber < state.range.from || blockNumber > state.range.to) return -1
    if (blockNumber < state.lastBlock || (blockNumber === state.lastBlock && logIndex <= state.lastIndex)) return -1
    if (blockNumber === state.lastBlock) {
      // One block, one hash: the parsed path keys timestamps by hash, taking a run's first log's.
      if (!sameBytes(body, log.blockHashAt, state.blockHashAt, WORD)) return -1
    } else {
      if (!isLowercaseHex(body, log.blockHashAt, WORD)) return -1
      const hash = Buffer.from(body.buffer, body.byteOffset + log.blockHashAt, WORD).toString('latin1')
      if (state.blocks.has(hash)) return -1
      state.blocks.add(hash)
      state.blockHashAt = log.blockHashAt
      state.timestamp = hexValue(body, log.timestampAt, log.timestampEnd)
    }
    state.lastBlock = blockNumber
    state.lastIndex = logIndex
    const market = marketAt(body, log.topicsAt[log.event.marketTopic]!)
    if (market === undefined) return -1
    const records = state.records
    const out = records.reserve(RECORD_ROOM)
    let pos = records.size()
    pos = copyHex(body, log.txAt, WORD, out, putAt(out, pos, idHead))
    if (pos < 0) return -1
    pos = writeInteger(logIndex, out, putAt(out, pos, OUT_HASH_LOG))
    pos = putAt(out, putAt(out, pos, log.event.typePart), market.slug)
    pos = writeInteger(blockNumber, out, putAt(out, pos, chainHead))
    pos = copyAt(body, log.blockHashAt, WORD, out, putAt(out, pos, OUT_BLOCK_HASH))
    pos = copyAt(body, log.txAt, WORD, out, putAt(out, pos, OUT_TX_HASH))
    pos = writeInteger(logIndex, out, putAt(out, pos, OUT_LOG_INDEX))
    pos = writeInteger(state.timestamp, out, putAt(out, pos, OUT_TIMESTAMP))
    pos = writeFields(body, log, out, putAt(out, pos, OUT_DATA))
    if (pos < 0) return -1
    records.added(putAt(out, pos, OUT_END), blockNumber, logIndex, log.event.type, market.id)
    return log.end
  }

  /**
   * Every log of the result array from `at`: the position of its closing `]`, or -1. Nothing follows
   * the loop but the return, so the loop's optimized code has nothing left to learn when it ends.
   */
  const encodeLogs = (body: Uint8Array, at: number, state: AnswerState): number => {
    let p = at
    if (body[p] === CLOSE_ARRAY) return p
    for (;;) {
      p = encodeLog(body, p, state)
      if (p < 0 || body[p] === CLOSE_ARRAY) return p
      if (body[p] !== COMMA) return -1
      p++
    }
  }

  return (body, range) => {
    const start = resultStart(body)
    if (start < 0) return undefined
    const state: AnswerState = { range, log: emptyParsedLog(layouts[0]!), records: createEncodedRecordsBuilder(body.length + RECORD_ROOM), blocks: new Set(), lastBlock: -1, lastIndex: -1, blockHashAt: -1, timestamp: 0 }
    const close = encodeLogs(body, start, state)
    if (close < 0 || !isAnswerEnd(body, close)) return undefined
    const encoded = state.records.finish()
    return { logs: encoded.count, encoded }
  }
}

/** What reading one answer carries from log to log. */
interface AnswerState {
  readonly range: BlockRange
  readonly log: ParsedLog
  /** Sized from the answer: a record takes a little less than its log. */
  readonly records: EncodedRecordsBuilder
  /** The block hashes met so far, each once. */
  readonly blocks: Set<string>
  lastBlock: number
  lastIndex: number
  /** Where the current block's hash is in the answer. */
  blockHashAt: number
  timestamp: number
}

/** The position of the result array's first element, or -1 for any other answer. */
function resultStart(body: Uint8Array): number {
  if (!matchesAt(body, 0, ANSWER_HEAD)) return -1
  let p = ANSWER_HEAD.bytes.length
  const idStart = p
  while (p < body.length && p - idStart < 16 && body[p]! >= 0x30 && body[p]! <= 0x39) p++
  // A JSON number: no leading zero.
  if (p === idStart || (body[idStart] === 0x30 && p - idStart > 1) || !matchesAt(body, p, RESULT_HEAD)) return -1
  return p + RESULT_HEAD.bytes.length
}

/** After the result array's `]` at `close`: the answer's closing brace, then nothing but an optional newline. */
function isAnswerEnd(body: Uint8Array, close: number): boolean {
  const at = close + 1
  return body[at] === 0x7d && (at + 1 === body.length || (at + 2 === body.length && body[at + 1] === 0x0a))
}
