import { describe, expect, it } from 'vitest'
import { WAD } from '../../indexer/records/decimal.ts'
import { isLiquidatable } from '../../projections/risk/risk.ts'
import { createPrng } from './price-paths.ts'
import {
  boldTrader,
  carefulTrader,
  chooseTraderAction,
  defaultTradingPolicy,
  fundingRate,
  jittered,
  traderProfile,
  type TraderAction,
} from './trading-simulator-policy.ts'

const prices = new Map([
  ['btc-usdc-perp', 65_000n * WAD],
  ['eth-usdc-perp', 3_500n * WAD],
])
const ids = ['0xaa', '0xbb', '0xcc'] as const
const market = { maintenanceMarginRatio: WAD / 20n, liquidationFeeRatio: WAD / 100n, cumulativeFundingIndex: 0n }

function opens(actions: readonly TraderAction[]) {
  return actions.flatMap((a) => (a.kind === 'open' ? [a] : []))
}

describe('a trader turn', () => {
  it('opens a position on a priced market when it has none, its collateral the notional over its leverage', () => {
    const random = createPrng(1)
    const actions = Array.from({ length: 200 }, () => chooseTraderAction(random, { openPositionIds: [], prices }, carefulTrader))
    expect(actions.every((a) => a.kind === 'open')).toBe(true)
    for (const action of opens(actions)) {
      expect(prices.has(action.market)).toBe(true)
      expect(action.leverageTenths).toBeGreaterThanOrEqual(carefulTrader.leverage.minTenths)
      expect(action.leverageTenths).toBeLessThanOrEqual(carefulTrader.leverage.maxTenths)
      const notional = (action.size * prices.get(action.market)!) / WAD
      // size is truncated to whole units of 1e-18, so the notional falls short by less than the price.
      expect(notional).toBeLessThanOrEqual(BigInt(defaultTradingPolicy.maxNotional) * WAD)
      expect(notional).toBeGreaterThan(BigInt(defaultTradingPolicy.minNotional) * WAD - prices.get(action.market)!)
      // The leverage the contract will compute, notional / collateral, is the chosen one.
      expect(Math.abs(Number((notional * 100n) / action.collateral) - action.leverageTenths * 10)).toBeLessThanOrEqual(1)
    }
    expect(new Set(opens(actions).map((a) => a.isLong))).toEqual(new Set([true, false]))
    expect(new Set(opens(actions).map((a) => a.market))).toEqual(new Set(prices.keys()))
  })

  it('never opens a bold position that the contract could liquidate at its entry price', () => {
    const random = createPrng(2)
    const actions = opens(Array.from({ length: 500 }, () => chooseTraderAction(random, { openPositionIds: [], prices }, boldTrader)))
    expect(actions.length).toBe(500)
    for (const a of actions) {
      const entryPrice = prices.get(a.market)!
      const facts = { side: a.isLong ? 'long' : 'short', size: a.size, collateral: a.collateral, entryPrice, entryFundingIndex: 0n } as const
      expect(isLiquidatable(facts, market, entryPrice)).toBe(false)
      expect(a.leverageTenths).toBeGreaterThanOrEqual(180)
    }
    // ...yet a 1% adverse move liquidates every one of them.
    for (const a of actions) {
      const entryPrice = prices.get(a.market)!
      const facts = { side: a.isLong ? 'long' : 'short', size: a.size, collateral: a.collateral, entryPrice, entryFundingIndex: 0n } as const
      const moved = a.isLong ? (entryPrice * 99n) / 100n : (entryPrice * 101n) / 100n
      expect(isLiquidatable(facts, market, moved)).toBe(true)
    }
  })

  it('opens no more than maxOpenPerTrader positions and closes only its own', () => {
    const random = createPrng(3)
    const full = { openPositionIds: [...ids], prices }
    const actions = Array.from({ length: 300 }, () => chooseTraderAction(random, full, carefulTrader))
    expect(opens(actions)).toEqual([])
    const closes = actions.flatMap((a) => (a.kind === 'close' ? [a.positionId] : []))
    expect(closes.length).toBeGreaterThan(60)
    expect(closes.every((id) => (ids as readonly string[]).includes(id))).toBe(true)
    expect(new Set(closes).size).toBe(3)
  })

  it('closes more often as a careful trader than as a bold one', () => {
    const closeShare = (profile: typeof boldTrader): number => {
      const random = createPrng(4)
      const actions = Array.from({ length: 2_000 }, () => chooseTraderAction(random, { openPositionIds: ['0xaa'], prices }, profile))
      return actions.filter((a) => a.kind === 'close').length / actions.length
    }
    expect(closeShare(carefulTrader)).toBeCloseTo(0.4, 1)
    expect(closeShare(boldTrader)).toBeCloseTo(0.05, 1)
  })

  it('waits when no market is priced and it has nothing to close', () => {
    expect(chooseTraderAction(createPrng(5), { openPositionIds: [], prices: new Map() }, boldTrader)).toEqual({ kind: 'wait' })
    expect(chooseTraderAction(createPrng(5), { openPositionIds: [], prices: new Map([['btc-usdc-perp', 0n]]) }, boldTrader)).toEqual({ kind: 'wait' })
  })

  it('decides the same way for the same seed', () => {
    const run = (seed: number) => {
      const random = createPrng(seed)
      return Array.from({ length: 50 }, (_, i) => chooseTraderAction(random, { openPositionIds: ids.slice(0, i % 4), prices }, boldTrader))
    }
    expect(run(9)).toEqual(run(9))
    expect(run(9)).not.toEqual(run(10))
  })
})

describe('trader profiles', () => {
  it('makes every boldEvery-th trader bold, the first included, and none when boldEvery is 0', () => {
    expect([0, 1, 2, 3, 4].map((i) => traderProfile(i, 2).name)).toEqual(['bold', 'careful', 'bold', 'careful', 'bold'])
    expect([0, 1, 2].map((i) => traderProfile(i, 0).name)).toEqual(['careful', 'careful', 'careful'])
  })

  it('keeps bold leverage below 20x, where a 5% maintenance ratio would liquidate at once', () => {
    expect(boldTrader.leverage.maxTenths).toBeLessThan(200)
  })
})

describe('funding rate', () => {
  const maxRate = 2n * 10n ** 14n

  it('makes the crowded side pay: positive when longs dominate, negative when shorts do', () => {
    expect(fundingRate(300n * WAD, 100n * WAD, maxRate)).toBe(maxRate / 2n)
    expect(fundingRate(100n * WAD, 300n * WAD, maxRate)).toBe(-maxRate / 2n)
  })

  it('is zero when balanced or empty and at most maxRate when one side holds everything', () => {
    expect(fundingRate(5n * WAD, 5n * WAD, maxRate)).toBe(0n)
    expect(fundingRate(0n, 0n, maxRate)).toBe(0n)
    expect(fundingRate(7n * WAD, 0n, maxRate)).toBe(maxRate)
    expect(fundingRate(0n, 7n * WAD, maxRate)).toBe(-maxRate)
  })
})

describe('jittered delays', () => {
  it('draws from [ms/2, 3ms/2)', () => {
    const random = createPrng(6)
    const delays = Array.from({ length: 1_000 }, () => jittered(random, 1_000))
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500)
    expect(Math.max(...delays)).toBeLessThan(1_500)
    expect(new Set(delays).size).toBeGreaterThan(100)
  })
})
