// The backfill's write path: a raw log of the perp contract straight to the JSON text of its record
// on perp.events.v1, without the record object, the events codec's check or its JSON pass. The text
// is byte for byte what the checked path writes (log-to-record.ts, then events-record-codec.ts's
// check and JSON, which equals JSON.stringify of the zod schema's output), and a log the checked
// path would reject, here or at the writer's check, is rejected here (LogToRecordError).
//
// Why it is safe to skip the check: every value comes from the decoder, whose readers only return
// what the schema's patterns admit (bytes32 and addresses as 0x + lowercase hex of the right width,
// integers in their ABI range, booleans), or is checked here where the decoder does not promise it:
// the block and transaction hashes, the market slug (decodeMarketId admits "a--b", the schema does
// not), a negative value in an unsigned field, an empty symbol, a timestamp past 2^53. Strings
// JSON would escape can only be the symbol, which goes through JSON.stringify.
// log-to-json.unit.test.ts holds it to the checked path and to the zod schema over random logs.
import type { Hex } from 'viem'
import { formatDecimal } from '../records/decimal.ts'
import { addressPattern, hash32Pattern, marketIdPattern, recordSchemaVersion } from '../records/record-fields.ts'
import { chainEventId } from '../records/record-ids.ts'
import type { ChainEventRecord } from '../records/schemas.ts'
import type { RawLog } from './chain-types.ts'
import type { DecodedEventLog } from './event-decoder.ts'
import { checkBlockTimestamp, createMarketSlugCache, LogToRecordError, quantity, type LogToRecordDeps, type PerpExchangeAbi } from './log-to-record.ts'

/** One record's JSON and what the sink needs of it without parsing it. */
export interface EncodedEvent {
  readonly type: ChainEventRecord['type']
  /** The market slug: the record's key. */
  readonly marketId: string
  readonly blockNumber: number
  readonly logIndex: number
  readonly json: string
}

/** undefined for a foreign log, as LogToRecord. */
export type LogToJson = (log: RawLog, blockTimestamp: number) => EncodedEvent | undefined

type Decoded = DecodedEventLog<PerpExchangeAbi>

/** The JSON before and after the log index and type, per run of equal block and transaction. */
interface Position {
  readonly blockNumber: number
  readonly logIndex: number
  /** `{"v":1,"id":"<chain>:<tx>:` */
  readonly idHead: string
  /** `"chain":{…,"log_index":` */
  readonly chainHead: string
}

export function createLogToJson(deps: LogToRecordDeps): LogToJson {
  const contract = deps.contract.toLowerCase()
  const { decoder } = deps
  const position = createJsonPositions(deps.chainId, contract)
  const slugOf = createCheckedSlugCache()
  return (log, blockTimestamp) => {
    if (log.address.toLowerCase() !== contract) return undefined
    const decoded = decoder.decode(log)
    if (decoded === undefined) return undefined
    const at = position(log, blockTimestamp)
    try {
      return encodeEvent(decoded, at, `${blockTimestamp}},"data":{`, slugOf)
    } catch (cause) {
      throw new LogToRecordError(log, cause instanceof Error ? cause.message : String(cause), { cause })
    }
  }
}

function createJsonPositions(chainId: number, contract: string): (log: RawLog, blockTimestamp: number) => Position {
  // The contract and chain id are the same for every record; a bad one fails each log, as the
  // writer's check would have failed each record.
  const contractIssue = addressPattern.test(contract) ? undefined : `contract ${JSON.stringify(contract)} is not a lowercase address`
  const chainHead = `"chain":{"chain_id":${chainId},"contract":"${contract}",`
  let blockHashRaw = ''
  let blockNumberRaw = ''
  let blockNumber = 0
  let blockPart = ''
  let txRaw = ''
  let idHead = ''
  let txPart = ''
  return (log, blockTimestamp) => {
    if (contractIssue !== undefined) throw new LogToRecordError(log, contractIssue)
    checkBlockTimestamp(log, blockTimestamp)
    if (log.blockHash !== blockHashRaw || log.blockNumber !== blockNumberRaw) {
      const hash = log.blockHash.toLowerCase()
      if (!hash32Pattern.test(hash)) throw new LogToRecordError(log, `block hash ${JSON.stringify(log.blockHash)} is not a 32-byte hash`)
      blockNumber = quantity(log, 'blockNumber')
      blockPart = `"block_number":${blockNumber},"block_hash":"${hash}",`
      blockHashRaw = log.blockHash
      blockNumberRaw = log.blockNumber
    }
    const logIndex = quantity(log, 'logIndex')
    if (log.transactionHash !== txRaw) {
      const tx = log.transactionHash.toLowerCase()
      // chainEventId checks the chain id and the hash, as log-to-record does.
      idHead = `{"v":${recordSchemaVersion},"id":"${checkedId(log, chainId, tx).slice(0, -1)}`
      txPart = `"tx_hash":"${tx}","log_index":`
      txRaw = log.transactionHash
    }
    return { blockNumber, logIndex, idHead, chainHead: `${chainHead}${blockPart}${txPart}` }
  }
}

function checkedId(log: RawLog, chainId: number, tx: string): string {
  try {
    return chainEventId(chainId, tx, 0)
  } catch (cause) {
    throw new LogToRecordError(log, cause instanceof Error ? cause.message : String(cause), { cause })
  }
}

/** The market slug cache of log-to-record, holding each slug to the schema's pattern. */
function createCheckedSlugCache(): (marketId: Hex) => string {
  return createMarketSlugCache((slug) => {
    if (!marketIdPattern.test(slug)) throw new Error(`market_id: ${JSON.stringify(slug)} is not a market id slug`)
  })
}

function unsigned(value: bigint): string {
  if (value < 0n) throw new Error(`${value} is negative in an unsigned field`)
  return formatDecimal(value)
}

function unixSeconds(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`timestamp ${value} is beyond unix seconds`)
  return Number(value)
}

function symbolJson(symbol: string): string {
  if (symbol.length === 0) throw new Error('symbol: expected a non-empty string')
  return JSON.stringify(symbol)
}

/** The record's type and its data's JSON, fields in the schema's order. */
function dataOf(decoded: Decoded): { type: ChainEventRecord['type']; marketId: Hex; data: string } {
  switch (decoded.eventName) {
    case 'MarketListed': {
      const a = decoded.args
      const data = `"symbol":${symbolJson(a.symbol)},"pyth_feed_id":"${a.pythFeedId.toLowerCase()}","maintenance_margin_ratio":"${unsigned(a.maintenanceMarginRatio)}","liquidation_fee_ratio":"${unsigned(a.liquidationFeeRatio)}"`
      return { type: 'market_listed', marketId: a.marketId, data }
    }
    case 'PositionOpened': {
      const a = decoded.args
      const data = `"position_id":"${a.positionId.toLowerCase()}","trader":"${a.trader.toLowerCase()}","side":"${a.isLong ? 'long' : 'short'}","size":"${unsigned(a.size)}","collateral":"${unsigned(a.collateral)}","leverage":"${unsigned(a.leverage)}","entry_price":"${unsigned(a.entryPrice)}","entry_funding_index":"${formatDecimal(a.entryFundingIndex)}"`
      return { type: 'position_opened', marketId: a.marketId, data }
    }
    case 'PositionClosed': {
      const a = decoded.args
      const data = `"position_id":"${a.positionId.toLowerCase()}","trader":"${a.trader.toLowerCase()}","exit_price":"${unsigned(a.exitPrice)}","realized_pnl":"${formatDecimal(a.realizedPnl)}","funding_paid":"${formatDecimal(a.fundingPaid)}"`
      return { type: 'position_closed', marketId: a.marketId, data }
    }
    case 'PositionLiquidated': {
      const a = decoded.args
      const data = `"position_id":"${a.positionId.toLowerCase()}","trader":"${a.trader.toLowerCase()}","liquidator":"${a.liquidator.toLowerCase()}","liquidation_price":"${unsigned(a.liquidationPrice)}","liquidation_fee":"${unsigned(a.liquidationFee)}","realized_pnl":"${formatDecimal(a.realizedPnl)}"`
      return { type: 'position_liquidated', marketId: a.marketId, data }
    }
    case 'FundingUpdated': {
      const a = decoded.args
      const data = `"funding_rate":"${formatDecimal(a.fundingRate)}","cumulative_funding_index":"${formatDecimal(a.cumulativeFundingIndex)}","long_open_interest":"${unsigned(a.longOpenInterest)}","short_open_interest":"${unsigned(a.shortOpenInterest)}","timestamp":${unixSeconds(a.timestamp)}`
      return { type: 'funding_updated', marketId: a.marketId, data }
    }
    default: {
      const unreachable: never = decoded
      throw new Error(`unhandled event ${(unreachable as Decoded).eventName}`)
    }
  }
}

function encodeEvent(decoded: Decoded, at: Position, tail: string, slugOf: (marketId: Hex) => string): EncodedEvent {
  const { type, marketId, data } = dataOf(decoded)
  const slug = slugOf(marketId)
  const json = `${at.idHead}${at.logIndex}","type":"${type}","market_id":"${slug}",${at.chainHead}${at.logIndex},"block_timestamp":${tail}${data}}}`
  return { type, marketId: slug, blockNumber: at.blockNumber, logIndex: at.logIndex, json }
}
