import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatDecimal } from '../records/decimal.ts'
import { writeInteger, writeSmallUint, writeWadDecimal } from './hex-word-decimal.ts'

const TWO_256 = 1n << 256n
const wordOf = (value: bigint): Buffer => Buffer.from((value < 0n ? value + TWO_256 : value).toString(16).padStart(64, '0'), 'latin1')

function written(write: (out: Buffer) => number): string | undefined {
  const out = Buffer.alloc(100)
  const end = write(out)
  return end < 0 ? undefined : out.subarray(0, end).toString('latin1')
}

const uint256 = fc.oneof(
  fc.bigInt(0n, TWO_256 - 1n),
  fc.bigInt(0n, 10n ** 30n),
  fc.bigInt(0n, 2n ** 60n),
  fc.integer({ min: 0, max: 40 }).map((digits) => 10n ** BigInt(digits)),
  fc.constantFrom(0n, 1n, 10n ** 18n - 1n, 10n ** 18n, 10n ** 18n + 1n, 2n ** 255n - 1n, 2n ** 255n, TWO_256 - 1n),
)
const int256 = fc.oneof(
  fc.bigInt(-(2n ** 255n), 2n ** 255n - 1n),
  fc.bigInt(-(10n ** 30n), 10n ** 30n),
  fc.integer({ min: 0, max: 40 }).map((digits) => -(10n ** BigInt(digits))),
  fc.constantFrom(0n, -1n, 1n, -(10n ** 18n), -(2n ** 255n), 2n ** 255n - 1n, -(2n ** 128n)),
)

describe('writeWadDecimal', () => {
  it('writes formatDecimal of any uint256 word', () => {
    fc.assert(
      fc.property(uint256, (value) => {
        expect(written((out) => writeWadDecimal(wordOf(value), 0, false, out, 0))).toBe(formatDecimal(value))
      }),
      { numRuns: 5_000 },
    )
  })

  it('writes formatDecimal of any int256 word read as two\'s complement', () => {
    fc.assert(
      fc.property(int256, (value) => {
        expect(written((out) => writeWadDecimal(wordOf(value), 0, true, out, 0))).toBe(formatDecimal(value))
      }),
      { numRuns: 5_000 },
    )
  })

  it('reads the word where it is and writes where it is told', () => {
    const src = Buffer.concat([Buffer.from('xx'), wordOf(-1_500_000_000_000_000_000n), Buffer.from('yy')])
    const out = Buffer.alloc(100, 0x2a)
    const end = writeWadDecimal(src, 2, true, out, 3)
    expect(out.subarray(0, end + 1).toString('latin1')).toBe('***-1.5*')
  })

  it('refuses a word with any digit that is not lowercase hex', () => {
    fc.assert(
      fc.property(uint256, fc.integer({ min: 0, max: 63 }), fc.constantFrom(...'ABCDEFgxX" \u0000'), fc.boolean(), (value, at, bad, signed) => {
        const word = wordOf(value)
        word[at] = bad.charCodeAt(0)
        expect(writeWadDecimal(word, 0, signed, Buffer.alloc(100), 0)).toBe(-1)
      }),
      { numRuns: 2_000 },
    )
  })
})

describe('writeSmallUint', () => {
  it('writes a word below 2^53 as its decimal integer and refuses any larger one', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt(0n, 2n ** 53n - 1n), fc.bigInt(2n ** 53n, TWO_256 - 1n), fc.bigInt(2n ** 53n, 2n ** 64n), fc.constantFrom(0n, 2n ** 52n, 2n ** 53n - 1n, 2n ** 53n)), (value) => {
        const text = written((out) => writeSmallUint(wordOf(value), 0, out, 0))
        expect(text).toBe(value < 2n ** 53n ? value.toString() : undefined)
      }),
      { numRuns: 2_000 },
    )
  })

  it('refuses a non-hex digit among the low digits', () => {
    const word = wordOf(1_700_000_000n)
    word[60] = 0x47
    expect(writeSmallUint(word, 0, Buffer.alloc(40), 0)).toBe(-1)
  })
})

describe('writeInteger', () => {
  it('writes any safe non-negative integer as String() does', () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.constantFrom(0, 9, 10, 99, 100, Number.MAX_SAFE_INTEGER)), (value) => {
        expect(written((out) => writeInteger(value, out, 0))).toBe(String(value))
      }),
    )
  })
})
