import { ZodError } from 'zod'
import { describe, expect, it } from 'vitest'
import { InvalidFrameError } from './client-errors.ts'
import { createFrameParser } from './parse-frame.ts'

const priceUpdate = {
  type: 'price_update',
  market_id: 'btc-usdc-perp',
  symbol: 'BTC/USDC',
  price: '50000.5',
  confidence: '10.25',
  timestamp: 1705330800,
  age_seconds: 1,
}

describe('frame parsing', () => {
  const prices = createFrameParser('prices')

  it('types a valid frame of the path', () => {
    const parsed = prices(JSON.stringify(priceUpdate))
    expect(parsed).toEqual({ kind: 'frame', frame: priceUpdate })
  })

  it('drops fields a newer server added, keeping the frame valid', () => {
    const parsed = prices(JSON.stringify({ ...priceUpdate, venue: 'pyth' }))
    expect(parsed).toEqual({ kind: 'frame', frame: priceUpdate })
  })

  it('tolerates a type the path does not know, as the spec advises', () => {
    expect(prices(JSON.stringify({ type: 'price_update_v2', price: '1' }))).toEqual({
      kind: 'unknown',
      frame: { type: 'price_update_v2', price: '1' },
    })
    expect(prices(JSON.stringify({ type: 'positions_update' })).kind).toBe('unknown')
  })

  it('reports a known type with a malformed field as invalid, keeping the zod error', () => {
    const text = JSON.stringify({ ...priceUpdate, price: 50000.5 })
    const parsed = prices(text)
    if (parsed.kind !== 'invalid') throw new Error(`expected invalid, got ${parsed.kind}`)
    expect(parsed.error).toBeInstanceOf(InvalidFrameError)
    expect(parsed.error).toMatchObject({ path: 'prices', reason: 'schema', text })
    expect(parsed.error.cause).toBeInstanceOf(ZodError)
  })

  it.each([
    ['{"type":', 'not_json'],
    ['[1,2]', 'not_a_frame'],
    ['"price_update"', 'not_a_frame'],
    ['{"type":7}', 'not_a_frame'],
    ['null', 'not_a_frame'],
  ])('reports %s as %s', (text, reason) => {
    const parsed = prices(text)
    expect(parsed.kind === 'invalid' && parsed.error.reason).toBe(reason)
  })

  it('reports a binary frame as invalid', () => {
    const parsed = prices(Buffer.from(JSON.stringify(priceUpdate)))
    expect(parsed.kind === 'invalid' && parsed.error.reason).toBe('binary')
  })

  it('parses the raw events of the events path with their cursor', () => {
    const frame = {
      type: 'funding_rate_update',
      data: { market_id: 'btc-usdc-perp', funding_rate: '0.00015', long_oi: '1100000', short_oi: '950000' },
      timestamp: '2024-01-15T10:00:00Z',
      cursor: 'c-17',
    }
    expect(createFrameParser('events')(JSON.stringify(frame))).toEqual({ kind: 'frame', frame })
  })
})
