import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SingleBlockTooLargeError, createAdaptiveRange, spanOf } from './adaptive-range.ts'

const tooLarge = new Error('query returned more than 10000 results')

describe('createAdaptiveRange', () => {
  it('starts at the initial span and never passes the limit block', () => {
    const sizer = createAdaptiveRange({ initialSpan: 100, maxSpan: 1_000, targetLogs: 5_000 })
    expect(sizer.next(10, 1_000)).toEqual({ from: 10, to: 109 })
    expect(sizer.next(990, 1_000)).toEqual({ from: 990, to: 1_000 })
  })

  it('doubles the span while answers stay under the target, up to the maximum', () => {
    const sizer = createAdaptiveRange({ initialSpan: 100, maxSpan: 500, targetLogs: 5_000 })
    const spans: number[] = []
    for (let i = 0; i < 5; i++) {
      sizer.succeeded(sizer.next(0, 1e9), 10)
      spans.push(sizer.span())
    }
    expect(spans).toEqual([200, 400, 500, 500, 500])
  })

  it('keeps the span when an answer reaches the target, and halves it far above', () => {
    const sizer = createAdaptiveRange({ initialSpan: 100, maxSpan: 10_000, targetLogs: 5_000 })
    sizer.succeeded(sizer.next(0, 1e9), 6_000)
    expect(sizer.span()).toBe(100)
    sizer.succeeded(sizer.next(0, 1e9), 10_001)
    expect(sizer.span()).toBe(50)
  })

  it('does not grow on an answer for a range shorter than the span (the last one before the limit)', () => {
    const sizer = createAdaptiveRange({ initialSpan: 100, maxSpan: 10_000, targetLogs: 5_000 })
    sizer.succeeded(sizer.next(0, 9), 0)
    expect(sizer.span()).toBe(100)
  })

  it('splits a refused range into two halves that cover it exactly, and halves the span', () => {
    const sizer = createAdaptiveRange({ initialSpan: 100, maxSpan: 10_000, targetLogs: 5_000 })
    expect(sizer.split({ from: 0, to: 99 }, tooLarge)).toEqual([
      { from: 0, to: 49 },
      { from: 50, to: 99 },
    ])
    expect(sizer.span()).toBe(50)
    expect(sizer.split({ from: 7, to: 9 }, tooLarge)).toEqual([
      { from: 7, to: 7 },
      { from: 8, to: 9 },
    ])
  })

  it('never grows back to a span the provider refused', () => {
    const sizer = createAdaptiveRange({ initialSpan: 1_000, maxSpan: 100_000, targetLogs: 5_000 })
    sizer.split({ from: 0, to: 1_999 }, tooLarge)
    for (let i = 0; i < 20; i++) sizer.succeeded(sizer.next(0, 1e9), 0)
    expect(sizer.span()).toBe(1_999)
  })

  it('fails with the block number when a single block is still too large', () => {
    const sizer = createAdaptiveRange({ initialSpan: 1, maxSpan: 10, targetLogs: 5_000 })
    let error: unknown
    try {
      sizer.split({ from: 123_456, to: 123_456 }, tooLarge)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(SingleBlockTooLargeError)
    expect((error as SingleBlockTooLargeError).block).toBe(123_456)
    expect((error as Error).message).toMatch(/block 123456 alone/)
    expect((error as Error).cause).toBe(tooLarge)
  })

  it('rejects a span that is not a positive integer', () => {
    expect(() => createAdaptiveRange({ initialSpan: 0, maxSpan: 10, targetLogs: 1 })).toThrow(/initialSpan/)
    expect(() => createAdaptiveRange({ initialSpan: 1, maxSpan: 1.5, targetLogs: 1 })).toThrow(/maxSpan/)
  })

  it('keeps every span between 1 and the maximum under any sequence of answers and splits', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('ok' as const), logs: fc.nat(50_000) }),
      fc.record({ kind: fc.constant('split' as const) }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 5_000 }), fc.array(step), (initial, max, steps) => {
        const sizer = createAdaptiveRange({ initialSpan: initial, maxSpan: max, targetLogs: 5_000 })
        for (const s of steps) {
          const range = sizer.next(1_000, 1e9)
          if (s.kind === 'ok') sizer.succeeded(range, s.logs)
          else if (spanOf(range) > 1) {
            const [a, b] = sizer.split(range, tooLarge)
            expect(a.from).toBe(range.from)
            expect(b.from).toBe(a.to + 1)
            expect(b.to).toBe(range.to)
          }
          expect(sizer.span()).toBeGreaterThanOrEqual(1)
          expect(sizer.span()).toBeLessThanOrEqual(max)
        }
      }),
    )
  })
})
