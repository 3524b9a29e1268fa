// Every frame the gateway sends, built from the read models' views and the log's records; each
// builder returns a value of its messages.ts type. Amounts pass through as the canonical decimal
// strings of the read models, at full precision. A snapshot that would need a value the read
// models do not have yet (no price, no funding update) is not built: no placeholder is ever sent.
import type { MarketView } from '../../projections/query/market-view.ts'
import type { PositionView } from '../../projections/query/position-view.ts'
import type { TraderPositions } from '../../projections/query/read-model-queries.ts'
import { formatDecimal, parseDecimal } from '../../indexer/records/decimal.ts'
import type {
  ChainReorgRecord,
  EventsTopicRecord,
  FundingUpdatedRecord,
  MarketListedRecord,
  PositionClosedRecord,
  PositionLiquidatedRecord,
  PositionOpenedRecord,
} from '../../indexer/records/schemas.ts'
import type {
  ChainReorg,
  ErrorFrame,
  FundingRateUpdate,
  LiquidationAlert,
  LiquidationCandidate,
  LiquidationWarning,
  MarketListed,
  MarketStats,
  MarketStatsConnected,
  PositionClosed,
  PositionLiquidated,
  PositionOpened,
  PositionSnapshot,
  PositionsConnected,
  PositionsUpdate,
  PriceConnected,
  PriceUpdate,
  RawEventFrame,
} from './messages.ts'

export const LIQUIDATION_WARNING_MESSAGE = '⚠️ Your position is at risk of liquidation!'

/** "2024-01-15T10:00:00Z": ISO 8601 UTC to the second, as the spec writes its timestamps. */
export function isoSeconds(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

const isoOfUnix = (seconds: number): string => isoSeconds(seconds * 1000)

// prices/{market_id}

export function priceConnectedFrame(market: MarketView): PriceConnected {
  return { type: 'connected', market_id: market.market_id, symbol: market.symbol, message: 'Connected to price stream' }
}

/** Undefined before the market's first tick. */
export function priceUpdateFrame(market: MarketView, nowMs: number): PriceUpdate | undefined {
  if (market.current_price === null || market.price_confidence === null || market.price_publish_time === null) return undefined
  return {
    type: 'price_update',
    market_id: market.market_id,
    symbol: market.symbol,
    price: market.current_price,
    confidence: market.price_confidence,
    timestamp: market.price_publish_time,
    age_seconds: Math.max(0, Math.floor(nowMs / 1000) - market.price_publish_time),
  }
}

// positions/{user_address}

export function positionsConnectedFrame(userAddress: string): PositionsConnected {
  return { type: 'connected', user_address: userAddress, message: 'Connected to position updates' }
}

/** Undefined while the position lacks a derived value: its market has no listing or no price yet. */
export function positionSnapshot(view: PositionView): PositionSnapshot | undefined {
  const { symbol, current_price, unrealized_pnl, health_factor, liquidation_price, is_at_risk } = view
  if (symbol === null || current_price === null || unrealized_pnl === null) return undefined
  if (health_factor === null || liquidation_price === null || is_at_risk === null) return undefined
  return {
    position_id: view.position_id,
    market_id: view.market_id,
    symbol,
    side: view.side,
    size: view.size,
    entry_price: view.entry_price,
    current_price,
    unrealized_pnl,
    health_factor,
    liquidation_price,
    is_at_risk,
  }
}

/** The positions with every value known; the total sums exactly those. */
export function positionsUpdateFrame(userAddress: string, positions: TraderPositions, nowMs: number): PositionsUpdate {
  const snapshots = positions.positions.map(positionSnapshot).filter((s): s is PositionSnapshot => s !== undefined)
  const total = snapshots.reduce((sum, s) => sum + parseDecimal(s.unrealized_pnl), 0n)
  return {
    type: 'positions_update',
    user_address: userAddress,
    positions: snapshots,
    total_unrealized_pnl: formatDecimal(total),
    timestamp: isoSeconds(nowMs),
  }
}

/** Undefined unless the position is at risk with a known health factor and liquidation price. */
export function liquidationWarningFrame(view: PositionView, nowMs: number): LiquidationWarning | undefined {
  if (view.is_at_risk !== true || view.health_factor === null || view.liquidation_price === null) return undefined
  return {
    type: 'liquidation_warning',
    data: {
      position_id: view.position_id,
      market_id: view.market_id,
      health_factor: view.health_factor,
      liquidation_price: view.liquidation_price,
      message: LIQUIDATION_WARNING_MESSAGE,
    },
    timestamp: isoSeconds(nowMs),
  }
}

// liquidations

export function liquidationsConnectedFrame(): { type: 'connected'; message: string } {
  return { type: 'connected', message: 'Connected to liquidation alerts' }
}

export function liquidationCandidate(view: PositionView): LiquidationCandidate | undefined {
  const { health_factor, liquidation_price, current_price, potential_reward } = view
  if (health_factor === null || liquidation_price === null || current_price === null || potential_reward === null) return undefined
  return {
    position_id: view.position_id,
    user_address: view.trader,
    market_id: view.market_id,
    health_factor,
    liquidation_price,
    current_price,
    potential_reward,
  }
}

/** The candidates in the order given (the queries' order: least healthy first). */
export function liquidationAlertFrame(candidates: readonly PositionView[], nowMs: number): LiquidationAlert {
  const shown = candidates.map(liquidationCandidate).filter((c): c is LiquidationCandidate => c !== undefined)
  return { type: 'liquidation_alert', count: shown.length, candidates: shown, timestamp: isoSeconds(nowMs) }
}

// market-stats/{market_id}

export function marketStatsConnectedFrame(market: MarketView): MarketStatsConnected {
  return { type: 'connected', market_id: market.market_id, symbol: market.symbol, message: 'Connected to market stats' }
}

/**
 * Undefined before the market's first tick. Before its first funding update the funding state is
 * the listing's (rate 0), so last_funding_update is the listing's block time.
 */
export function marketStatsFrame(market: MarketView, nowMs: number): MarketStats | undefined {
  if (market.current_price === null) return undefined
  return {
    type: 'market_stats',
    market_id: market.market_id,
    symbol: market.symbol,
    current_price: market.current_price,
    total_long_oi: market.long_open_interest,
    total_short_oi: market.short_open_interest,
    total_oi: market.total_open_interest,
    funding_rate: market.funding_rate,
    last_funding_update: isoOfUnix(market.last_funding_update ?? market.listed_at),
    timestamp: isoSeconds(nowMs),
  }
}

// events

export function eventsConnectedFrame(): { type: 'connected'; message: string } {
  return { type: 'connected', message: 'Connected to event stream' }
}

// Raw events: the block's time is the frame's timestamp, so a replayed frame equals the live one.

export function positionOpenedFrame(record: PositionOpenedRecord, cursor: string): PositionOpened {
  const { data } = record
  return {
    type: 'position_opened',
    data: {
      position_id: data.position_id,
      user_address: data.trader,
      market_id: record.market_id,
      side: data.side,
      size: data.size,
      collateral: data.collateral,
      leverage: data.leverage,
      entry_price: data.entry_price,
      transaction_hash: record.chain.tx_hash,
    },
    timestamp: isoOfUnix(record.chain.block_timestamp),
    cursor,
  }
}

export function positionClosedFrame(record: PositionClosedRecord, cursor: string): PositionClosed {
  const { data } = record
  return {
    type: 'position_closed',
    data: {
      position_id: data.position_id,
      user_address: data.trader,
      market_id: record.market_id,
      exit_price: data.exit_price,
      realized_pnl: data.realized_pnl,
      transaction_hash: record.chain.tx_hash,
    },
    timestamp: isoOfUnix(record.chain.block_timestamp),
    cursor,
  }
}

export function positionLiquidatedFrame(record: PositionLiquidatedRecord, cursor: string): PositionLiquidated {
  const { data } = record
  return {
    type: 'position_liquidated',
    data: {
      position_id: data.position_id,
      user_address: data.trader,
      market_id: record.market_id,
      liquidator_address: data.liquidator,
      liquidation_price: data.liquidation_price,
      liquidation_fee: data.liquidation_fee,
      transaction_hash: record.chain.tx_hash,
    },
    timestamp: isoOfUnix(record.chain.block_timestamp),
    cursor,
  }
}

export function fundingRateUpdateFrame(record: FundingUpdatedRecord, cursor: string): FundingRateUpdate {
  return {
    type: 'funding_rate_update',
    data: {
      market_id: record.market_id,
      funding_rate: record.data.funding_rate,
      long_oi: record.data.long_open_interest,
      short_oi: record.data.short_open_interest,
    },
    timestamp: isoOfUnix(record.chain.block_timestamp),
    cursor,
  }
}

export function marketListedFrame(record: MarketListedRecord, cursor: string): MarketListed {
  const { data } = record
  return {
    type: 'market_listed',
    data: {
      market_id: record.market_id,
      symbol: data.symbol,
      pyth_feed_id: data.pyth_feed_id,
      maintenance_margin_ratio: data.maintenance_margin_ratio,
      liquidation_fee_ratio: data.liquidation_fee_ratio,
      transaction_hash: record.chain.tx_hash,
    },
    timestamp: isoOfUnix(record.chain.block_timestamp),
    cursor,
  }
}

/**
 * A reorg has no block time of its own: its timestamp is when it was seen (live: when the gateway
 * pushed it; replayed: when the log accepted it, which is the earlier of the two by a moment).
 */
export function chainReorgFrame(record: ChainReorgRecord, cursor: string, seenAtMs: number): ChainReorg {
  return {
    type: 'chain_reorg',
    data: {
      market_id: record.market_id,
      common_ancestor_block: record.data.common_ancestor.block_number,
      orphaned_blocks: record.data.orphaned_blocks.map((b) => ({ block_number: b.block_number, block_hash: b.block_hash })),
    },
    timestamp: isoSeconds(seenAtMs),
    cursor,
  }
}

export function rawEventFrame(record: EventsTopicRecord, cursor: string, seenAtMs: number): RawEventFrame {
  switch (record.type) {
    case 'position_opened':
      return positionOpenedFrame(record, cursor)
    case 'position_closed':
      return positionClosedFrame(record, cursor)
    case 'position_liquidated':
      return positionLiquidatedFrame(record, cursor)
    case 'funding_updated':
      return fundingRateUpdateFrame(record, cursor)
    case 'market_listed':
      return marketListedFrame(record, cursor)
    case 'chain_reorg':
      return chainReorgFrame(record, cursor, seenAtMs)
    default: {
      const unknown: never = record
      throw new Error(`no frame for record ${JSON.stringify(unknown)}`)
    }
  }
}

// any path

export function errorFrame(code: string, message: string): ErrorFrame {
  return { type: 'error', code, message }
}

export function pongFrame(): { type: 'pong' } {
  return { type: 'pong' }
}
