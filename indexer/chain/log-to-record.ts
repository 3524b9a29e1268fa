// Turns a raw log of the perp contract into its record on perp.events.v1. Pure: the chain position
// comes from the log itself, except the block timestamp, which eth_getLogs does not return and the
// caller takes from the block header. Hex in records is lowercase whatever casing the node or the
// decoder used, so a record never depends on how an RPC node cases a hash.
import type { Hex } from 'viem'
import { decodeMarketId } from '../../contracts-abi/market-id.ts'
import type { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { formatDecimal } from '../records/decimal.ts'
import { chainEventId } from '../records/record-ids.ts'
import {
  recordSchemaVersion,
  type ChainEventRecord,
  type ChainPosition,
  type FundingUpdatedRecord,
  type MarketListedRecord,
  type PositionClosedRecord,
  type PositionLiquidatedRecord,
  type PositionOpenedRecord,
} from '../records/schemas.ts'
import type { RawLog } from './chain-types.ts'
import type { DecodedEventLog, EventDecoder } from './event-decoder.ts'

export type PerpExchangeAbi = typeof perpExchangeAbi

export interface LogToRecordDeps {
  readonly chainId: number
  /** The perp contract; logs of any other address are foreign. */
  readonly contract: Hex
  /** Build it with `addresses: 'lowercase'`: records store addresses lowercase anyway. */
  readonly decoder: EventDecoder<PerpExchangeAbi>
}

/**
 * undefined for a foreign log: another contract's, or a topic0 of no event of the perp ABI.
 * createLogToRecord's carries its deps as `mapping`, so the backfill can build the same mapping's
 * JSON path (log-to-json.ts) from it.
 */
export type LogToRecord = ((log: RawLog, blockTimestamp: number) => ChainEventRecord | undefined) & {
  readonly mapping?: LogToRecordDeps
}

/** A log of the perp contract that decodes but cannot become a valid record. */
export class LogToRecordError extends Error {
  override readonly name = 'LogToRecordError'
  readonly transactionHash: string
  readonly logIndex: string
  readonly issue: string
  constructor(log: RawLog, issue: string, options?: { readonly cause?: unknown }) {
    super(
      `cannot map the log at tx ${log.transactionHash} log index ${log.logIndex} to a record: ${issue}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.transactionHash = log.transactionHash
    this.logIndex = log.logIndex
    this.issue = issue
  }
}

type Decoded = DecodedEventLog<PerpExchangeAbi>

/** The fields every chain event record shares. */
interface RecordHead {
  readonly id: string
  readonly chain: ChainPosition
  readonly marketSlug: (marketId: Hex) => string
}

/** Distinct market ids remembered; a chain lists a handful of markets, so this is never reached. */
const MARKET_SLUG_CACHE_LIMIT = 1024

export function createLogToRecord(deps: LogToRecordDeps): LogToRecord {
  const contract = deps.contract.toLowerCase()
  const { chainId, decoder } = deps
  const marketSlug = createMarketSlugCache()
  const position = createChainPositions(chainId, contract)
  const toRecord = (log: RawLog, blockTimestamp: number): ChainEventRecord | undefined => {
    if (log.address.toLowerCase() !== contract) return undefined
    const decoded = decoder.decode(log)
    if (decoded === undefined) return undefined
    const { chain, id } = position(log, blockTimestamp)
    try {
      return recordOf(decoded, { id, chain, marketSlug })
    } catch (cause) {
      throw new LogToRecordError(log, cause instanceof Error ? cause.message : String(cause), { cause })
    }
  }
  return Object.assign(toRecord, { mapping: deps })
}

/**
 * The chain position and record id of each log. A backfill's logs come by the hundred per block and
 * per transaction (openPositions emits 500), so the block's and the transaction's fields are worked
 * out once per run of equal values: the lowercased hashes and the id's prefix, whose hash check
 * (chainEventId's) then runs once per transaction instead of once per log.
 */
function createChainPositions(chainId: number, contract: string): (log: RawLog, blockTimestamp: number) => { chain: ChainPosition; id: string } {
  let blockHashRaw = ''
  let blockHash = ''
  let blockNumberRaw = ''
  let blockNumber = 0
  let txRaw = ''
  let tx = ''
  let idPrefix = ''
  return (log, blockTimestamp) => {
    checkBlockTimestamp(log, blockTimestamp)
    if (log.blockHash !== blockHashRaw) {
      blockHash = log.blockHash.toLowerCase()
      blockHashRaw = log.blockHash
    }
    if (log.blockNumber !== blockNumberRaw) {
      blockNumber = quantity(log, 'blockNumber')
      blockNumberRaw = log.blockNumber
    }
    const logIndex = quantity(log, 'logIndex')
    if (log.transactionHash !== txRaw) {
      tx = log.transactionHash.toLowerCase()
      // chainEventId(chainId, tx, 0) is the prefix followed by "0": built once, checks included.
      idPrefix = chainEventId(chainId, tx, 0).slice(0, -1)
      txRaw = log.transactionHash
    }
    const chain = { chain_id: chainId, contract, block_number: blockNumber, block_hash: blockHash, tx_hash: tx, log_index: logIndex, block_timestamp: blockTimestamp }
    return { chain, id: `${idPrefix}${logIndex}` }
  }
}

/**
 * decodeMarketId, remembered per bytes32: every position event names a market, and decoding one is
 * slow. `accept` sees each newly decoded slug and may throw to refuse it (it is then not remembered).
 */
export function createMarketSlugCache(accept?: (slug: string) => void): (marketId: Hex) => string {
  const slugs = new Map<string, string>()
  return (marketId) => {
    let slug = slugs.get(marketId)
    if (slug === undefined) {
      slug = decodeMarketId(marketId)
      accept?.(slug)
      if (slugs.size < MARKET_SLUG_CACHE_LIMIT) slugs.set(marketId, slug)
    }
    return slug
  }
}

/** The block timestamp a log is stamped with: unix seconds, or LogToRecordError. */
export function checkBlockTimestamp(log: RawLog, blockTimestamp: number): void {
  if (!Number.isSafeInteger(blockTimestamp) || blockTimestamp < 0) {
    throw new LogToRecordError(log, `block timestamp ${blockTimestamp} is not unix seconds`)
  }
}

/** A log's block number or log index, a hex quantity within safe integers, or LogToRecordError. */
export function quantity(log: RawLog, field: 'blockNumber' | 'logIndex'): number {
  const text = log[field]
  const value = Number(text)
  if (!/^0x[0-9a-fA-F]+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new LogToRecordError(log, `${field} ${JSON.stringify(text)} is not a hex quantity`)
  }
  return value
}

function recordOf(decoded: Decoded, head: RecordHead): ChainEventRecord {
  switch (decoded.eventName) {
    case 'MarketListed': {
      const a = decoded.args
      const data = {
        symbol: a.symbol,
        pyth_feed_id: a.pythFeedId.toLowerCase(),
        maintenance_margin_ratio: formatDecimal(a.maintenanceMarginRatio),
        liquidation_fee_ratio: formatDecimal(a.liquidationFeeRatio),
      }
      return record<MarketListedRecord>(head, 'market_listed', a.marketId, data)
    }
    case 'PositionOpened': {
      const a = decoded.args
      const data = {
        position_id: a.positionId.toLowerCase(),
        trader: a.trader.toLowerCase(),
        side: a.isLong ? 'long' : 'short',
        size: formatDecimal(a.size),
        collateral: formatDecimal(a.collateral),
        leverage: formatDecimal(a.leverage),
        entry_price: formatDecimal(a.entryPrice),
        entry_funding_index: formatDecimal(a.entryFundingIndex),
      } as const
      return record<PositionOpenedRecord>(head, 'position_opened', a.marketId, data)
    }
    case 'PositionClosed': {
      const a = decoded.args
      const data = {
        position_id: a.positionId.toLowerCase(),
        trader: a.trader.toLowerCase(),
        exit_price: formatDecimal(a.exitPrice),
        realized_pnl: formatDecimal(a.realizedPnl),
        funding_paid: formatDecimal(a.fundingPaid),
      }
      return record<PositionClosedRecord>(head, 'position_closed', a.marketId, data)
    }
    case 'PositionLiquidated': {
      const a = decoded.args
      const data = {
        position_id: a.positionId.toLowerCase(),
        trader: a.trader.toLowerCase(),
        liquidator: a.liquidator.toLowerCase(),
        liquidation_price: formatDecimal(a.liquidationPrice),
        liquidation_fee: formatDecimal(a.liquidationFee),
        realized_pnl: formatDecimal(a.realizedPnl),
      }
      return record<PositionLiquidatedRecord>(head, 'position_liquidated', a.marketId, data)
    }
    case 'FundingUpdated': {
      const a = decoded.args
      const data = {
        funding_rate: formatDecimal(a.fundingRate),
        cumulative_funding_index: formatDecimal(a.cumulativeFundingIndex),
        long_open_interest: formatDecimal(a.longOpenInterest),
        short_open_interest: formatDecimal(a.shortOpenInterest),
        timestamp: unixSeconds(a.timestamp),
      }
      return record<FundingUpdatedRecord>(head, 'funding_updated', a.marketId, data)
    }
    default: {
      const unreachable: never = decoded
      throw new Error(`unhandled event ${(unreachable as Decoded).eventName}`)
    }
  }
}

/** Fields in the schema's order, so every record serializes alike. */
function record<R extends ChainEventRecord>(head: RecordHead, type: R['type'], marketId: Hex, data: R['data']): R {
  const market_id = head.marketSlug(marketId)
  return { v: recordSchemaVersion, id: head.id, type, market_id, chain: head.chain, data } as R
}

function unixSeconds(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`timestamp ${value} is beyond unix seconds`)
  return Number(value)
}
