// The row writes of each chain event of the perp contract: pure functions of the view and the
// record. They read only rows of the record's own market (its market row and its positions), never a
// tick, so what they write depends on that market's records alone, in their log order.
import { formatDecimal, mulWad, parseDecimal } from '../../indexer/records/decimal.ts'
import type {
  FundingUpdatedRecord,
  MarketListedRecord,
  PositionClosedRecord,
  PositionLiquidatedRecord,
  PositionOpenedRecord,
} from '../../indexer/records/schemas.ts'
import { chainKey } from './chain-key.ts'
import type { FoldView, SkipReason } from './fold-step.ts'
import type { MarketRow, PositionRow, RowWrite } from './read-model-rows.ts'

export type ChainEventFold = readonly RowWrite[] | SkipReason

/** The position's entry notional, mulWad(size, entry_price): what it adds to its side's open interest. */
function entryNotional(position: Pick<PositionRow, 'size' | 'entry_price'>): bigint {
  return mulWad(parseDecimal(position.size), parseDecimal(position.entry_price))
}

function withOpenInterest(market: MarketRow, side: PositionRow['side'], delta: bigint): MarketRow {
  return side === 'long'
    ? { ...market, long_open_interest: formatDecimal(parseDecimal(market.long_open_interest) + delta) }
    : { ...market, short_open_interest: formatDecimal(parseDecimal(market.short_open_interest) + delta) }
}

/** The market write for an open interest change, when the market is known (it may be listed before indexing began). */
function openInterestWrites(view: FoldView, marketId: string, side: PositionRow['side'], delta: bigint): RowWrite[] {
  const market = view.market(marketId)
  return market === undefined ? [] : [{ table: 'markets', key: marketId, row: withOpenInterest(market, side, delta) }]
}

export function foldMarketListed(view: FoldView, record: MarketListedRecord): ChainEventFold {
  const { chain, data } = record
  const listed = view.market(record.market_id)
  const market: MarketRow = {
    market_id: record.market_id,
    symbol: data.symbol,
    pyth_feed_id: data.pyth_feed_id,
    maintenance_margin_ratio: data.maintenance_margin_ratio,
    liquidation_fee_ratio: data.liquidation_fee_ratio,
    chain_id: chain.chain_id,
    contract: chain.contract,
    listed_block_number: chain.block_number,
    listed_block_hash: chain.block_hash,
    listed_tx_hash: chain.tx_hash,
    listed_log_index: chain.log_index,
    listed_at: chain.block_timestamp,
    // The contract lists a market once; should a listing repeat, its funding state carries over.
    funding_rate: listed?.funding_rate ?? '0',
    cumulative_funding_index: listed?.cumulative_funding_index ?? '0',
    long_open_interest: listed?.long_open_interest ?? '0',
    short_open_interest: listed?.short_open_interest ?? '0',
    last_funding_update: listed?.last_funding_update ?? null,
  }
  return [{ table: 'markets', key: market.market_id, row: market }]
}

export function foldPositionOpened(view: FoldView, record: PositionOpenedRecord): ChainEventFold {
  const { chain, data } = record
  if (view.position(data.position_id) !== undefined) return 'duplicate-position'
  const position: PositionRow = {
    position_id: data.position_id,
    market_id: record.market_id,
    trader: data.trader,
    side: data.side,
    size: data.size,
    collateral: data.collateral,
    leverage: data.leverage,
    entry_price: data.entry_price,
    entry_funding_index: data.entry_funding_index,
    status: 'open',
    opened_block_number: chain.block_number,
    opened_block_hash: chain.block_hash,
    opened_tx_hash: chain.tx_hash,
    opened_log_index: chain.log_index,
    opened_at: chain.block_timestamp,
    exit_price: null,
    realized_pnl: null,
    funding_paid: null,
    liquidator: null,
    liquidation_fee: null,
    closed_block_number: null,
    closed_block_hash: null,
    closed_tx_hash: null,
    closed_log_index: null,
    closed_at: null,
  }
  return [
    { table: 'positions', key: position.position_id, row: position },
    ...openInterestWrites(view, record.market_id, position.side, entryNotional(position)),
  ]
}

/** The open position a close or liquidation ends, or why there is none to end. */
function openPosition(view: FoldView, record: PositionClosedRecord | PositionLiquidatedRecord): PositionRow | SkipReason {
  const position = view.position(record.data.position_id)
  if (position === undefined) return 'unknown-position'
  if (position.market_id !== record.market_id) return 'market-mismatch'
  if (position.status !== 'open') return 'position-not-open'
  return position
}

function closedAt(record: PositionClosedRecord | PositionLiquidatedRecord) {
  const { chain } = record
  return {
    closed_block_number: chain.block_number,
    closed_block_hash: chain.block_hash,
    closed_tx_hash: chain.tx_hash,
    closed_log_index: chain.log_index,
    closed_at: chain.block_timestamp,
  }
}

export function foldPositionClosed(view: FoldView, record: PositionClosedRecord): ChainEventFold {
  const position = openPosition(view, record)
  if (typeof position === 'string') return position
  const { data } = record
  const closed: PositionRow = {
    ...position,
    status: 'closed',
    exit_price: data.exit_price,
    realized_pnl: data.realized_pnl,
    funding_paid: data.funding_paid,
    ...closedAt(record),
  }
  return [
    { table: 'positions', key: closed.position_id, row: closed },
    ...openInterestWrites(view, record.market_id, position.side, -entryNotional(position)),
  ]
}

export function foldPositionLiquidated(view: FoldView, record: PositionLiquidatedRecord): ChainEventFold {
  const position = openPosition(view, record)
  if (typeof position === 'string') return position
  const { chain, data } = record
  const liquidated: PositionRow = {
    ...position,
    status: 'liquidated',
    exit_price: data.liquidation_price,
    realized_pnl: data.realized_pnl,
    liquidator: data.liquidator,
    liquidation_fee: data.liquidation_fee,
    ...closedAt(record),
  }
  const liquidation = {
    position_id: data.position_id,
    record_id: record.id,
    market_id: record.market_id,
    trader: data.trader,
    liquidator: data.liquidator,
    liquidation_price: data.liquidation_price,
    liquidation_fee: data.liquidation_fee,
    realized_pnl: data.realized_pnl,
    block_number: chain.block_number,
    block_hash: chain.block_hash,
    tx_hash: chain.tx_hash,
    log_index: chain.log_index,
    block_timestamp: chain.block_timestamp,
  }
  return [
    { table: 'positions', key: liquidated.position_id, row: liquidated },
    { table: 'liquidations', key: liquidation.position_id, row: liquidation },
    ...openInterestWrites(view, record.market_id, position.side, -entryNotional(position)),
  ]
}

export function foldFundingUpdated(view: FoldView, record: FundingUpdatedRecord): ChainEventFold {
  const { chain, data } = record
  const funding = {
    chain_key: chainKey(record.market_id, chain.block_number, chain.log_index),
    record_id: record.id,
    market_id: record.market_id,
    funding_rate: data.funding_rate,
    cumulative_funding_index: data.cumulative_funding_index,
    long_open_interest: data.long_open_interest,
    short_open_interest: data.short_open_interest,
    funding_time: data.timestamp,
    block_number: chain.block_number,
    block_hash: chain.block_hash,
    tx_hash: chain.tx_hash,
    log_index: chain.log_index,
    block_timestamp: chain.block_timestamp,
  }
  const writes: RowWrite[] = [{ table: 'funding_history', key: funding.chain_key, row: funding }]
  const market = view.market(record.market_id)
  if (market !== undefined) {
    const updated: MarketRow = {
      ...market,
      funding_rate: data.funding_rate,
      cumulative_funding_index: data.cumulative_funding_index,
      // The contract's own totals replace the running sums.
      long_open_interest: data.long_open_interest,
      short_open_interest: data.short_open_interest,
      last_funding_update: data.timestamp,
    }
    writes.push({ table: 'markets', key: market.market_id, row: updated })
  }
  return writes
}
