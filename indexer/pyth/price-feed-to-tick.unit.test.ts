import { describe, expect, it } from 'vitest'
import { tickRecord } from '../records/schemas.ts'
import { normalizePythFeedId, priceFeedToTick, PythPriceError } from './price-feed-to-tick.ts'

const btc = '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43'
const base = {
  feedId: btc,
  price: '6395282153102',
  conf: '2352889859',
  expo: -8,
  publishTime: 1_718_900_000,
  marketId: 'btc-usdc-perp',
}

describe('priceFeedToTick', () => {
  it('maps a Pyth price to a valid price_tick record with exact decimals', () => {
    const tick = priceFeedToTick(base)
    expect(tick).toEqual({
      v: 1,
      id: `pyth:${btc}:1718900000`,
      type: 'price_tick',
      market_id: 'btc-usdc-perp',
      data: {
        feed_id: btc,
        price: '63952.82153102',
        confidence: '23.52889859',
        expo: -8,
        price_raw: '6395282153102',
        conf_raw: '2352889859',
        publish_time: 1_718_900_000,
      },
    })
    expect(tickRecord.safeParse(tick).success).toBe(true)
  })

  it('gives the same record whether the feed id comes bare, prefixed or uppercase', () => {
    const bare = priceFeedToTick({ ...base, feedId: btc.slice(2) })
    const upper = priceFeedToTick({ ...base, feedId: `0x${btc.slice(2).toUpperCase()}` })
    expect(bare).toEqual(priceFeedToTick(base))
    expect(upper).toEqual(priceFeedToTick(base))
  })

  it('keeps negative prices, zero confidence and positive exponents exact and canonical', () => {
    const tick = priceFeedToTick({ ...base, price: '-150', conf: '0', expo: 2 })
    expect(tick.data).toMatchObject({ price: '-15000', confidence: '0', price_raw: '-150', conf_raw: '0' })
    const tiny = priceFeedToTick({ ...base, price: '1', conf: '1', expo: -18 })
    expect(tiny.data).toMatchObject({ price: '0.000000000000000001', confidence: '0.000000000000000001' })
    expect(tickRecord.safeParse(tick).success && tickRecord.safeParse(tiny).success).toBe(true)
  })

  it('writes raw integers canonically even when the source pads them', () => {
    const tick = priceFeedToTick({ ...base, price: '000123', conf: '007' })
    expect(tick.data).toMatchObject({ price_raw: '123', conf_raw: '7', price: '0.00000123', confidence: '0.00000007' })
  })

  it('rejects malformed inputs, naming the field', () => {
    expect(() => priceFeedToTick({ ...base, feedId: '0x1234' })).toThrow(/feed id: "0x1234"/)
    expect(() => priceFeedToTick({ ...base, price: '1.5' })).toThrow(/price is not an integer string/)
    expect(() => priceFeedToTick({ ...base, price: (2n ** 63n).toString() })).toThrow(/price is out of range/)
    expect(() => priceFeedToTick({ ...base, conf: '-1' })).toThrow(/conf is out of range/)
    expect(() => priceFeedToTick({ ...base, expo: -19 })).toThrow(/expo/)
    expect(() => priceFeedToTick({ ...base, publishTime: 1.5 })).toThrow(/publish_time/)
    expect(() => priceFeedToTick({ ...base, price: '1e3' })).toThrow(PythPriceError)
  })

  it('normalizes feed ids to 0x and lowercase', () => {
    expect(normalizePythFeedId(btc.slice(2).toUpperCase())).toBe(btc)
  })
})
