// What the liquidation candidates of a market are, by definition: its open positions that
// assessPosition calls at risk at the market's latest price, the least healthy first. scanAtRisk
// says it by a full scan; the liquidation index (liquidation-index.ts) must give exactly the same.
import type { MarketRiskParameters, PositionFacts } from '../risk/risk.ts'
import { assessPosition } from '../risk/risk.ts'

/** An open position as the candidate index holds it: its facts from the positions row. */
export interface IndexedPosition {
  readonly positionId: string
  readonly marketId: string
  readonly facts: PositionFacts
}

export interface AtRiskPosition {
  readonly positionId: string
  readonly marketId: string
  /** Undefined when the maintenance margin is 0 (at risk then means a negative equity). */
  readonly healthFactor: bigint | undefined
}

/**
 * Least healthy first: no health factor first of all (a zero maintenance margin and a negative
 * equity), then by health factor, then by position id, so that the order is total and two ways of
 * finding the same positions list them alike.
 */
export function leastHealthyFirst(a: AtRiskPosition, b: AtRiskPosition): number {
  if (a.healthFactor !== b.healthFactor) {
    if (a.healthFactor === undefined) return -1
    if (b.healthFactor === undefined) return 1
    return a.healthFactor < b.healthFactor ? -1 : 1
  }
  return a.positionId < b.positionId ? -1 : a.positionId > b.positionId ? 1 : 0
}

/** The reference: every position of the market assessed at the price, the at-risk ones sorted. */
export function scanAtRisk(
  positions: Iterable<IndexedPosition>,
  marketId: string,
  market: MarketRiskParameters,
  price: bigint,
): AtRiskPosition[] {
  const atRisk: AtRiskPosition[] = []
  for (const { positionId, marketId: positionMarket, facts } of positions) {
    if (positionMarket !== marketId) continue
    const risk = assessPosition(facts, market, price)
    if (risk.isAtRisk) atRisk.push({ positionId, marketId, healthFactor: risk.healthFactor })
  }
  return atRisk.sort(leastHealthyFirst)
}
