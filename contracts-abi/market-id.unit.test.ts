import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  InvalidMarketIdError,
  InvalidMarketSlugError,
  decodeMarketId,
  encodeMarketId,
} from './market-id.ts'

const BTC_ID = '0x6274632d757364632d7065727000000000000000000000000000000000000000'

const slugArbitrary = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,30}$/)

describe('encodeMarketId', () => {
  it('stores the slug as its ASCII bytes, left-aligned and zero padded to 32 bytes', () => {
    expect(encodeMarketId('btc-usdc-perp')).toBe(BTC_ID)
    expect(encodeMarketId('a')).toBe(`0x61${'0'.repeat(62)}`)
  })

  it('accepts a 31-character slug, leaving one zero byte of padding', () => {
    const slug = `a${'-'.repeat(29)}z`
    expect(encodeMarketId(slug)).toBe(`0x61${'2d'.repeat(29)}7a00`)
  })

  it.each(['', 'BTC-USDC-PERP', '-btc', 'btc_usdc', 'btc usdc', 'é', 'a'.repeat(32)])(
    'rejects the slug %j with an error naming it',
    (slug) => {
      expect(() => encodeMarketId(slug)).toThrow(InvalidMarketSlugError)
      expect(() => encodeMarketId(slug)).toThrow(JSON.stringify(slug))
    },
  )
})

describe('decodeMarketId', () => {
  it('strips the zero padding', () => {
    expect(decodeMarketId(BTC_ID)).toBe('btc-usdc-perp')
  })

  it('reads upper-case hex digits as the same bytes32', () => {
    expect(decodeMarketId(BTC_ID.toUpperCase().replace('0X', '0x'))).toBe('btc-usdc-perp')
  })

  it('inverts encodeMarketId for every valid slug', () => {
    fc.assert(
      fc.property(slugArbitrary, (slug) => {
        expect(decodeMarketId(encodeMarketId(slug))).toBe(slug)
      }),
    )
  })

  it('accepts exactly the ids encodeMarketId produces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const id = `0x${Buffer.from(bytes).toString('hex')}`
        let slug: string | undefined
        try {
          slug = decodeMarketId(id)
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidMarketIdError)
        }
        if (slug !== undefined) expect(encodeMarketId(slug)).toBe(id)
      }),
    )
  })

  it.each([
    ['the zero id', `0x${'0'.repeat(64)}`],
    ['text after the padding', `0x61006200${'0'.repeat(56)}`],
    ['upper-case text', `0x425443${'0'.repeat(58)}`],
    ['a leading dash', `0x2d61${'0'.repeat(60)}`],
    ['32 bytes of text with no padding', `0x${'61'.repeat(32)}`],
    ['a short hex string', '0x6274'],
    ['a missing 0x prefix', BTC_ID.slice(2)],
    ['non-hex digits', `0x${'zz'.repeat(32)}`],
  ])('rejects %s with an error naming the input', (_, id) => {
    expect(() => decodeMarketId(id)).toThrow(InvalidMarketIdError)
    expect(() => decodeMarketId(id)).toThrow(JSON.stringify(id))
  })
})
