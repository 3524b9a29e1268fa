import { describe, expect, it } from 'vitest'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { given } from '../test-support/given.ts'
import { hashOf, marketListed, priceTick } from '../test-support/records.ts'
import type { ProjectionRecord } from './projection-record.ts'

const BTC = 'btc-usdc-perp'
const ETH = 'eth-usdc-perp'

const at100 = priceTick(BTC, 100, '50000.5')
const at101 = priceTick(BTC, 101, '50010.25')
const at99 = priceTick(BTC, 99, '49000')

describe('price_tick', () => {
  it("stores the first tick as the market's latest, with every field of the record", () => {
    const result = given().when(at100)
    expect(result.step.outcome).toBe('applied')
    expect(result.rows('latest_ticks')).toEqual([
      {
        market_id: BTC,
        record_id: at100.id,
        feed_id: hashOf(`feed:${BTC}`),
        price: '50000.5',
        confidence: '0.00001',
        expo: -8,
        price_raw: '5000050000000',
        conf_raw: '1000',
        publish_time: 100,
      },
    ])
  })

  it('replaces the latest tick with a newer one', () => {
    expect(given(at100).when(at101).rows('latest_ticks')).toMatchObject([{ price: '50010.25', publish_time: 101 }])
  })

  it('ignores a tick older than the latest', () => {
    const result = given(at100).when(at99)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'stale-tick' })
    expect(result.rows('latest_ticks')).toMatchObject([{ price: '50000.5', publish_time: 100 }])
    expect(result.hashAfter).toBe(result.hashBefore)
  })

  it("keeps one latest tick per market, and a tick never touches another market's", () => {
    const eth = priceTick(ETH, 50, '3500')
    expect(given(at100).when(eth).rows('latest_ticks').map((t) => [t.market_id, t.price])).toEqual([
      [BTC, '50000.5'],
      [ETH, '3500'],
    ])
  })

  it('keeps a tick that arrives before its market is listed, and the listing leaves it alone', () => {
    const result = given(at100).when(marketListed(BTC, { block: 1 }))
    expect(result.rows('latest_ticks')).toMatchObject([{ market_id: BTC, price: '50000.5' }])
    expect(result.rows('markets')).toHaveLength(1)
  })

  it('ends at the same latest tick in every order the ticks arrive in', () => {
    const ticks = [at99, at100, at101, priceTick(BTC, 98, '1')]
    const hashes = new Set(permutations(ticks).map((order) => foldedHash(order)))
    expect(hashes.size).toBe(1)
    expect(given(...ticks).when(at99).rows('latest_ticks')).toMatchObject([{ publish_time: 101 }])
  })
})

function foldedHash(records: readonly ProjectionRecord[]): string {
  const fold = foldIntoMemory()
  fold.fold(records)
  return fold.hash()
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]]
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]))
}
