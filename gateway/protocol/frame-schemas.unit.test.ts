import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { framesByPath, priceUpdate } from './messages.ts'
import { frameSchemasOf, frameTypesByPath } from './frame-schemas.ts'

describe('frame schemas of a path', () => {
  it('lists the frame types of every path, raw events included', () => {
    const types = Object.fromEntries(Object.entries(frameTypesByPath()).map(([path, set]) => [path, [...set]]))
    expect(types).toEqual({
      prices: ['connected', 'price_update', 'error', 'pong'],
      positions: ['connected', 'positions_update', 'liquidation_warning', 'position_opened', 'position_closed', 'position_liquidated', 'error', 'pong'],
      liquidations: ['connected', 'liquidation_alert', 'error', 'pong'],
      'market-stats': ['connected', 'market_stats', 'funding_rate_update', 'error', 'pong'],
      events: ['connected', 'position_opened', 'position_closed', 'position_liquidated', 'funding_rate_update', 'market_listed', 'chain_reorg', 'error', 'pong'],
    })
  })

  it('returns the very schema objects of messages.ts', () => {
    expect(frameSchemasOf(framesByPath.prices).find((frame) => frame.type === 'price_update')?.schema).toBe(priceUpdate)
  })

  it('refuses a union member whose type is not one string literal', () => {
    expect(() => frameSchemasOf(z.union([priceUpdate, z.object({ type: z.string() })]))).toThrow(TypeError)
    expect(() => frameSchemasOf(z.string())).toThrow(TypeError)
  })
})
