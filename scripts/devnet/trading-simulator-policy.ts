// What the simulated traders and the keeper decide, as pure functions of a seeded random source and
// what they know: no I/O, so a seed gives the same decisions every run. Amounts are WAD bigints.
import { WAD } from '../../indexer/records/decimal.ts'

/** Leverage in tenths (195 is 19.5x), so every collateral is an exact fraction of the notional. */
export interface LeverageRange {
  readonly minTenths: number
  readonly maxTenths: number
}

export interface TraderProfile {
  readonly name: string
  readonly leverage: LeverageRange
  /** Chance in percent that a turn closes one of the trader's open positions. */
  readonly closePercent: number
}

/**
 * Stays far from the maintenance margin (at most 10x against a 5% ratio is 5% of price away from
 * liquidation) and takes profits or losses often.
 */
export const carefulTrader: TraderProfile = {
  name: 'careful',
  leverage: { minTenths: 20, maxTenths: 100 },
  closePercent: 40,
}

/**
 * Trades close to the maintenance margin and lets positions ride: 18x to 19.8x against a 5% ratio
 * is 0.05% to 0.6% of price from liquidation, so at the demo's volatility (price-paths.ts,
 * demoVolatilityPpb) about half of these positions are liquidated within two minutes. Staying
 * below 1/ratio (20x) matters: a position above it is liquidatable the moment it opens.
 */
export const boldTrader: TraderProfile = {
  name: 'bold',
  leverage: { minTenths: 180, maxTenths: 198 },
  closePercent: 5,
}

/** Every `boldEvery`-th trader (the first included) is bold, the others careful. */
export function traderProfile(index: number, boldEvery = 3): TraderProfile {
  return boldEvery > 0 && index % boldEvery === 0 ? boldTrader : carefulTrader
}

export interface TradingPolicy {
  /** A trader with this many open positions opens no more (default 3). */
  readonly maxOpenPerTrader: number
  /** Notional of a new position in whole quote units (USD), drawn uniformly from this range. */
  readonly minNotional: number
  readonly maxNotional: number
}

export const defaultTradingPolicy: TradingPolicy = {
  maxOpenPerTrader: 3,
  minNotional: 1_000,
  maxNotional: 25_000,
}

export type TraderAction =
  | {
      readonly kind: 'open'
      /** The market slug. */
      readonly market: string
      readonly isLong: boolean
      readonly size: bigint
      readonly collateral: bigint
      readonly leverageTenths: number
    }
  | { readonly kind: 'close'; readonly positionId: `0x${string}` }
  | { readonly kind: 'wait' }

export interface TraderView {
  /** The trader's open positions, as known from the chain. */
  readonly openPositionIds: readonly `0x${string}`[]
  /** The mark prices on chain (WAD) by market slug; a trader only trades a priced market. */
  readonly prices: ReadonlyMap<string, bigint>
}

/** A uniform integer in [low, high]; `random` yields uint32 values (createPrng). */
export function uniformInt(random: () => number, low: number, high: number): number {
  if (high < low) throw new RangeError(`empty range [${low}, ${high}]`)
  return low + (random() % (high - low + 1))
}

/** A delay drawn uniformly from [ms/2, 3ms/2), so many timers with one period do not fire in step. */
export function jittered(random: () => number, ms: number): number {
  return Math.max(1, Math.floor(ms / 2) + (ms > 0 ? random() % ms : 0))
}

/** One turn: close a random open position (closePercent), else open one while below the maximum. */
export function chooseTraderAction(
  random: () => number,
  view: TraderView,
  profile: TraderProfile,
  policy: TradingPolicy = defaultTradingPolicy,
): TraderAction {
  const open = view.openPositionIds
  if (open.length > 0 && uniformInt(random, 1, 100) <= profile.closePercent) {
    return { kind: 'close', positionId: open[uniformInt(random, 0, open.length - 1)]! }
  }
  const markets = [...view.prices].filter(([, price]) => price > 0n)
  if (open.length >= policy.maxOpenPerTrader || markets.length === 0) return { kind: 'wait' }
  const [market, price] = markets[uniformInt(random, 0, markets.length - 1)]!
  return openAction(random, market, price, profile, policy)
}

function openAction(
  random: () => number,
  market: string,
  price: bigint,
  profile: TraderProfile,
  policy: TradingPolicy,
): TraderAction {
  const isLong = uniformInt(random, 0, 1) === 1
  const leverageTenths = uniformInt(random, profile.leverage.minTenths, profile.leverage.maxTenths)
  const notional = BigInt(uniformInt(random, policy.minNotional, policy.maxNotional)) * WAD
  const size = (notional * WAD) / price
  if (size === 0n || leverageTenths <= 0) return { kind: 'wait' }
  const collateral = (notional * 10n) / BigInt(leverageTenths)
  return { kind: 'open', market, isLong, size, collateral, leverageTenths }
}

/**
 * The keeper's funding rate per update (WAD): proportional to the open-interest imbalance, so the
 * crowded side pays the other, up to `maxRate` when one side holds all the interest. Positive means
 * longs pay. Zero when nothing is open.
 */
export function fundingRate(longOpenInterest: bigint, shortOpenInterest: bigint, maxRate: bigint): bigint {
  const total = longOpenInterest + shortOpenInterest
  if (total === 0n) return 0n
  return ((longOpenInterest - shortOpenInterest) * maxRate) / total
}
