// An open position as the gateway shows it: its stored facts and the derived risk values at the
// market's latest price, computed here at read time by projections/risk (never stored, so replay
// cannot drift). Amounts are canonical decimal strings at full precision; round for display only.
import { formatDecimal, parseDecimal } from '../../indexer/records/decimal.ts'
import type { MarketRow, PositionRow, TickRow } from '../fold/read-model-rows.ts'
import { assessPosition, liquidationPrice, type MarketRiskParameters, type PositionFacts } from '../risk/risk.ts'

export interface PositionView {
  readonly position_id: string
  readonly market_id: string
  /** Null when the market's listing is not on the log. */
  readonly symbol: string | null
  readonly trader: string
  readonly side: 'long' | 'short'
  readonly size: string
  readonly collateral: string
  readonly leverage: string
  readonly entry_price: string
  readonly entry_funding_index: string
  readonly opened_at: number
  readonly opened_tx_hash: string
  /** The latest tick's price and publish time; null before the market's first tick. */
  readonly current_price: string | null
  readonly price_time: number | null
  /** Null without a listed market (no ratios, no funding index). */
  readonly liquidation_price: string | null
  /** The rest are null without both a listed market and a price. */
  readonly funding_owed: string | null
  readonly unrealized_pnl: string | null
  readonly equity: string | null
  readonly maintenance_margin: string | null
  /** Also null when the maintenance margin is 0. */
  readonly health_factor: string | null
  readonly is_at_risk: boolean | null
  readonly is_liquidatable: boolean | null
  readonly potential_reward: string | null
}

export function positionFacts(row: Pick<PositionRow, 'side' | 'size' | 'collateral' | 'entry_price' | 'entry_funding_index'>): PositionFacts {
  return {
    side: row.side,
    size: parseDecimal(row.size),
    collateral: parseDecimal(row.collateral),
    entryPrice: parseDecimal(row.entry_price),
    entryFundingIndex: parseDecimal(row.entry_funding_index),
  }
}

export function marketRiskParameters(row: MarketRow): MarketRiskParameters {
  return {
    maintenanceMarginRatio: parseDecimal(row.maintenance_margin_ratio),
    liquidationFeeRatio: parseDecimal(row.liquidation_fee_ratio),
    cumulativeFundingIndex: parseDecimal(row.cumulative_funding_index),
  }
}

const text = (value: bigint | undefined): string | null => (value === undefined ? null : formatDecimal(value))

function derived(facts: PositionFacts, market: MarketRow | undefined, tick: TickRow | undefined) {
  if (market === undefined) return undefined
  const parameters = marketRiskParameters(market)
  if (tick === undefined) return { liquidation_price: text(liquidationPrice(facts, parameters)) }
  const risk = assessPosition(facts, parameters, parseDecimal(tick.price))
  return {
    liquidation_price: text(risk.liquidationPrice),
    funding_owed: text(risk.fundingOwed),
    unrealized_pnl: text(risk.unrealizedPnl),
    equity: text(risk.equity),
    maintenance_margin: text(risk.maintenanceMargin),
    health_factor: text(risk.healthFactor),
    is_at_risk: risk.isAtRisk,
    is_liquidatable: risk.isLiquidatable,
    potential_reward: text(risk.potentialReward),
  }
}

export function positionView(position: PositionRow, market: MarketRow | undefined, tick: TickRow | undefined): PositionView {
  return {
    position_id: position.position_id,
    market_id: position.market_id,
    symbol: market?.symbol ?? null,
    trader: position.trader,
    side: position.side,
    size: position.size,
    collateral: position.collateral,
    leverage: position.leverage,
    entry_price: position.entry_price,
    entry_funding_index: position.entry_funding_index,
    opened_at: position.opened_at,
    opened_tx_hash: position.opened_tx_hash,
    current_price: tick?.price ?? null,
    price_time: tick?.publish_time ?? null,
    liquidation_price: null,
    funding_owed: null,
    unrealized_pnl: null,
    equity: null,
    maintenance_margin: null,
    health_factor: null,
    is_at_risk: null,
    is_liquidatable: null,
    potential_reward: null,
    ...derived(positionFacts(position), market, tick),
  }
}
