import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WAD, formatDecimal, parseDecimal } from '../../indexer/records/decimal.ts'
import { NOT_AT_RISK, atRiskHealth, atRiskPriceKey, atRiskTerms, fundingAdjustedPrice, mayBeAtRisk } from './at-risk-price.ts'
import { fundingIndex, marketParameters, markPriceFor, positionFacts, wadBetween } from './at-risk-price.arbitraries.ts'
import { assessPosition, equity, isAtRisk, maintenanceMargin, type MarketRiskParameters, type PositionFacts } from './risk.ts'

const d = (text: string): bigint => parseDecimal(text)

function market(maintenanceMarginRatio: string, cumulativeFundingIndex = '0'): MarketRiskParameters {
  return { maintenanceMarginRatio: d(maintenanceMarginRatio), liquidationFeeRatio: d('0.01'), cumulativeFundingIndex: d(cumulativeFundingIndex) }
}

/** Whether the index would visit the position at this price (a position without a key always is). */
function visited(position: PositionFacts, parameters: MarketRiskParameters, price: bigint): boolean {
  const key = atRiskPriceKey(position, parameters.maintenanceMarginRatio)
  if (key === undefined) return true
  return mayBeAtRisk(position.side, key, fundingAdjustedPrice(position.side, parameters, price)!)
}

const scenario = fc
  .record({ position: positionFacts(), market: marketParameters })
  .chain(({ position, market }) => fc.record({ position: fc.constant(position), market: fc.constant(market), price: markPriceFor(position, market) }))
const runs = { numRuns: 5000 }

describe('at-risk price key, by hand', () => {
  // Long 1.5 BTC at 50000 with 10000 collateral, m = 5%: at risk below 650000 / 14.1 = 46099.2907801418439716312…
  const long: PositionFacts = { side: 'long', size: d('1.5'), entryPrice: d('50000'), collateral: d('10000'), entryFundingIndex: 0n }
  const btc = market('0.05')

  it('sits a couple of units above the price where a long turns at risk, which only the exact check tells apart', () => {
    const key = atRiskPriceKey(long, btc.maintenanceMarginRatio)!
    expect(formatDecimal(key)).toBe('46099.290780141843971633')
    expect(isAtRisk(long, btc, key - 3n)).toBe(true)
    expect(isAtRisk(long, btc, key - 2n)).toBe(false)
    expect(visited(long, btc, key - 1n)).toBe(true)
    expect(visited(long, btc, key)).toBe(false)
  })

  it('stays put when funding accrues: the adjusted price moves instead, by the funding over 1 − 1.2·m', () => {
    // The long owes 1.5 · 20 = 30 more: it turns at risk 20 / 0.94 = 21.2765957… higher, near 46120.5673758865.
    const withFunding = market('0.05', '20')
    expect(formatDecimal(fundingAdjustedPrice('long', withFunding, d('46120'))!)).toBe('46098.723404255319148936')
    expect(visited(long, withFunding, d('46120'))).toBe(true)
    expect(isAtRisk(long, withFunding, d('46120'))).toBe(true)
    expect(visited(long, withFunding, d('46121'))).toBe(false)
    expect(isAtRisk(long, withFunding, d('46121'))).toBe(false)
  })

  it('mirrors for a short, which is at risk above its key', () => {
    // Short 2 ETH at 3000, 600 collateral, entry index 5, m = 10%: at risk above
    // 10·(600 + 2·(3000 − 5)) / (2·11.2) = 2941.9642857…, and with the index at 7 above 2941.96 + 7/1.12.
    const short: PositionFacts = { side: 'short', size: d('2'), entryPrice: d('3000'), collateral: d('600'), entryFundingIndex: d('5') }
    const eth = market('0.1', '7')
    expect(formatDecimal(atRiskPriceKey(short, eth.maintenanceMarginRatio)!)).toBe('2941.964285714285714284')
    expect(formatDecimal(fundingAdjustedPrice('short', eth, d('2948.2'))!)).toBe('2941.95')
    expect([visited(short, eth, d('2948.2')), isAtRisk(short, eth, d('2948.2'))]).toEqual([false, false])
    expect([visited(short, eth, d('2948.3')), isAtRisk(short, eth, d('2948.3'))]).toEqual([true, true])
  })

  it('has no key for a zero size, nor for a long where 1.2·m ≥ 1', () => {
    expect(atRiskPriceKey({ ...long, size: 0n }, btc.maintenanceMarginRatio)).toBeUndefined()
    expect(atRiskPriceKey(long, (10n * WAD + 11n) / 12n)).toBeUndefined()
    expect(atRiskPriceKey({ ...long, side: 'short' }, (10n * WAD + 11n) / 12n)).toBeDefined()
    expect(atRiskPriceKey(long, (10n * WAD) / 12n)).toBeDefined()
    expect(fundingAdjustedPrice('long', market('0.9'), d('100'))).toBeUndefined()
    expect(fundingAdjustedPrice('short', btc, -1n)).toBeUndefined()
  })
})

describe('at-risk price properties', () => {
  it('tells at-risk and health exactly as assessPosition does, at any price, negative ones included', () => {
    const anyPrice = fc.oneof(wadBetween('0.000000000000000001', '200000'), fc.constant(0n), wadBetween('1', '1000').map((p) => -p))
    fc.assert(
      fc.property(positionFacts(), marketParameters, anyPrice, (position, parameters, price) => {
        const risk = assessPosition(position, parameters, price)
        const health = atRiskHealth(atRiskTerms(position, parameters), parameters.maintenanceMarginRatio, price)
        expect(health).toBe(risk.isAtRisk ? risk.healthFactor : NOT_AT_RISK)
      }),
      runs,
    )
  })

  it('never leaves out a position at risk, at any funding index, on and around the boundary', () => {
    let atRisk = 0
    fc.assert(
      fc.property(scenario, ({ position, market: parameters, price }) => {
        if (!isAtRisk(position, parameters, price)) return
        atRisk++
        expect(visited(position, parameters, price)).toBe(true)
      }),
      runs,
    )
    expect(atRisk).toBeGreaterThan(runs.numRuns / 5)
  })

  it('lets in only positions within one price unit plus the truncation slack of turning at risk', () => {
    // A visited position that is not at risk has 10·equity − 12·maintenance below
    // 52 + 12·m/W + S·(10W ∓ 12m)/W² units: 20 of slack in the key, one price unit of rounding,
    // and the truncations of equity (2 units) and maintenance (1 + m/W units).
    let admitted = 0
    fc.assert(
      fc.property(scenario, fundingIndex, ({ position, market: parameters, price }, index) => {
        const withIndex = { ...parameters, cumulativeFundingIndex: index }
        for (const p of [parameters, withIndex]) {
          if (atRiskPriceKey(position, p.maintenanceMarginRatio) === undefined) continue
          if (!visited(position, p, price) || isAtRisk(position, p, price)) continue
          admitted++
          const m = p.maintenanceMarginRatio
          const slope = position.side === 'long' ? 10n * WAD - 12n * m : 10n * WAD + 12n * m
          const bound = 52n + (12n * m + WAD - 1n) / WAD + (position.size * slope + WAD * WAD - 1n) / (WAD * WAD)
          expect(10n * equity(position, p, price) - 12n * maintenanceMargin(position, p, price)).toBeLessThan(bound)
        }
      }),
      runs,
    )
    expect(admitted).toBeGreaterThan(0)
  })
})
