// The records of the perp contract's events on perp.events.v1. Amounts are the contract's WAD
// integers written with formatDecimal (uint256 fields as unsigned decimals, int256 as signed).
import { z } from 'zod'
import { decimalString, unsignedDecimalString } from './decimal.ts'
import { chainEventId } from './record-ids.ts'
import {
  address,
  crossFieldCheck,
  hash32,
  marketId,
  recordVersion,
  uint,
  unixSeconds,
} from './record-fields.ts'

/** Where a log sits on the chain. Together with the reorg records it lets a consumer undo a block. */
export const chainPosition = z
  .strictObject({
    chain_id: uint,
    contract: address.meta({ description: 'The perp contract that emitted the log.' }),
    block_number: uint,
    block_hash: hash32,
    tx_hash: hash32,
    log_index: uint.meta({ description: "The log's index within its block." }),
    block_timestamp: unixSeconds,
  })
  .meta({ description: 'The chain position of the log the record was decoded from.' })

const chainEventIdPattern = /^(0|[1-9]\d*):0x[0-9a-f]{64}:(0|[1-9]\d*)$/

function chainEventRecordSchema<const Type extends string, const Data extends z.ZodRawShape>(
  type: Type,
  data: Data,
  description: string,
) {
  return z
    .strictObject({
      v: recordVersion,
      id: z
        .string()
        .regex(chainEventIdPattern, { error: 'expected "<chain_id>:<tx_hash>:<log_index>"' })
        .meta({ description: 'Deterministic id: "<chain_id>:<tx_hash>:<log_index>".' }),
      type: z.literal(type),
      market_id: marketId,
      chain: chainPosition,
      data: z.strictObject(data),
    })
    .refine(
      (record) => record.id === chainEventId(record.chain.chain_id, record.chain.tx_hash, record.chain.log_index),
      crossFieldCheck(['id'], 'id must be "<chain_id>:<tx_hash>:<log_index>" of the record\'s chain position'),
    )
    .meta({ title: type, description })
}

const positionId = hash32.meta({ description: 'The position id the contract assigned (bytes32).' })
const trader = address.meta({ description: 'The owner of the position.' })
const price = unsignedDecimalString.meta({ description: 'A price in the quote currency (USD).' })

export const marketListedRecord = chainEventRecordSchema(
  'market_listed',
  {
    symbol: z.string().min(1).meta({ description: 'The symbol the contract lists, e.g. "BTC/USDC".' }),
    pyth_feed_id: hash32.meta({ description: 'The Pyth price feed that marks this market.' }),
    maintenance_margin_ratio: unsignedDecimalString.meta({ description: 'e.g. "0.05" for 5%.' }),
    liquidation_fee_ratio: unsignedDecimalString.meta({ description: "The liquidator's share of the notional." }),
  },
  'MarketListed: the contract listed a market.',
)

export const positionOpenedRecord = chainEventRecordSchema(
  'position_opened',
  {
    position_id: positionId,
    trader,
    side: z.enum(['long', 'short']),
    size: unsignedDecimalString.meta({ description: 'In units of the base asset.' }),
    collateral: unsignedDecimalString.meta({ description: 'In the quote currency.' }),
    leverage: unsignedDecimalString,
    entry_price: price,
    entry_funding_index: decimalString.meta({ description: "The market's cumulative funding index at entry." }),
  },
  'PositionOpened: a trader opened a position.',
)

export const positionClosedRecord = chainEventRecordSchema(
  'position_closed',
  {
    position_id: positionId,
    trader,
    exit_price: price,
    realized_pnl: decimalString,
    funding_paid: decimalString.meta({ description: 'Funding paid by the position (negative: received).' }),
  },
  'PositionClosed: the trader closed a position.',
)

export const positionLiquidatedRecord = chainEventRecordSchema(
  'position_liquidated',
  {
    position_id: positionId,
    trader,
    liquidator: address,
    liquidation_price: price,
    liquidation_fee: unsignedDecimalString.meta({ description: 'Paid to the liquidator.' }),
    realized_pnl: decimalString,
  },
  'PositionLiquidated: a liquidator closed an undercollateralised position.',
)

export const fundingUpdatedRecord = chainEventRecordSchema(
  'funding_updated',
  {
    funding_rate: decimalString,
    cumulative_funding_index: decimalString,
    long_open_interest: unsignedDecimalString,
    short_open_interest: unsignedDecimalString,
    timestamp: unixSeconds.meta({ description: 'The funding time the contract emitted (uint64).' }),
  },
  "FundingUpdated: the market's funding rate and cumulative funding index changed.",
)

export type MarketListedRecord = z.infer<typeof marketListedRecord>
export type PositionOpenedRecord = z.infer<typeof positionOpenedRecord>
export type PositionClosedRecord = z.infer<typeof positionClosedRecord>
export type PositionLiquidatedRecord = z.infer<typeof positionLiquidatedRecord>
export type FundingUpdatedRecord = z.infer<typeof fundingUpdatedRecord>
export type ChainPosition = z.infer<typeof chainPosition>
