import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WAD, divWad, formatDecimal, mulWad, parseDecimal } from '../../indexer/records/decimal.ts'
import {
  assessPosition,
  atRiskHealthFactor,
  fundingOwed,
  healthFactor,
  isLiquidatable,
  liquidationPrice,
  liquidatableHealthFactor,
  unrealizedPnl,
  type MarketRiskParameters,
  type PositionFacts,
  type Side,
} from './risk.ts'

const d = (text: string): bigint => parseDecimal(text)

function position(side: Side, size: string, entryPrice: string, collateral: string, entryFundingIndex = '0'): PositionFacts {
  return { side, size: d(size), entryPrice: d(entryPrice), collateral: d(collateral), entryFundingIndex: d(entryFundingIndex) }
}

function market(maintenanceMarginRatio: string, liquidationFeeRatio: string, cumulativeFundingIndex = '0'): MarketRiskParameters {
  return {
    maintenanceMarginRatio: d(maintenanceMarginRatio),
    liquidationFeeRatio: d(liquidationFeeRatio),
    cumulativeFundingIndex: d(cumulativeFundingIndex),
  }
}

/** The risk values as decimal text, the way a reader checks them by hand. */
function assessed(facts: PositionFacts, parameters: MarketRiskParameters, price: string) {
  const risk = assessPosition(facts, parameters, d(price))
  const text = (value: bigint | undefined) => (value === undefined ? undefined : formatDecimal(value))
  return {
    fundingOwed: text(risk.fundingOwed),
    unrealizedPnl: text(risk.unrealizedPnl),
    equity: text(risk.equity),
    maintenanceMargin: text(risk.maintenanceMargin),
    healthFactor: text(risk.healthFactor),
    isAtRisk: risk.isAtRisk,
    isLiquidatable: risk.isLiquidatable,
    liquidationPrice: text(risk.liquidationPrice),
    potentialReward: text(risk.potentialReward),
  }
}

describe('risk of a position, by hand', () => {
  // Long 1.5 BTC at 50000 with 10000 collateral, m = 5%, f = 1%, no funding accrued.
  // Liquidation: 10000 + 1.5·(P − 50000) = 1.5·P·0.05  ⇒  P = 65000 / 1.425 = 45614.0350877192982456140…
  const long = position('long', '1.5', '50000', '10000')
  const btc = market('0.05', '0.01')

  it('is healthy at the entry price', () => {
    expect(assessed(long, btc, '50000')).toEqual({
      fundingOwed: '0',
      unrealizedPnl: '0',
      equity: '10000',
      maintenanceMargin: '3750',
      healthFactor: '2.666666666666666666',
      isAtRisk: false,
      isLiquidatable: false,
      liquidationPrice: '45614.035087719298245615',
      potentialReward: '750',
    })
  })

  it('is at risk but not liquidatable at 46000', () => {
    expect(assessed(long, btc, '46000')).toMatchObject({
      unrealizedPnl: '-6000',
      equity: '4000',
      maintenanceMargin: '3450',
      healthFactor: '1.159420289855072463',
      isAtRisk: true,
      isLiquidatable: false,
    })
  })

  it('is liquidatable at 45000', () => {
    expect(assessed(long, btc, '45000')).toMatchObject({
      unrealizedPnl: '-7500',
      equity: '2500',
      maintenanceMargin: '3375',
      healthFactor: '0.74074074074074074',
      isLiquidatable: true,
      potentialReward: '675',
    })
  })

  it('has a health factor of exactly 1 at its liquidation price, and is liquidatable a few units below', () => {
    // Band (2) below: 1 + ⌈3 / (1.5·0.95)⌉ = 4 units of 10^-18, within which truncation decides.
    const price = liquidationPrice(long, btc)!
    expect(healthFactor(long, btc, price)).toBe(WAD)
    expect(isLiquidatable(long, btc, price)).toBe(false)
    expect(undecidedBand({ position: long, market: btc })).toBe(4n)
    expect(isLiquidatable(long, btc, price - 4n)).toBe(true)
  })

  it('misses health 1 by more than one unit for a tiny position, where one unit of equity is 2·10^7 units of health', () => {
    // Long 0.001 at 0.01 with 0.000001 collateral, m = 0.5%: maintenance at the liquidation price is
    // about 4.5·10^-8, so the smallest possible gap between equity and maintenance, one unit,
    // already moves the health factor by 10^18 / 45226130653 ≈ 2.2·10^7 units. See bound (1) below.
    const tiny = position('long', '0.001', '0.01', '0.000001')
    const tinyMarket = market('0.005', '0.01')
    const price = liquidationPrice(tiny, tinyMarket)!
    const risk = assessPosition(tiny, tinyMarket, price)
    expect(formatDecimal(price)).toBe('0.009045226130653267')
    expect(risk.equity - risk.maintenanceMargin).toBe(1n)
    expect(risk.healthFactor! - WAD).toBe(22_111_111n)
    expect(healthToleranceAtLiquidationPrice({ position: tiny, market: tinyMarket }, risk.maintenanceMargin)).toBe(
      66_333_333n,
    )
  })

  it('moves the liquidation price up by the funding the long owes', () => {
    // 1.5 · (20 − 0) = 30 owed  ⇒  P = (75000 + 30 − 10000) / 1.425 = 45635.0877192982456140350…
    const withFunding = market('0.05', '0.01', '20')
    expect(assessed(long, withFunding, '50000')).toMatchObject({
      fundingOwed: '30',
      unrealizedPnl: '-30',
      equity: '9970',
      liquidationPrice: '45635.087719298245614036',
    })
  })

  it('credits a short the funding when the index rises', () => {
    // Short 2 ETH at 3000, 600 collateral, m = 10%, f = 0.5%, funding index 5 → 7: owed −1·2·2 = −4.
    // Liquidation: 600 − 2·(P − 3000) + 4 = 2·P·0.1  ⇒  P = 6604 / 2.2 = 3001.8181…
    const short = position('short', '2', '3000', '600', '5')
    expect(assessed(short, market('0.1', '0.005', '7'), '2900')).toEqual({
      fundingOwed: '-4',
      unrealizedPnl: '204',
      equity: '804',
      maintenanceMargin: '580',
      healthFactor: '1.386206896551724137',
      isAtRisk: false,
      isLiquidatable: false,
      liquidationPrice: '3001.818181818181818181',
      potentialReward: '29',
    })
  })

  it('reports 0 for a long that no positive price liquidates', () => {
    const overCollateralised = position('long', '1', '100', '200')
    expect(liquidationPrice(overCollateralised, btc)).toBe(0n)
    expect(isLiquidatable(overCollateralised, btc, d('0.01'))).toBe(false)
  })

  it('reports 0 for a short that every positive price liquidates', () => {
    // The index fell by 200: the short owes 200, more than its collateral plus its entry notional.
    const drained = position('short', '1', '100', '10', '200')
    expect(liquidationPrice(drained, market('0.05', '0.01', '0'))).toBe(0n)
    expect(isLiquidatable(drained, market('0.05', '0.01', '0'), d('0.01'))).toBe(true)
  })

  it('has no health factor or liquidation price without a size', () => {
    const empty = position('long', '0', '100', '10')
    expect(healthFactor(empty, btc, d('100'))).toBeUndefined()
    expect(liquidationPrice(empty, btc)).toBeUndefined()
    expect(isLiquidatable(empty, btc, d('100'))).toBe(false)
  })

  it('has no health factor at a zero price, where only negative equity is liquidatable', () => {
    expect(assessed(long, btc, '0')).toMatchObject({ healthFactor: undefined, equity: '-65000', isLiquidatable: true })
  })
})

// ---------------------------------------------------------------------------------------------
// Property tests over realistic ranges. What tolerance is achievable, and why:
//
// Let g(P) = equity(P) − maintenance(P) as computed (integers, in units of 10^-18), and g*(P) the
// same expression over the rationals, without truncation. equity truncates once (S·(P − E)/WAD loses
// less than one unit, either way); maintenance truncates twice, downward (it loses less than
// 1 + m/WAD < 2 units). Hence
//     g*(P) − 1 < g(P) < g*(P) + 3.
// g* is linear, zero at the exact root P₀, with a slope of ±S·(1 ∓ m) units per unit of price (S in
// base units, the sign of the side). liquidationPrice returns P* less than one unit from P₀, on the
// side where g* ≥ 0. So 0 ≤ g*(P*) < S·(1 ∓ m), and the integer g(P*) satisfies
//     0 ≤ g(P*) ≤ gMax := ⌈S·(1 ∓ m) + 3⌉ − 1.
// With equity ≥ maintenance ≥ 0, health = trunc(equity·WAD / maintenance) = WAD + ⌊g·WAD/maintenance⌋:
//     0 ≤ health(P*) − WAD ≤ ⌊gMax·WAD / maintenance(P*)⌋.                                        (1)
// That is 0 whenever maintenance(P*) > gMax·WAD, e.g. for S ≥ 1, P* ≥ 1000 and m ≥ 0.5% (with S in
// base units, maintenance(P*) ≥ 5·S·WAD − 2 units while gMax < 1.2·S + 3 ≤ 4.2·S). It cannot be ≤ 1
// everywhere: for S = 0.001
// at P* = 0.01 with m = 0.5%, maintenance is 5·10^-8 (5·10^10 units), so the truncations alone (up
// to 3 units) move health by up to 6·10^7 units, and one unit of price, the finest a WAD price can
// be, moves it by (1 − m)/(P·m) ≈ 2·10^4 units.
//
// The same bounds place the liquidation boundary. Long (short mirrored): for P ≥ P*, g*(P) ≥ 0 so
// g(P) > −1, i.e. g(P) ≥ 0: not liquidatable, exactly. g(P) < 0 is certain once g*(P) ≤ −3, i.e.
// for every P ≤ P* − 1 − ⌈3 / (S·(1 − m))⌉ (in units). In between, the truncations decide: that band
// is a single unit (P* − 1) once S·(1 ∓ m) ≥ 3 base units, and widens as 1/S below (4000 units, i.e.
// 4·10^-15 in price, at S = 0.001).                                                               (2)
// ---------------------------------------------------------------------------------------------

/** A WAD amount from `min` to `max`, spread over the orders of magnitude in between. */
function wadBetween(min: string, max: string): fc.Arbitrary<bigint> {
  const low = d(min)
  const high = d(max)
  return fc
    .integer({ min: low.toString().length, max: high.toString().length })
    .chain((digits) => {
      const floor = 10n ** BigInt(digits - 1)
      const ceiling = 10n ** BigInt(digits) - 1n
      return fc.bigInt({ min: low > floor ? low : floor, max: high < ceiling ? high : ceiling })
    })
}

const fundingIndex = fc.oneof(
  fc.constant(0n),
  fc.tuple(fc.boolean(), wadBetween('0.000000000000000001', '20000')).map(([negative, value]) => (negative ? -value : value)),
)

interface Scenario {
  readonly position: PositionFacts
  readonly market: MarketRiskParameters
}

function scenario(ranges: { size: [string, string]; price: [string, string]; leverage: [string, string] }) {
  const collateralFor = (size: bigint, entryPrice: bigint) =>
    fc.oneof(
      // Mostly from a leverage, as traders open positions; sometimes any amount at all.
      wadBetween(...ranges.leverage).map((leverage) => divWad(mulWad(size, entryPrice), leverage)),
      wadBetween('0.000001', '100000000'),
    )
  return fc
    .record({ side: fc.constantFrom<Side>('long', 'short'), size: wadBetween(...ranges.size), entryPrice: wadBetween(...ranges.price) })
    .chain(({ side, size, entryPrice }) =>
      fc.record({
        position: fc.record({
          side: fc.constant(side),
          size: fc.constant(size),
          entryPrice: fc.constant(entryPrice),
          collateral: collateralFor(size, entryPrice),
          entryFundingIndex: fundingIndex,
        }),
        market: fc.record({
          maintenanceMarginRatio: wadBetween('0.005', '0.2'),
          liquidationFeeRatio: wadBetween('0.001', '0.05'),
          cumulativeFundingIndex: fundingIndex,
        }),
      }),
    ) satisfies fc.Arbitrary<Scenario>
}

const realistic = scenario({ size: ['0.001', '10000'], price: ['0.01', '200000'], leverage: ['1', '100'] })
const price = wadBetween('0.01', '200000')
const runs = { numRuns: 2000 }

/** (1 ∓ m)·S·WAD² in units², the slope of g* times WAD², for the side. */
function slopeTimesWad2({ position: p, market: m }: Scenario): bigint {
  return p.size * (p.side === 'long' ? WAD - m.maintenanceMarginRatio : WAD + m.maintenanceMarginRatio)
}

/** Bound (1): the most health may exceed WAD at the liquidation price. */
function healthToleranceAtLiquidationPrice(s: Scenario, maintenance: bigint): bigint {
  const gMax = (slopeTimesWad2(s) + 3n * WAD * WAD - 1n) / (WAD * WAD)
  return (gMax * WAD) / maintenance
}

/** Bound (2): how far beyond the liquidation price liquidation may still be undecided, in units. */
function undecidedBand(s: Scenario): bigint {
  const slope = slopeTimesWad2(s)
  return 1n + (3n * WAD * WAD + slope - 1n) / slope
}

describe('risk properties', () => {
  it('never calls a position liquidatable at its liquidation price, and health there exceeds 1 by at most bound (1)', () => {
    fc.assert(
      fc.property(realistic, (s) => {
        const atPrice = liquidationPrice(s.position, s.market)!
        const risk = assessPosition(s.position, s.market, atPrice)
        fc.pre(atPrice > 0n && risk.maintenanceMargin > 0n)
        expect(risk.isLiquidatable).toBe(false)
        const excess = risk.healthFactor! - WAD
        expect(excess >= 0n).toBe(true)
        expect(excess <= healthToleranceAtLiquidationPrice(s, risk.maintenanceMargin)).toBe(true)
      }),
      runs,
    )
  })

  it('has a health factor of exactly 1 at the liquidation price for sizes from 1, prices from 1000 and m from 0.5%', () => {
    const sizable = scenario({ size: ['1', '10000'], price: ['1000', '200000'], leverage: ['2', '100'] })
    fc.assert(
      fc.property(sizable, (s) => {
        const atPrice = liquidationPrice(s.position, s.market)!
        fc.pre(atPrice >= d('1000'))
        expect(healthFactor(s.position, s.market, atPrice)).toBe(WAD)
      }),
      runs,
    )
  })

  it('calls a position liquidatable exactly beyond its liquidation price, up to the band (2)', () => {
    fc.assert(
      fc.property(realistic, fc.bigInt({ min: -10_000n, max: 10_000n }), price, (s, offset, anyPrice) => {
        const boundary = liquidationPrice(s.position, s.market)!
        const band = undecidedBand(s)
        const beyond = s.position.side === 'long' ? -1n : 1n
        for (const candidate of [boundary + offset, boundary + beyond * (band + (offset < 0n ? -offset : offset)), anyPrice]) {
          // A mark price is at least one unit; 0 is where a short's clamped boundary sits (see liquidationPrice).
          if (candidate < 1n) continue
          const distance = (candidate - boundary) * beyond
          const liquidatable = isLiquidatable(s.position, s.market, candidate)
          if (distance <= 0n) expect(liquidatable).toBe(false)
          if (distance >= band) expect(liquidatable).toBe(true)
        }
      }),
      runs,
    )
  })

  it('decides liquidation to within one unit of the liquidation price once S·(1 ∓ m) ≥ 3', () => {
    const large = scenario({ size: ['4', '10000'], price: ['0.01', '200000'], leverage: ['1', '100'] })
    fc.assert(
      fc.property(large, (s) => {
        const boundary = liquidationPrice(s.position, s.market)!
        const beyond = s.position.side === 'long' ? -1n : 1n
        fc.pre(boundary >= 1n && boundary + 2n * beyond >= 1n)
        expect(isLiquidatable(s.position, s.market, boundary)).toBe(false)
        expect(isLiquidatable(s.position, s.market, boundary + 2n * beyond)).toBe(true)
      }),
      runs,
    )
  })

  it('flips the sign of funding and PnL with the side', () => {
    fc.assert(
      fc.property(realistic, price, ({ position: facts, market: parameters }, mark) => {
        const long = { ...facts, side: 'long' as const }
        const short = { ...facts, side: 'short' as const }
        expect(fundingOwed(short, parameters)).toBe(-fundingOwed(long, parameters))
        expect(unrealizedPnl(short, parameters, mark)).toBe(-unrealizedPnl(long, parameters, mark))
      }),
      runs,
    )
  })

  it('agrees with the health factor thresholds wherever the health factor is defined', () => {
    fc.assert(
      fc.property(realistic, price, (s, mark) => {
        const risk = assessPosition(s.position, s.market, mark)
        fc.pre(risk.healthFactor !== undefined)
        expect(risk.isLiquidatable).toBe(risk.healthFactor! < liquidatableHealthFactor)
        expect(risk.isAtRisk).toBe(risk.healthFactor! < atRiskHealthFactor)
      }),
      runs,
    )
  })

  it('computes the same values one by one as in the summary', () => {
    fc.assert(
      fc.property(realistic, price, (s, mark) => {
        const risk = assessPosition(s.position, s.market, mark)
        expect(risk.unrealizedPnl).toBe(unrealizedPnl(s.position, s.market, mark))
        expect(risk.healthFactor).toBe(healthFactor(s.position, s.market, mark))
        expect(risk.isLiquidatable).toBe(isLiquidatable(s.position, s.market, mark))
        expect(risk.liquidationPrice).toBe(liquidationPrice(s.position, s.market))
      }),
      runs,
    )
  })

  it('round-trips every derived value through its decimal text', () => {
    fc.assert(
      fc.property(realistic, price, (s, mark) => {
        for (const value of Object.values(assessPosition(s.position, s.market, mark))) {
          if (typeof value === 'bigint') expect(parseDecimal(formatDecimal(value))).toBe(value)
        }
      }),
      runs,
    )
  })
})
