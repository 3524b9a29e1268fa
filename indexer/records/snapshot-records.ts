// The records of perp.snapshots.v1: the state of a position or a market after a projections commit,
// for analytics consumers that want current state rather than events. The topic is compacted and
// keyed by the record's id (the position id, or the market id), so it keeps the newest snapshot of
// every position and market. A position or market that a reorg undid entirely (its opening or
// listing was orphaned) gets a *_removed record, so the compacted topic forgets nothing silently.
// Fields are the read models' columns, named and typed as in the events they come from.
import { z } from 'zod'
import { decimalString, unsignedDecimalString } from './decimal.ts'
import { address, crossFieldCheck, hash32, marketId, recordVersion, uint, unixSeconds } from './record-fields.ts'

const recordKey = 'The Kafka record key.'
const positionId = hash32.meta({ description: 'The position id the contract assigned (bytes32).' })
const keyedPositionId = hash32.meta({ description: `The position id. ${recordKey}` })
const keyedMarketId = marketId.meta({ description: `The market id, e.g. "btc-usdc-perp". ${recordKey}` })
const ofMarket = marketId.meta({ description: 'The market, e.g. "btc-usdc-perp".' })
const nullableUint = uint.nullable()

export const positionSnapshotRecord = z
  .strictObject({
    v: recordVersion,
    id: keyedPositionId,
    type: z.literal('position_snapshot'),
    market_id: ofMarket,
    data: z.strictObject({
      position_id: positionId,
      market_id: ofMarket,
      trader: address,
      side: z.enum(['long', 'short']),
      size: unsignedDecimalString,
      collateral: unsignedDecimalString,
      leverage: unsignedDecimalString,
      entry_price: unsignedDecimalString,
      entry_funding_index: decimalString,
      status: z.enum(['open', 'closed', 'liquidated']),
      opened_block_number: uint,
      opened_block_hash: hash32,
      opened_tx_hash: hash32,
      opened_log_index: uint,
      opened_at: unixSeconds.meta({ description: 'Block timestamp of the opening.' }),
      exit_price: unsignedDecimalString.nullable().meta({ description: "The close's exit price or the liquidation price; null while open." }),
      realized_pnl: decimalString.nullable(),
      funding_paid: decimalString.nullable().meta({ description: 'Funding settled on close; null while open and for a liquidation.' }),
      liquidator: address.nullable(),
      liquidation_fee: unsignedDecimalString.nullable(),
      closed_block_number: nullableUint,
      closed_block_hash: hash32.nullable(),
      closed_tx_hash: hash32.nullable(),
      closed_log_index: nullableUint,
      closed_at: unixSeconds.nullable().meta({ description: 'Block timestamp of the close or liquidation; null while open.' }),
    }),
  })
  .refine(
    (record) => record.id === record.data.position_id && record.market_id === record.data.market_id,
    crossFieldCheck(['id'], 'id must be data.position_id and market_id data.market_id'),
  )
  .meta({ title: 'position_snapshot', description: 'A position as the read models hold it after a commit: every fact of its opening and, once ended, of its close or liquidation.' })

export const marketSnapshotRecord = z
  .strictObject({
    v: recordVersion,
    id: keyedMarketId,
    type: z.literal('market_snapshot'),
    market_id: ofMarket,
    data: z.strictObject({
      market_id: ofMarket,
      symbol: z.string().min(1),
      pyth_feed_id: hash32,
      maintenance_margin_ratio: unsignedDecimalString,
      liquidation_fee_ratio: unsignedDecimalString,
      chain_id: uint,
      contract: address,
      listed_block_number: uint,
      listed_block_hash: hash32,
      listed_tx_hash: hash32,
      listed_log_index: uint,
      listed_at: unixSeconds,
      funding_rate: decimalString.meta({ description: '"0" until the first FundingUpdated.' }),
      cumulative_funding_index: decimalString,
      long_open_interest: unsignedDecimalString.meta({ description: 'Σ size · entry price of the open longs, as the contract keeps it.' }),
      short_open_interest: unsignedDecimalString,
      last_funding_update: unixSeconds.nullable().meta({ description: 'Funding time of the latest FundingUpdated; null before the first.' }),
      mark_price: decimalString.nullable().meta({ description: "The latest Pyth price of the market's feed; null before the first tick." }),
      mark_price_confidence: unsignedDecimalString.nullable(),
      mark_price_publish_time: unixSeconds.nullable(),
    }),
  })
  .refine(
    (record) => record.id === record.market_id && record.market_id === record.data.market_id,
    crossFieldCheck(['id'], 'id, market_id and data.market_id must be the same market'),
  )
  .meta({ title: 'market_snapshot', description: "A market's listing, funding state, open interest and latest price after a commit." })

export const positionRemovedRecord = z
  .strictObject({ v: recordVersion, id: positionId, type: z.literal('position_removed'), market_id: marketId })
  .meta({ title: 'position_removed', description: 'A reorg orphaned the opening of this position: it no longer exists.' })

export const marketRemovedRecord = z
  .strictObject({ v: recordVersion, id: marketId, type: z.literal('market_removed'), market_id: marketId })
  .refine((record) => record.id === record.market_id, crossFieldCheck(['id'], 'id must be market_id'))
  .meta({ title: 'market_removed', description: 'A reorg orphaned the listing of this market: it is no longer listed.' })

/** Any record of perp.snapshots.v1; the Kafka record key is its id. */
export const snapshotRecord = z.discriminatedUnion('type', [
  positionSnapshotRecord,
  marketSnapshotRecord,
  positionRemovedRecord,
  marketRemovedRecord,
])

export type PositionSnapshotRecord = z.infer<typeof positionSnapshotRecord>
export type MarketSnapshotRecord = z.infer<typeof marketSnapshotRecord>
export type SnapshotRecord = z.infer<typeof snapshotRecord>
