import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { parseDecimal } from '../../indexer/records/decimal.ts'
import { atRiskBoundary, fundingIndex, maintenanceMarginRatio, positionFacts, wadBetween } from '../risk/at-risk-price.arbitraries.ts'
import type { MarketRiskParameters } from '../risk/risk.ts'
import { scanAtRisk, type IndexedPosition } from './at-risk-position.ts'
import { createLiquidationIndex } from './liquidation-index.ts'

const d = (text: string): bigint => parseDecimal(text)

/** How many positions the index has assessed: the real atRiskHealth, counted. */
const assessments = vi.hoisted(() => ({ count: 0 }))
vi.mock('../risk/at-risk-price.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../risk/at-risk-price.ts')>()
  return {
    ...actual,
    atRiskHealth: (...args: Parameters<typeof actual.atRiskHealth>) => {
      assessments.count++
      return actual.atRiskHealth(...args)
    },
  }
})

/** Each market's positions open around its own price scale, so that a query price meets many boundaries. */
const MARKETS = [
  { id: 'btc-usdc-perp', entries: ['20000', '100000'] as [string, string] },
  { id: 'eth-usdc-perp', entries: ['1000', '6000'] as [string, string] },
  { id: 'sol-usdc-perp', entries: ['0.5', '300'] as [string, string] },
]

const marketIndex = fc.integer({ min: 0, max: MARKETS.length - 1 })

type Unnamed = Omit<IndexedPosition, 'positionId'>

const anyPosition: fc.Arbitrary<Unnamed> = marketIndex.chain((market) => {
  const { id: marketId, entries } = MARKETS[market]!
  return positionFacts(entries).map((facts) => ({ marketId, facts }))
})

const named = (position: Unnamed, id: number): IndexedPosition => ({ positionId: `0x${id.toString(16).padStart(4, '0')}`, ...position })

type Pricing = { readonly pick: number; readonly offset: bigint; readonly permille: bigint } | { readonly price: bigint }

/** How a query picks its price: on the boundary of the pick-th open position of the market, give or take, or anywhere. */
const pricing: fc.Arbitrary<Pricing> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ pick: fc.nat(), offset: fc.bigInt({ min: -60n, max: 60n }), permille: fc.constant(0n) }) },
  { weight: 2, arbitrary: fc.record({ pick: fc.nat(), offset: fc.constant(0n), permille: fc.bigInt({ min: -300n, max: 300n }) }) },
  { weight: 1, arbitrary: wadBetween('0.000000000000000001', '120000').map((price) => ({ price })) },
)

type Operation =
  | { readonly type: 'open'; readonly position: Unnamed }
  /** The pick-th open position again, with other facts and maybe in another market (a reorg restores a different row). */
  | { readonly type: 'reopen'; readonly pick: number; readonly position: Unnamed }
  | { readonly type: 'close'; readonly pick: number }
  | { readonly type: 'close-unknown' }
  | { readonly type: 'ratio'; readonly market: number; readonly ratio: bigint }
  | { readonly type: 'query'; readonly market: number; readonly index: bigint; readonly pricing: Pricing }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 3, arbitrary: anyPosition.map((position) => ({ type: 'open' as const, position })) },
  { weight: 1, arbitrary: fc.record({ pick: fc.nat(), position: anyPosition }).map((r) => ({ type: 'reopen' as const, ...r })) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ type: 'close' as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ type: 'close-unknown' as const }) },
  { weight: 1, arbitrary: fc.record({ market: marketIndex, ratio: maintenanceMarginRatio }).map((r) => ({ type: 'ratio' as const, ...r })) },
  { weight: 6, arbitrary: fc.record({ market: marketIndex, index: fundingIndex, pricing }).map((q) => ({ type: 'query' as const, ...q })) },
)

const world = fc.record({
  initial: fc.array(anyPosition, { maxLength: 60, size: 'max' }),
  /** Some markets have no known ratio at load: they are keyed at their first query. */
  ratios: fc.tuple(...MARKETS.map(() => fc.option(maintenanceMarginRatio, { nil: undefined }))),
  operations: fc.array(operation, { minLength: 10, maxLength: 60, size: 'max' }),
})

function priceOf(q: Pricing, open: readonly IndexedPosition[], parameters: MarketRiskParameters): bigint {
  if ('price' in q) return q.price
  const target = open[q.pick % Math.max(1, open.length)]
  const boundary = target === undefined ? undefined : atRiskBoundary(target.facts, parameters)
  if (boundary === undefined) return d('100')
  const price = boundary + q.offset + (boundary * q.permille) / 1_000_000n
  return price < 0n ? 0n : price
}

describe('liquidation index', () => {
  it('finds exactly what a full scan finds, in the same order, through opens, closes, re-adds, ratio and funding changes', () => {
    let found = 0
    let queries = 0
    let nonEmpty = 0
    fc.assert(
      fc.property(world, ({ initial, ratios, operations }) => {
        const loaded = initial.map(named)
        const model = new Map(loaded.map((p) => [p.positionId, p]))
        const ratio = new Map(MARKETS.flatMap((m, i) => (ratios[i] === undefined ? [] : [[m.id, ratios[i]] as const])))
        const index = createLiquidationIndex()
        index.load(loaded, ratio)
        const ratioOf = (market: number) => ratio.get(MARKETS[market]!.id) ?? d('0.05')
        for (const [n, op] of operations.entries()) {
          const open = [...model.values()]
          switch (op.type) {
            case 'open': {
              const position = named(op.position, 1000 + n)
              model.set(position.positionId, position)
              index.upsert(position)
              break
            }
            case 'reopen': {
              const target = open[op.pick % Math.max(1, open.length)]
              if (target === undefined) break
              const again = { ...op.position, positionId: target.positionId }
              model.set(again.positionId, again)
              index.upsert(again)
              break
            }
            case 'close': {
              const target = open[op.pick % Math.max(1, open.length)]
              if (target === undefined) break
              model.delete(target.positionId)
              expect(index.remove(target.positionId)).toBe(true)
              break
            }
            case 'close-unknown':
              expect(index.remove('0xunknown')).toBe(false)
              break
            case 'ratio':
              ratio.set(MARKETS[op.market]!.id, op.ratio)
              break
            case 'query': {
              const marketId = MARKETS[op.market]!.id
              const parameters = { maintenanceMarginRatio: ratioOf(op.market), liquidationFeeRatio: d('0.01'), cumulativeFundingIndex: op.index }
              const price = priceOf(op.pricing, open.filter((p) => p.marketId === marketId), parameters)
              const expected = scanAtRisk(model.values(), marketId, parameters, price)
              expect(index.atRisk(marketId, parameters, price)).toEqual(expected)
              found += expected.length
              queries++
              if (expected.length > 0) nonEmpty++
            }
          }
          expect(index.size).toBe(model.size)
        }
      }),
      { numRuns: 400 },
    )
    // Most queries find some positions at risk, and some find none.
    expect(found).toBeGreaterThan(5000)
    expect(nonEmpty).toBeGreaterThan(queries / 2)
    expect(nonEmpty).toBeLessThan(queries)
  })

  it('assesses only the positions at the at-risk end of each side, not the whole market', () => {
    // 1000 longs and 1000 shorts of 1 BTC with 12000 collateral, entered from 40000 to 59980, m = 5%:
    // at 50000 only the longs entered above 59000 and the shorts entered below 41000 are at risk.
    const positions: IndexedPosition[] = []
    for (let i = 0; i < 1000; i++) {
      for (const side of ['long', 'short'] as const) {
        const facts = { side, size: d('1'), collateral: d('12000'), entryPrice: d('40000') + BigInt(i) * d('20'), entryFundingIndex: 0n }
        positions.push({ positionId: `${side}-${i}`, marketId: 'btc-usdc-perp', facts })
      }
    }
    const index = createLiquidationIndex()
    const btc = { maintenanceMarginRatio: d('0.05'), liquidationFeeRatio: d('0.01'), cumulativeFundingIndex: 0n }
    index.load(positions, new Map([['btc-usdc-perp', btc.maintenanceMarginRatio]]))
    assessments.count = 0
    const atRisk = index.atRisk('btc-usdc-perp', btc, d('50000'))
    // The long entered at 59000 and the short at 41000 sit at exactly 1.2: visited, and left out.
    expect(assessments.count).toBe(atRisk.length + 2)
    expect(atRisk.map((p) => p.positionId).sort()).toEqual([
      ...Array.from({ length: 49 }, (_, i) => `long-${951 + i}`),
      ...Array.from({ length: 50 }, (_, i) => `short-${i}`),
    ].sort())
    expect(atRisk).toEqual(scanAtRisk(positions, 'btc-usdc-perp', btc, d('50000')))
  })

  it('turns a long at risk when funding accrues against it, without re-keying anything', () => {
    const long: IndexedPosition = {
      positionId: '0x01',
      marketId: 'eth-usdc-perp',
      facts: { side: 'long', size: d('10'), collateral: d('3000'), entryPrice: d('3000'), entryFundingIndex: d('1') },
    }
    const index = createLiquidationIndex()
    index.load([long], new Map([['eth-usdc-perp', d('0.05')]]))
    const at = (cumulativeFundingIndex: string) =>
      index.atRisk('eth-usdc-perp', { maintenanceMarginRatio: d('0.05'), liquidationFeeRatio: d('0.01'), cumulativeFundingIndex: d(cumulativeFundingIndex) }, d('2800'))
    // At 2800 with no funding owed: equity 1000, maintenance 1400: at risk.
    expect(at('1').map((p) => p.positionId)).toEqual(['0x01'])
    // The index fell by 200: the long is owed 2000, equity 3000, health 2.14.
    expect(at('-199')).toEqual([])
    // It rose by 50 from the entry: the long owes 500, equity 500.
    expect(at('51')).toEqual([{ positionId: '0x01', marketId: 'eth-usdc-perp', healthFactor: d('500') * 10n ** 18n / d('1400') }])
  })

  it('keys the positions of a market without a known ratio at its first query', () => {
    const index = createLiquidationIndex()
    const short: IndexedPosition = {
      positionId: '0x02',
      marketId: 'sol-usdc-perp',
      facts: { side: 'short', size: d('100'), collateral: d('3000'), entryPrice: d('150'), entryFundingIndex: 0n },
    }
    index.upsert(short)
    const sol = { maintenanceMarginRatio: d('0.1'), liquidationFeeRatio: d('0.01'), cumulativeFundingIndex: 0n }
    expect(index.atRisk('sol-usdc-perp', sol, d('200')).map((p) => p.positionId)).toEqual(['0x02'])
    expect(index.atRisk('sol-usdc-perp', sol, d('150'))).toEqual([])
    expect(index.atRisk('btc-usdc-perp', sol, d('150'))).toEqual([])
    expect(index.remove('0x02')).toBe(true)
    expect(index.atRisk('sol-usdc-perp', sol, d('200'))).toEqual([])
  })
})
