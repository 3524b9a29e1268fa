// The risk of a position, as DESIGN.md ("Money and risk") defines it, on WAD bigints (10^18 = 1.0).
// Everything here is a pure function of the stored facts and a price: derived values are computed
// on demand, never stored as truth, so a replay cannot drift. Products are truncated toward zero
// (mulWad), as the contract's Solidity arithmetic does.
import { WAD, divWad, mulWad } from '../../indexer/records/decimal.ts'

export type Side = 'long' | 'short'

/** What the log says about an open position (PositionOpened). */
export interface PositionFacts {
  readonly side: Side
  /** S, in the base asset. */
  readonly size: bigint
  /** C, in the quote currency. */
  readonly collateral: bigint
  /** E. */
  readonly entryPrice: bigint
  /** F₀: the market's cumulative funding index when the position opened. */
  readonly entryFundingIndex: bigint
}

/** What the log says about the position's market (MarketListed, the latest FundingUpdated). */
export interface MarketRiskParameters {
  /** m, e.g. 0.05 WAD. Below 1.0 WAD, as the contract requires. */
  readonly maintenanceMarginRatio: bigint
  /** f: the liquidator's share of the notional. */
  readonly liquidationFeeRatio: bigint
  /** F. */
  readonly cumulativeFundingIndex: bigint
}

/** Health factors below this are "at risk" (1.2). */
export const atRiskHealthFactor = (12n * WAD) / 10n
/** Health factors below this are liquidatable (1.0): the contract liquidates when equity < maintenance. */
export const liquidatableHealthFactor = WAD

export interface PositionRisk {
  readonly fundingOwed: bigint
  readonly unrealizedPnl: bigint
  readonly equity: bigint
  readonly maintenanceMargin: bigint
  /** equity / maintenance; undefined when the maintenance margin is 0 (a zero price or size). */
  readonly healthFactor: bigint | undefined
  readonly isAtRisk: boolean
  readonly isLiquidatable: boolean
  /** See liquidationPrice. */
  readonly liquidationPrice: bigint | undefined
  /** The fee a liquidator would earn now: S·P·f. */
  readonly potentialReward: bigint
}

/** s: +1 for a long, −1 for a short. */
function sideSign(side: Side): bigint {
  return side === 'long' ? 1n : -1n
}

/**
 * s·S·(F − F₀): positive when the position owes funding, negative when it is owed. The sign is
 * applied after the truncating product, so a long and a short with the same facts owe exact
 * opposites.
 */
export function fundingOwed(position: PositionFacts, market: MarketRiskParameters): bigint {
  return sideSign(position.side) * mulWad(position.size, market.cumulativeFundingIndex - position.entryFundingIndex)
}

/** s·S·(P − E) − funding owed. */
export function unrealizedPnl(position: PositionFacts, market: MarketRiskParameters, price: bigint): bigint {
  return pnlOwing(position, price, fundingOwed(position, market))
}

/** C + unrealized PnL. */
export function equity(position: PositionFacts, market: MarketRiskParameters, price: bigint): bigint {
  return position.collateral + unrealizedPnl(position, market, price)
}

/** S·P·m. */
export function maintenanceMargin(position: PositionFacts, market: MarketRiskParameters, price: bigint): bigint {
  return mulWad(mulWad(position.size, price), market.maintenanceMarginRatio)
}

/** equity / maintenance (truncated), or undefined when the maintenance margin is 0. */
export function healthFactor(position: PositionFacts, market: MarketRiskParameters, price: bigint): bigint | undefined {
  return health(equity(position, market, price), maintenanceMargin(position, market, price))
}

/** Health below 1.2 (see atRisk). */
export function isAtRisk(position: PositionFacts, market: MarketRiskParameters, price: bigint): boolean {
  return atRisk(equity(position, market, price), maintenanceMargin(position, market, price))
}

/** Health below 1.0, i.e. equity < maintenance: the contract's own liquidation rule. */
export function isLiquidatable(position: PositionFacts, market: MarketRiskParameters, price: bigint): boolean {
  return equity(position, market, price) < maintenanceMargin(position, market, price)
}

/**
 * The price at which equity = maintenance, solved exactly over the rationals and then rounded by
 * less than one unit toward the side where the position is still safe (up for a long, down for a
 * short), so that the position is never liquidatable at a positive price reported. There the health
 * factor is 1 up to the truncation of the WAD products: risk.unit.test.ts proves the bound.
 *
 * With fo the funding owed, equity − maintenance is linear in P:
 *   long:  C + S·(P − E) − fo − S·P·m  =  0   ⇒   P = (S·E + fo − C) / (S·(1 − m))
 *   short: C − S·(P − E) − fo − S·P·m  =  0   ⇒   P = (C + S·E − fo) / (S·(1 + m))
 * In WAD units the numerator and denominator are both scaled by WAD² before the single division.
 *
 * Returns 0 when the solution is not positive: a long that no positive price liquidates (it is
 * over-collateralised), or a short that every positive price liquidates. Returns undefined when
 * there is no single boundary: a zero size, or a long with m ≥ 1.
 */
export function liquidationPrice(position: PositionFacts, market: MarketRiskParameters): bigint | undefined {
  return liquidationPriceOwing(position, market.maintenanceMarginRatio, fundingOwed(position, market))
}

/** The liquidator's fee at this price: S·P·f. */
export function potentialReward(position: PositionFacts, market: MarketRiskParameters, price: bigint): bigint {
  return mulWad(mulWad(position.size, price), market.liquidationFeeRatio)
}

/** Every derived risk value of a position at a mark price, each computed once. */
export function assessPosition(position: PositionFacts, market: MarketRiskParameters, price: bigint): PositionRisk {
  const owed = fundingOwed(position, market)
  const pnl = pnlOwing(position, price, owed)
  const equityNow = position.collateral + pnl
  const maintenance = maintenanceMargin(position, market, price)
  return {
    fundingOwed: owed,
    unrealizedPnl: pnl,
    equity: equityNow,
    maintenanceMargin: maintenance,
    healthFactor: health(equityNow, maintenance),
    isAtRisk: atRisk(equityNow, maintenance),
    isLiquidatable: equityNow < maintenance,
    liquidationPrice: liquidationPriceOwing(position, market.maintenanceMarginRatio, owed),
    potentialReward: potentialReward(position, market, price),
  }
}

function pnlOwing(position: PositionFacts, price: bigint, owed: bigint): bigint {
  return sideSign(position.side) * mulWad(position.size, price - position.entryPrice) - owed
}

function health(equityNow: bigint, maintenance: bigint): bigint | undefined {
  return maintenance === 0n ? undefined : divWad(equityNow, maintenance)
}

/**
 * Health below 1.2, decided without the truncating division: for a positive maintenance margin,
 * trunc(equity·WAD / maintenance) < 1.2·WAD exactly when 10·equity < 12·maintenance (1.2·WAD is a
 * whole number of units). It stays defined when the maintenance margin is 0.
 */
function atRisk(equityNow: bigint, maintenance: bigint): boolean {
  return 10n * equityNow < 12n * maintenance
}

function liquidationPriceOwing(position: PositionFacts, ratio: bigint, owed: bigint): bigint | undefined {
  const { size, collateral, entryPrice } = position
  if (size === 0n) return undefined
  if (position.side === 'long') {
    if (ratio >= WAD) return undefined
    const numerator = (size * entryPrice + (owed - collateral) * WAD) * WAD
    return numerator <= 0n ? 0n : ceilDivide(numerator, size * (WAD - ratio))
  }
  const numerator = (size * entryPrice + (collateral - owed) * WAD) * WAD
  return numerator <= 0n ? 0n : numerator / (size * (WAD + ratio))
}

/** ⌈a / b⌉ for a > 0 and b > 0. */
function ceilDivide(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b
}
