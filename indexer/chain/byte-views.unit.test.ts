import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { copyAt, matchesAt, putAt, sameBytes, skipBlank, wordBytes } from './byte-views.ts'
import { isLowercaseHex } from './hex-word-decimal.ts'

// Each word-at-a-time helper against the plain byte loop it replaces, at every offset and length.
const bytesArb = fc.uint8Array({ minLength: 0, maxLength: 80 }).map((bytes) => Buffer.from(bytes))
const fewBytes = (alphabet: string) => fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 80 }).map((text) => Buffer.from(text, 'latin1'))

describe('byte views', () => {
  it('matchesAt finds a literal exactly where the bytes equal it', () => {
    fc.assert(
      fc.property(fewBytes('ab'), fewBytes('ab'), fc.nat(), (src, literal, seed) => {
        const at = seed % (src.length + 2)
        const expected = at + literal.length <= src.length && src.subarray(at, at + literal.length).equals(literal)
        expect(matchesAt(src, at, wordBytes(literal))).toBe(expected)
      }),
      { numRuns: 3_000 },
    )
  })

  it('putAt and copyAt write exactly the bytes a byte loop writes, and nothing around them', () => {
    fc.assert(
      fc.property(bytesArb, bytesArb, fc.nat(), fc.nat(), (src, literal, seedAt, seedCount) => {
        const at = seedAt % (src.length + 1)
        const count = seedCount % (src.length - at + 1)
        const out = Buffer.alloc(literal.length + count + 8, 0xee)
        const afterLiteral = putAt(out, 3, wordBytes(literal))
        const end = copyAt(src, at, count, out, afterLiteral)
        expect(end).toBe(3 + literal.length + count)
        const expected = Buffer.concat([Buffer.alloc(3, 0xee), literal, src.subarray(at, at + count), Buffer.alloc(out.length - end, 0xee)])
        expect(out).toEqual(expected)
      }),
      { numRuns: 3_000 },
    )
  })

  it('skipBlank and sameBytes agree with byte loops', () => {
    fc.assert(
      fc.property(fewBytes('0f'), fc.nat(), fc.nat(), fc.constantFrom(0x30, 0x66), (src, seedAt, seedEnd, blank) => {
        const at = seedAt % (src.length + 1)
        const end = at + (seedEnd % (src.length - at + 1))
        let i = at
        while (i < end && src[i] === blank) i++
        expect(skipBlank(src, at, end, blank)).toBe(i)
        const count = Math.floor((end - at) / 2)
        expect(sameBytes(src, at, at + count, count)).toBe(src.subarray(at, at + count).equals(src.subarray(at + count, at + 2 * count)))
      }),
      { numRuns: 3_000 },
    )
  })

  it('isLowercaseHex accepts lowercase hex digits only, at any length and offset', () => {
    fc.assert(
      fc.property(fewBytes('0123456789abcdefABCg"x'), fc.nat(), fc.nat(), (src, seedAt, seedCount) => {
        const at = seedAt % (src.length + 1)
        const count = seedCount % (src.length - at + 2)
        const expected = at + count <= src.length && /^[0-9a-f]*$/.test(src.subarray(at, at + count).toString('latin1'))
        expect(isLowercaseHex(src, at, count)).toBe(expected)
      }),
      { numRuns: 3_000 },
    )
  })
})
