import { describe, expect, it } from 'vitest'
import { decodePath, normalizeAddress } from './request-text.ts'

describe('normalizeAddress', () => {
  it('reduces an IPv4-mapped IPv6 address, long or short form, to the IPv4 text', () => {
    expect(normalizeAddress('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe('127.0.0.1')
    expect(normalizeAddress('0000:0000:0000:0000:0000:FFFF:c0a8:0a0b')).toBe('192.168.10.11')
    expect(normalizeAddress('0000:0000:0000:0000:0000:ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(normalizeAddress('::ffff:10.1.2.3')).toBe('10.1.2.3')
  })

  it('keeps plain IPv4 and IPv6 addresses as they are', () => {
    expect(normalizeAddress('127.0.0.1')).toBe('127.0.0.1')
    expect(normalizeAddress('2001:db8::1')).toBe('2001:db8::1')
    expect(normalizeAddress('0000:0000:0000:0000:0000:0000:0000:0001')).toBe('0000:0000:0000:0000:0000:0000:0000:0001')
  })
})

describe('decodePath', () => {
  it('percent-decodes the path, and answers undefined for a malformed escape', () => {
    expect(decodePath('/ws/prices/btc%2Dusdc-perp')).toBe('/ws/prices/btc-usdc-perp')
    expect(decodePath('/ws/%E0%A4%A')).toBeUndefined()
  })
})
