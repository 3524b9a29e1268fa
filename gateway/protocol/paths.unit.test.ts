import { describe, expect, it } from 'vitest'
import { parseWsPath, resumeParameter, subjectOf } from './paths.ts'

const MIXED_CASE = '0x742d35Cc6634C0532925a3b844Bc454e4438f44e'

describe('WebSocket paths', () => {
  it('routes every endpoint of the API', () => {
    expect(parseWsPath('/api/v1/ws/prices/btc-usdc-perp')).toEqual({ ok: true, route: { kind: 'prices', marketId: 'btc-usdc-perp' } })
    expect(parseWsPath('/api/v1/ws/market-stats/eth-usdc-perp')).toEqual({ ok: true, route: { kind: 'market-stats', marketId: 'eth-usdc-perp' } })
    expect(parseWsPath('/api/v1/ws/liquidations')).toEqual({ ok: true, route: { kind: 'liquidations' } })
    expect(parseWsPath('/api/v1/ws/events')).toEqual({ ok: true, route: { kind: 'events' } })
  })

  it('accepts a user address in any case and answers it in lowercase', () => {
    const parsed = parseWsPath(`/api/v1/ws/positions/${MIXED_CASE}`)
    expect(parsed).toEqual({ ok: true, route: { kind: 'positions', userAddress: MIXED_CASE.toLowerCase() } })
    expect(parsed.ok && subjectOf(parsed.route)).toBe(MIXED_CASE.toLowerCase())
  })

  it.each(['0x742d35cc', 'alice', `${MIXED_CASE}00`, '0X742d35Cc6634C0532925a3b844Bc454e4438f44e', '0xzz2d35cc6634c0532925a3b844bc454e4438f44e'])(
    'answers the malformed address %j with 400 before any upgrade',
    (address) => {
      expect(parseWsPath(`/api/v1/ws/positions/${address}`)).toMatchObject({ ok: false, status: 400 })
    },
  )

  it.each([
    '/',
    '/api/v1/ws',
    '/api/v1/ws/',
    '/api/v1/ws/prices',
    '/api/v1/ws/prices/',
    '/api/v1/ws/positions',
    '/api/v1/ws/liquidations/btc-usdc-perp',
    '/api/v1/ws/events/extra',
    '/api/v1/ws/prices/btc-usdc-perp/extra',
    '/api/v1/ws/trades/btc-usdc-perp',
    '/api/v2/ws/prices/btc-usdc-perp',
  ])('answers the unknown path %j with 404', (path) => {
    expect(parseWsPath(path)).toMatchObject({ ok: false, status: 404 })
  })

  it('ignores one trailing slash', () => {
    expect(parseWsPath('/api/v1/ws/liquidations/')).toEqual({ ok: true, route: { kind: 'liquidations' } })
  })

  it('reads the resume cursor from the query', () => {
    expect(resumeParameter('from=1.5-3')).toBe('1.5-3')
    expect(resumeParameter('x=1&from=1.0')).toBe('1.0')
    expect(resumeParameter('')).toBeUndefined()
  })
})
