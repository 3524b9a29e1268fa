import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { assertBackoffPolicy, nominalDelayMs, reconnectDelayMs, specBackoff } from './backoff.ts'
import { InvalidClientOptionError } from './client-errors.ts'

describe('reconnect backoff', () => {
  it('doubles from 5 s and stays at 60 s, as the spec advises', () => {
    const nominal = [0, 1, 2, 3, 4, 5, 6, 50, 2000].map((attempt) => nominalDelayMs(attempt, specBackoff))
    expect(nominal).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000, 60_000, 60_000])
  })

  it('draws each delay from the upper (1 − jitter) share of the nominal delay, never above it', () => {
    fc.assert(
      fc.property(fc.nat(3000), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
        const nominal = nominalDelayMs(attempt, specBackoff)
        const delay = reconnectDelayMs(attempt, specBackoff, () => random)
        expect(delay).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - specBackoff.jitter)))
        expect(delay).toBeLessThanOrEqual(nominal)
        expect(delay).toBeLessThanOrEqual(specBackoff.maxDelayMs)
      }),
    )
  })

  it('spreads clients over the whole jitter range', () => {
    expect(reconnectDelayMs(0, specBackoff, () => 0)).toBe(5_000)
    expect(reconnectDelayMs(0, specBackoff, () => 0.5)).toBe(3_750)
    expect(reconnectDelayMs(0, specBackoff, () => 0.999_999)).toBe(2_500)
    expect(reconnectDelayMs(4, specBackoff, () => 0.999_999)).toBe(30_000)
  })

  it('is exactly the nominal delay without jitter', () => {
    const policy = { baseDelayMs: 10, maxDelayMs: 70, jitter: 0 }
    expect([0, 1, 2, 3, 4].map((attempt) => reconnectDelayMs(attempt, policy, Math.random))).toEqual([10, 20, 40, 70, 70])
  })

  it.each([
    [{ baseDelayMs: 0, maxDelayMs: 10, jitter: 0.5 }, 'backoff.baseDelayMs'],
    [{ baseDelayMs: Number.NaN, maxDelayMs: 10, jitter: 0.5 }, 'backoff.baseDelayMs'],
    [{ baseDelayMs: 20, maxDelayMs: 10, jitter: 0.5 }, 'backoff.maxDelayMs'],
    [{ baseDelayMs: 5, maxDelayMs: 10, jitter: 1.5 }, 'backoff.jitter'],
    [{ baseDelayMs: 5, maxDelayMs: 10, jitter: -0.1 }, 'backoff.jitter'],
  ])('rejects the policy %j, naming %s', (policy, option) => {
    expect(() => assertBackoffPolicy(policy)).toThrow(InvalidClientOptionError)
    expect(() => assertBackoffPolicy(policy)).toThrow(option)
  })

  it('accepts the spec policy', () => {
    expect(() => assertBackoffPolicy(specBackoff)).not.toThrow()
  })
})
