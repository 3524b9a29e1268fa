// The one eth_getLogs answer layout the answer reader (logs-answer-reader.ts) reads, the one anvil
// sends, and the record JSON it writes, as byte literals; and each event's arguments in the order
// the record schema lists its data fields. Pure data: no I/O.
//
//   {"jsonrpc":"2.0","id":7,"result":[{"address":"0x…","topics":["0x…",…],"data":"0x…",
//    "blockHash":"0x…","blockNumber":"0x…","blockTimestamp":"0x…","transactionHash":"0x…",
//    "transactionIndex":"0x…","logIndex":"0x…","removed":false},…]}
import type { ChainEventRecord } from '../records/schemas.ts'
import { wordBytes, type WordBytes } from './byte-views.ts'

/** The events the reader writes: the perp contract's events with static arguments only. */
export const READER_EVENTS = ['PositionOpened', 'PositionClosed', 'PositionLiquidated', 'FundingUpdated'] as const
export type ReaderEvent = (typeof READER_EVENTS)[number]

/**
 * Plain data (answer-reader-options.ts makes it from the mapping's deps, checking what the parsed
 * path would refuse for every log), so the reader itself loads neither viem nor zod.
 */
export interface AnswerReaderOptions {
  readonly chainId: number
  /** Lowercase, 0x-prefixed. */
  readonly contract: string
  /** Each event's topic0, 0x-prefixed lowercase hex. */
  readonly selectors: Readonly<Record<ReaderEvent, string>>
}

export type FieldKind = 'bytes32' | 'address' | 'side' | 'uint' | 'int' | 'seconds'

export interface Field {
  /** `,"name":"` (no comma for the first field, no quote for a number). */
  readonly head: WordBytes
  readonly quoted: boolean
  readonly kind: FieldKind
  /** 1..3: an indexed argument's topic; 0: in the data, at `word`. */
  readonly topic: number
  readonly word: number
}

export interface EventLayout {
  readonly type: ChainEventRecord['type']
  /** `","type":"position_opened","market_id":"` */
  readonly typePart: WordBytes
  /** topic0's 64 digits. */
  readonly selector: WordBytes
  readonly topics: number
  readonly words: number
  readonly marketTopic: number
  readonly fields: readonly Field[]
}

/** `text`'s bytes (ASCII) as a literal to compare or write a word at a time. */
export const literal = (text: string): WordBytes => wordBytes(Buffer.from(text, 'latin1'))

type Arg = readonly [json: string, kind: FieldKind, topic: number, word: number]

interface EventSpec {
  readonly type: ChainEventRecord['type']
  /** topic0 and the indexed arguments. */
  readonly topics: number
  /** The data's words (every argument static). */
  readonly words: number
  readonly marketTopic: number
  /** The record's data fields in the schema's order, as log-to-json.ts writes them. */
  readonly args: readonly Arg[]
}

const POSITION_HEAD: readonly Arg[] = [
  ['position_id', 'bytes32', 1, 0],
  ['trader', 'address', 2, 0],
]
// The ABI's layout of each event (logs-answer-reader.unit.test.ts checks it against the ABI).
export const EVENT_SPECS: Readonly<Record<ReaderEvent, EventSpec>> = {
  PositionOpened: {
    ...{ type: 'position_opened', topics: 4, words: 6, marketTopic: 3 },
    args: [
      ...POSITION_HEAD,
      ['side', 'side', 0, 0],
      ['size', 'uint', 0, 1],
      ['collateral', 'uint', 0, 2],
      ['leverage', 'uint', 0, 3],
      ['entry_price', 'uint', 0, 4],
      ['entry_funding_index', 'int', 0, 5],
    ],
  },
  PositionClosed: {
    ...{ type: 'position_closed', topics: 4, words: 3, marketTopic: 3 },
    args: [...POSITION_HEAD, ['exit_price', 'uint', 0, 0], ['realized_pnl', 'int', 0, 1], ['funding_paid', 'int', 0, 2]],
  },
  PositionLiquidated: {
    ...{ type: 'position_liquidated', topics: 4, words: 4, marketTopic: 3 },
    args: [
      ...POSITION_HEAD,
      ['liquidator', 'address', 0, 0],
      ['liquidation_price', 'uint', 0, 1],
      ['liquidation_fee', 'uint', 0, 2],
      ['realized_pnl', 'int', 0, 3],
    ],
  },
  FundingUpdated: {
    ...{ type: 'funding_updated', topics: 2, words: 5, marketTopic: 1 },
    args: [
      ['funding_rate', 'int', 0, 0],
      ['cumulative_funding_index', 'int', 0, 1],
      ['long_open_interest', 'uint', 0, 2],
      ['short_open_interest', 'uint', 0, 3],
      ['timestamp', 'seconds', 0, 4],
    ],
  },
}

export function layoutOf(spec: EventSpec, selector: string): EventLayout {
  const fields = spec.args.map(([json, kind, topic, word], i): Field => {
    const quoted = kind !== 'seconds'
    return { head: literal(`${i === 0 ? '' : ','}"${json}":${quoted ? '"' : ''}`), quoted, kind, topic, word }
  })
  return {
    ...{ type: spec.type, topics: spec.topics, words: spec.words, marketTopic: spec.marketTopic, fields },
    typePart: literal(`","type":"${spec.type}","market_id":"`),
    selector: literal(selector.slice(2)),
  }
}

export const ANSWER_HEAD = literal('{"jsonrpc":"2.0","id":')
export const RESULT_HEAD = literal(',"result":[')
export const LOG_ADDRESS = literal('{"address":"0x')
export const LOG_TOPICS = literal('","topics":["0x')
export const NEXT_TOPIC = literal('","0x')
export const LOG_DATA = literal('"],"data":"0x')
export const LOG_BLOCK_HASH = literal('","blockHash":"0x')
export const LOG_BLOCK_NUMBER = literal('","blockNumber":"0x')
export const LOG_TIMESTAMP = literal('","blockTimestamp":"0x')
export const LOG_TX_HASH = literal('","transactionHash":"0x')
export const LOG_TX_INDEX = literal('","transactionIndex":"0x')
export const LOG_INDEX = literal('","logIndex":"0x')
export const LOG_END = literal('","removed":false}')
export const OUT_SIDE_LONG = literal('long')
export const OUT_SIDE_SHORT = literal('short')
export const OUT_0X = literal('0x')
export const OUT_HASH_LOG = literal(':')
export const OUT_BLOCK_HASH = literal(',"block_hash":"0x')
export const OUT_TX_HASH = literal('","tx_hash":"0x')
export const OUT_LOG_INDEX = literal('","log_index":')
export const OUT_TIMESTAMP = literal(',"block_timestamp":')
export const OUT_DATA = literal('},"data":{')
export const OUT_END = literal('}}')
