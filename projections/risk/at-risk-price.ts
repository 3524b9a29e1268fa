// Where a position turns "at risk" (health below 1.2), as a key that funding does not move.
//
// Over the rationals (W = WAD, all amounts in units of 10^-18), the at-risk rule
// 10·equity < 12·maintenance is linear in the mark price P and in the market's cumulative funding
// index F. For a long with size S, collateral C, entry price E and entry index F₀, in a market with
// maintenance margin ratio m:
//   W²·(12·maintenance − 10·equity) = −S·(10W − 12m)·P + 10W·S·F + 10W·(S·(E − F₀) − W·C)
// so it is at risk exactly when
//   P − F·10W/(10W − 12m)  <  10W·(S·(E − F₀) − W·C) / (S·(10W − 12m)).
// The left side is the same for every long of the market (the funding-adjusted price); the right
// side is the position's own (its key: the price at which it turns at risk while F = 0). A short
// mirrors it with 10W + 12m and the inequality reversed. A funding update moves the adjusted price
// of a whole side, never a key.
//
// The computed values truncate: equity is off its rational value by less than 2 units either way
// (two truncated products), and for P ≥ 0 maintenance only rounds down. So a position the exact
// arithmetic calls at risk has 12·maintenance − 10·equity > −20 over the rationals: each key takes
// that slack of 20 units and is rounded outward, so no position at risk is missed. The few it lets
// in are within about one price unit of turning at risk; atRiskHealth decides them exactly.
import { WAD, divWad, mulWad } from '../../indexer/records/decimal.ts'
import { atRiskHealthFactor, fundingOwed, type MarketRiskParameters, type PositionFacts, type Side } from './risk.ts'

const TEN_WAD = 10n * WAD
/** 20 units of 12·maintenance − 10·equity, scaled by W² as the keys are. */
const TRUNCATION_SLACK = 20n * WAD * WAD

/** 10W ∓ 12m: per unit of S and scaled by W², how fast 10·equity − 12·maintenance moves with P (up for a long, down for a short). */
function priceSlope(side: Side, maintenanceMarginRatio: bigint): bigint {
  return side === 'long' ? TEN_WAD - 12n * maintenanceMarginRatio : TEN_WAD + 12n * maintenanceMarginRatio
}

/** ⌊a / b⌋ for b > 0 (bigint division truncates toward zero). */
function floorDivide(a: bigint, b: bigint): bigint {
  const quotient = a / b
  return a % b !== 0n && a < 0n ? quotient - 1n : quotient
}

/** ⌈a / b⌉ for b > 0. */
function ceilDivide(a: bigint, b: bigint): bigint {
  const quotient = a / b
  return a % b !== 0n && a > 0n ? quotient + 1n : quotient
}

/**
 * The position's at-risk price at funding index 0, widened by the truncation slack toward the side
 * where it is at risk (up for a long, down for a short) and rounded the same way. Compare it with
 * fundingAdjustedPrice through mayBeAtRisk.
 *
 * Undefined when the position has no single at-risk boundary to index: a zero size, or a long in a
 * market with 1.2·m ≥ 1, whose health does not fall as the price does. Decide those with atRiskHealth.
 */
export function atRiskPriceKey(position: PositionFacts, maintenanceMarginRatio: bigint): bigint | undefined {
  const denominator = position.size * priceSlope(position.side, maintenanceMarginRatio)
  if (denominator <= 0n) return undefined
  const { size, collateral, entryPrice, entryFundingIndex } = position
  if (position.side === 'long') {
    return ceilDivide(TEN_WAD * (size * (entryPrice - entryFundingIndex) - WAD * collateral) + TRUNCATION_SLACK, denominator)
  }
  return floorDivide(TEN_WAD * (WAD * collateral + size * (entryPrice - entryFundingIndex)) - TRUNCATION_SLACK, denominator)
}

/**
 * P − F·10W/(10W ∓ 12m), the mark price carried back to funding index 0 for the side: rounded down
 * for longs, up for shorts, so that comparing it with an integer key loses nothing. Undefined for a
 * price below 0 (where maintenance rounds up and the slack does not hold) and for longs in a market
 * whose longs have no keys.
 */
export function fundingAdjustedPrice(side: Side, market: MarketRiskParameters, price: bigint): bigint | undefined {
  const slope = priceSlope(side, market.maintenanceMarginRatio)
  if (price < 0n || slope <= 0n) return undefined
  const numerator = price * slope - TEN_WAD * market.cumulativeFundingIndex
  return side === 'long' ? floorDivide(numerator, slope) : ceilDivide(numerator, slope)
}

/**
 * False only when the position is surely not at risk at the price whose adjusted price is given:
 * a long is at risk only below its key, a short only above it.
 */
export function mayBeAtRisk(side: Side, key: bigint, adjustedPrice: bigint): boolean {
  return side === 'long' ? adjustedPrice < key : adjustedPrice > key
}

/**
 * A position as atRiskHealth takes it: what does not depend on the mark price, computed once for the
 * market's current funding index. S·E lets S·P serve both the PnL and the maintenance margin.
 */
export interface AtRiskTerms {
  readonly side: Side
  readonly size: bigint
  /** S·E, unscaled. */
  readonly sizeTimesEntry: bigint
  /** C − fundingOwed at the market's funding index. */
  readonly collateralLessOwed: bigint
}

/** C − fundingOwed: the part of the equity that moves with the funding index, not with the price. */
export function collateralLessOwed(position: PositionFacts, market: MarketRiskParameters): bigint {
  return position.collateral - fundingOwed(position, market)
}

/** The position's terms at the market's funding index. */
export function atRiskTerms(position: PositionFacts, market: MarketRiskParameters): AtRiskTerms {
  return {
    side: position.side,
    size: position.size,
    sizeTimesEntry: position.size * position.entryPrice,
    collateralLessOwed: collateralLessOwed(position, market),
  }
}

/** What atRiskHealth gives for a position that is not at risk. */
export const NOT_AT_RISK: unique symbol = Symbol('not at risk')

/**
 * Exactly assessPosition's verdict, for the hot path: the health factor of a position at risk
 * (undefined when the maintenance margin is 0), or NOT_AT_RISK. The arithmetic is risk.ts's with
 * the same truncations: mulWad(S, P − E) is trunc((S·P − S·E) / W), and a short's is its negation,
 * trunc((S·E − S·P) / W). The rule is risk.ts's 10·equity < 12·maintenance, which for a positive
 * maintenance is health < 1.2 (1.2·WAD is a whole number of units, so the truncating division
 * decides it alike) and at 0 a negative equity.
 */
export function atRiskHealth(terms: AtRiskTerms, maintenanceMarginRatio: bigint, price: bigint): bigint | undefined | typeof NOT_AT_RISK {
  const sizeTimesPrice = terms.size * price
  const move = terms.side === 'long' ? sizeTimesPrice - terms.sizeTimesEntry : terms.sizeTimesEntry - sizeTimesPrice
  const equity = terms.collateralLessOwed + move / WAD
  const maintenance = mulWad(sizeTimesPrice / WAD, maintenanceMarginRatio)
  if (maintenance === 0n) return equity < 0n ? undefined : NOT_AT_RISK
  const health = divWad(equity, maintenance)
  const atRisk = maintenance > 0n ? health < atRiskHealthFactor : 10n * equity < 12n * maintenance
  return atRisk ? health : NOT_AT_RISK
}
