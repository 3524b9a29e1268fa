import { describe, expect, it } from 'vitest'
import { InvalidClientOptionError, InvalidSubscriptionError } from './client-errors.ts'
import { parseBaseUrl, subscriptionUrl, validCursor, validMarketId, validUserAddress } from './subscription-url.ts'

const base = parseBaseUrl('ws://localhost:8000/api/v1/ws')

describe('subscription URLs', () => {
  it('builds the spec paths under the base URL', () => {
    expect(subscriptionUrl(base, 'prices', 'btc-usdc-perp', undefined)).toBe('ws://localhost:8000/api/v1/ws/prices/btc-usdc-perp')
    expect(subscriptionUrl(base, 'positions', '0x742d35cc6634c0532925a3b844bc454e4438f44e', undefined)).toBe(
      'ws://localhost:8000/api/v1/ws/positions/0x742d35cc6634c0532925a3b844bc454e4438f44e',
    )
    expect(subscriptionUrl(base, 'liquidations', undefined, undefined)).toBe('ws://localhost:8000/api/v1/ws/liquidations')
    expect(subscriptionUrl(base, 'market-stats', 'eth-usdc-perp', undefined)).toBe('ws://localhost:8000/api/v1/ws/market-stats/eth-usdc-perp')
    expect(subscriptionUrl(base, 'events', undefined, undefined)).toBe('ws://localhost:8000/api/v1/ws/events')
  })

  it('resumes with ?from=<cursor>, escaped', () => {
    expect(subscriptionUrl(base, 'events', undefined, 'p0:42')).toBe('ws://localhost:8000/api/v1/ws/events?from=p0%3A42')
    expect(new URL(subscriptionUrl(base, 'events', undefined, 'a&b=c d')).searchParams.get('from')).toBe('a&b=c d')
  })

  it('ignores a trailing slash on the base and keeps its query', () => {
    const withSlash = parseBaseUrl('wss://api.example.org/api/v1/ws/?token=t')
    expect(subscriptionUrl(withSlash, 'events', undefined, 'c1')).toBe('wss://api.example.org/api/v1/ws/events?token=t&from=c1')
  })

  it('refuses a base URL that is not ws:// or wss://', () => {
    expect(() => parseBaseUrl('http://localhost:8000/api/v1/ws')).toThrow(InvalidClientOptionError)
    expect(() => parseBaseUrl('localhost:8000')).toThrow(InvalidClientOptionError)
    expect(() => parseBaseUrl('not a url')).toThrow('baseUrl')
  })

  it('refuses market ids and addresses the server cannot know, lowercasing checksummed addresses', () => {
    expect(validMarketId('btc-usdc-perp')).toBe('btc-usdc-perp')
    expect(() => validMarketId('BTC/USDC')).toThrow(InvalidSubscriptionError)
    expect(() => validMarketId('../liquidations')).toThrow('invalid market id')
    expect(validUserAddress('0x742d35Cc6634C0532925a3b844Bc454e4438f44e')).toBe('0x742d35cc6634c0532925a3b844bc454e4438f44e')
    expect(() => validUserAddress('0x742d35cc...')).toThrow('invalid user address')
    expect(validCursor(undefined)).toBeUndefined()
    expect(() => validCursor('')).toThrow('invalid cursor')
  })
})
