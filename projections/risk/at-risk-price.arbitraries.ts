// fast-check generators of positions, market parameters and mark prices for the at-risk properties
// (at-risk-price.unit.test.ts, query/liquidation-index.unit.test.ts): realistic amounts spread over
// their orders of magnitude, the degenerate cases the index must still get right (zero size, tiny
// size, zero or huge maintenance ratio, a zero price), and prices placed on the at-risk boundary.
import fc from 'fast-check'
import { WAD, divWad, mulWad, parseDecimal } from '../../indexer/records/decimal.ts'
import type { MarketRiskParameters, PositionFacts, Side } from './risk.ts'

/** A WAD amount from `min` to `max`, spread over the orders of magnitude in between. */
export function wadBetween(min: string, max: string): fc.Arbitrary<bigint> {
  const low = parseDecimal(min)
  const high = parseDecimal(max)
  return fc.integer({ min: low.toString().length, max: high.toString().length }).chain((digits) => {
    const floor = 10n ** BigInt(digits - 1)
    const ceiling = 10n ** BigInt(digits) - 1n
    return fc.bigInt({ min: low > floor ? low : floor, max: high < ceiling ? high : ceiling })
  })
}

const signed = (magnitude: fc.Arbitrary<bigint>) => fc.tuple(fc.boolean(), magnitude).map(([negative, value]) => (negative ? -value : value))

export const fundingIndex: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 4, arbitrary: signed(wadBetween('0.000000000000000001', '20000')) },
)

/** Mostly as markets list them; sometimes 0, and sometimes so high (1.2·m ≥ 1) that longs have no at-risk boundary. */
export const maintenanceMarginRatio: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 8, arbitrary: wadBetween('0.005', '0.2') },
  { weight: 1, arbitrary: fc.constant(0n) },
  { weight: 1, arbitrary: wadBetween('0.8', '1.5') },
)

export const marketParameters: fc.Arbitrary<MarketRiskParameters> = fc.record({
  maintenanceMarginRatio,
  liquidationFeeRatio: wadBetween('0.001', '0.05'),
  cumulativeFundingIndex: fundingIndex,
})

const size = fc.oneof(
  { weight: 8, arbitrary: wadBetween('0.001', '10000') },
  { weight: 1, arbitrary: fc.bigInt({ min: 1n, max: 1000n }) },
  { weight: 1, arbitrary: fc.constant(0n) },
)

/** A position opened at an entry price between `entry` bounds, mostly from a leverage, sometimes with any collateral. */
export function positionFacts(entry: [string, string] = ['0.01', '200000']): fc.Arbitrary<PositionFacts> {
  return fc
    .record({ side: fc.constantFrom<Side>('long', 'short'), size, entryPrice: wadBetween(...entry) })
    .chain(({ side, size, entryPrice }) =>
      fc.record({
        side: fc.constant(side),
        size: fc.constant(size),
        entryPrice: fc.constant(entryPrice),
        collateral: fc.oneof(
          wadBetween('1', '100').map((leverage) => divWad(mulWad(size, entryPrice), leverage)),
          wadBetween('0.000001', '100000000'),
          fc.constant(0n),
        ),
        entryFundingIndex: fundingIndex,
      }),
    )
}

/**
 * The price at which the position turns at risk over the rationals (10·equity = 12·maintenance),
 * truncated; undefined where there is no single such price.
 */
export function atRiskBoundary(position: PositionFacts, market: MarketRiskParameters): bigint | undefined {
  const { size, collateral, entryPrice, entryFundingIndex } = position
  const m = market.maintenanceMarginRatio
  const slope = position.side === 'long' ? 10n * WAD - 12n * m : 10n * WAD + 12n * m
  if (size === 0n || slope <= 0n) return undefined
  const carried = size * (entryPrice - entryFundingIndex + market.cumulativeFundingIndex)
  const numerator = 10n * WAD * (position.side === 'long' ? carried - WAD * collateral : carried + WAD * collateral)
  return numerator / (size * slope)
}

/**
 * A mark price for the position: on its at-risk boundary give or take a few units or a small
 * fraction of it, or anywhere from 0 to 200000. Never negative.
 */
export function markPriceFor(position: PositionFacts, market: MarketRiskParameters): fc.Arbitrary<bigint> {
  const boundary = atRiskBoundary(position, market)
  const anywhere = fc.oneof(fc.constant(0n), wadBetween('0.000000000000000001', '200000'))
  if (boundary === undefined || boundary <= 0n) return anywhere
  const near = fc.oneof(
    fc.bigInt({ min: -100n, max: 100n }),
    fc.bigInt({ min: -1000n, max: 1000n }).map((permille) => (boundary * permille) / 1_000_000n),
  )
  return fc.oneof(
    { weight: 3, arbitrary: near.map((offset) => (boundary + offset < 0n ? 0n : boundary + offset)) },
    { weight: 1, arbitrary: anywhere },
  )
}
