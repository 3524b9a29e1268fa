import { describe, expect, it } from 'vitest'
import { markets } from '../../contracts-abi/markets.ts'
import { devnetFeeds } from './hermes-server.ts'
import { createRandomWalk } from './price-paths.ts'
import { PriceSourceError, pricePathSource } from './trading-simulator-prices.ts'

describe('price source from a price path', () => {
  it('gives each market the WAD value of its feed price, exactly', async () => {
    const walk = createRandomWalk({ feeds: devnetFeeds, seed: 1, startTime: 0 })
    const btcFeed = markets[0].pythFeedId
    walk.set(btcFeed, 6_512_345_678_901n)
    const prices = await pricePathSource(walk, markets).latest()
    expect(prices.get('btc-usdc-perp')).toBe(65_123_456_789_010_000_000_000n)
    expect(prices.get('eth-usdc-perp')).toBe(3_500n * 10n ** 18n)
    expect(prices.get('sol-usdc-perp')).toBe(150n * 10n ** 18n)
    expect(prices.size).toBe(3)
  })

  it('follows the path as it moves, and leaves out markets whose feed the path lacks', async () => {
    const walk = createRandomWalk({ feeds: devnetFeeds.slice(0, 1), seed: 1, startTime: 0 })
    const source = pricePathSource(walk, markets)
    const before = (await source.latest()).get('btc-usdc-perp')
    walk.next()
    const after = await source.latest()
    expect(after.get('btc-usdc-perp')).not.toBe(before)
    expect([...after.keys()]).toEqual(['btc-usdc-perp'])
  })

  it('refuses two markets on one feed, whose prices it could not tell apart', () => {
    const walk = createRandomWalk({ feeds: devnetFeeds, seed: 1, startTime: 0 })
    const twins = [markets[0], { id: 'btc-twin-perp', pythFeedId: markets[0].pythFeedId.toUpperCase().replace('0X', '0x') }]
    expect(() => pricePathSource(walk, twins)).toThrow(PriceSourceError)
  })
})
