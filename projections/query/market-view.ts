// A market as the gateway shows it (market_stats, price streams): its parameters and funding state,
// the latest tick, and the open-interest totals. Open interest is the contract's measure, the entry
// notional Σ size · entry price of the open positions per side.
import { formatDecimal, parseDecimal } from '../../indexer/records/decimal.ts'
import type { MarketRow, TickRow } from '../fold/read-model-rows.ts'

export interface OpenPositionCounts {
  readonly long: number
  readonly short: number
}

export interface MarketView {
  readonly market_id: string
  readonly symbol: string
  readonly pyth_feed_id: string
  readonly maintenance_margin_ratio: string
  readonly liquidation_fee_ratio: string
  /** The latest tick; null before the first. */
  readonly current_price: string | null
  readonly price_confidence: string | null
  readonly price_publish_time: number | null
  readonly funding_rate: string
  readonly cumulative_funding_index: string
  /** Unix seconds of the latest funding update; null before the first. */
  readonly last_funding_update: number | null
  /** Unix seconds of the listing's block: the funding state (rate 0) holds from there until the first update. */
  readonly listed_at: number
  readonly long_open_interest: string
  readonly short_open_interest: string
  readonly total_open_interest: string
  readonly open_long_positions: number
  readonly open_short_positions: number
}

export function marketView(market: MarketRow, tick: TickRow | undefined, open: OpenPositionCounts): MarketView {
  return {
    market_id: market.market_id,
    symbol: market.symbol,
    pyth_feed_id: market.pyth_feed_id,
    maintenance_margin_ratio: market.maintenance_margin_ratio,
    liquidation_fee_ratio: market.liquidation_fee_ratio,
    current_price: tick?.price ?? null,
    price_confidence: tick?.confidence ?? null,
    price_publish_time: tick?.publish_time ?? null,
    funding_rate: market.funding_rate,
    cumulative_funding_index: market.cumulative_funding_index,
    last_funding_update: market.last_funding_update,
    listed_at: market.listed_at,
    long_open_interest: market.long_open_interest,
    short_open_interest: market.short_open_interest,
    total_open_interest: formatDecimal(parseDecimal(market.long_open_interest) + parseDecimal(market.short_open_interest)),
    open_long_positions: open.long,
    open_short_positions: open.short,
  }
}
