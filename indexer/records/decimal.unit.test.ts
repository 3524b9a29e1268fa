import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DecimalFormatError,
  DecimalRangeError,
  DivisionByZeroError,
  WAD,
  canonicalDecimalPattern,
  decimalString,
  divWad,
  formatDecimal,
  formatDecimalPlaces,
  fromPythPrice,
  mulWad,
  parseDecimal,
  unsignedDecimalString,
} from './decimal.ts'

const uint256Max = 2n ** 256n - 1n
const int256 = fc.bigInt({ min: -(2n ** 255n), max: 2n ** 255n - 1n })

const abs = (value: bigint): bigint => (value < 0n ? -value : value)

function thrownBy(action: () => unknown): unknown {
  try {
    action()
  } catch (error) {
    return error
  }
  return undefined
}

/** Canonical decimal strings built digit by digit, independently of formatDecimal. */
const canonicalText = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9]\d{0,40}$/)),
    fc.option(fc.stringMatching(/^\d{0,17}[1-9]$/), { nil: undefined }),
  )
  .map(([negative, whole, fraction]) => `${negative ? '-' : ''}${whole}${fraction === undefined ? '' : `.${fraction}`}`)
  .filter((text) => text !== '-0')

describe('parseDecimal', () => {
  it.each([
    ['12', 12n * WAD],
    ['12.0', 12n * WAD],
    ['-1.5', -15n * 10n ** 17n],
    ['0.001', 10n ** 15n],
    ['0.000000000000000001', 1n],
    ['-0.000000000000000001', -1n],
    ['0', 0n],
    ['-0', 0n],
    ['-0.50', -5n * 10n ** 17n],
    ['1.500000000000000000', 15n * 10n ** 17n],
    ['115792089237316195423570985008687907853269984665640564039457.584007913129639935', uint256Max],
  ])('reads %s exactly', (text, expected) => {
    expect(parseDecimal(text)).toBe(expected)
  })

  it('scales by the given number of decimals', () => {
    expect(parseDecimal('1.5', 6)).toBe(1_500_000n)
    expect(parseDecimal('7', 0)).toBe(7n)
    expect(parseDecimal('-2.5', 40)).toBe(-25n * 10n ** 39n)
  })

  it.each(['1e5', '1E5', ' 1', '1 ', '+1', '', '.5', '1.', '01', '00.5', '--1', '0x10', '1,5', 'NaN', 'Infinity', '1.2.3', '-'])(
    'rejects %j naming the input',
    (text) => {
      const error = thrownBy(() => parseDecimal(text))
      expect(error).toBeInstanceOf(DecimalFormatError)
      expect((error as DecimalFormatError).input).toBe(text)
      expect((error as DecimalFormatError).message).toContain(JSON.stringify(text))
    },
  )

  it('rejects more fractional digits than the scale holds instead of rounding', () => {
    expect(() => parseDecimal('0.0000000000000000001')).toThrow(/more than 18 fractional digits/)
    expect(() => parseDecimal('1.0000000000000000000')).toThrow(DecimalFormatError)
    expect(() => parseDecimal('1.25', 1)).toThrow(/more than 1 fractional digits/)
  })
})

describe('formatDecimal', () => {
  it.each([
    [0n, '0'],
    [WAD, '1'],
    [-WAD, '-1'],
    [15n * 10n ** 17n, '1.5'],
    [-15n * 10n ** 17n, '-1.5'],
    [1n, '0.000000000000000001'],
    [-1n, '-0.000000000000000001'],
    [50_000n * WAD + WAD / 2n, '50000.5'],
    [uint256Max, '115792089237316195423570985008687907853269984665640564039457.584007913129639935'],
  ])('writes %s as %s', (value, text) => {
    expect(formatDecimal(value)).toBe(text)
  })

  it('writes in the scale it is given', () => {
    expect(formatDecimal(1_500_000n, 6)).toBe('1.5')
    expect(formatDecimal(-7n, 0)).toBe('-7')
  })

  it('always writes the canonical form', () => {
    fc.assert(
      fc.property(int256, (value) => {
        const text = formatDecimal(value)
        expect(text).toMatch(canonicalDecimalPattern)
        expect(text).not.toBe('-0')
      }),
    )
  })

  it('round-trips every integer through its text', () => {
    fc.assert(fc.property(int256, (value) => {
      expect(parseDecimal(formatDecimal(value))).toBe(value)
    }))
    fc.assert(fc.property(fc.bigInt(), fc.integer({ min: 0, max: 30 }), (value, decimals) => {
      expect(parseDecimal(formatDecimal(value, decimals), decimals)).toBe(value)
    }))
  })

  it('round-trips every canonical text through its integer', () => {
    fc.assert(fc.property(canonicalText, (text) => {
      expect(formatDecimal(parseDecimal(text))).toBe(text)
    }))
  })

  it('reads trailing fractional zeros as the same value as the canonical text', () => {
    fc.assert(
      fc.property(canonicalText, fc.integer({ min: 1, max: 17 }), (text, zeros) => {
        const padded = `${text}${text.includes('.') ? '' : '.'}${'0'.repeat(zeros)}`
        fc.pre(padded.split('.')[1]!.length <= 18)
        expect(formatDecimal(parseDecimal(padded))).toBe(text)
      }),
    )
  })
})

describe('formatDecimalPlaces', () => {
  it.each([
    ['1.005', 2, '1.01'],
    ['-1.005', 2, '-1.01'],
    ['1.004999', 2, '1'],
    ['0.5', 0, '1'],
    ['-0.5', 0, '-1'],
    ['-0.4', 0, '0'],
    ['0.000000000000000001', 2, '0'],
    ['1.5', 18, '1.5'],
    ['50000.49999', 1, '50000.5'],
    ['9.995', 2, '10'],
  ])('rounds %s to %i places as %s', (text, places, expected) => {
    expect(formatDecimalPlaces(parseDecimal(text), places)).toBe(expected)
  })

  it('rounds half away from zero to the nearest step and stays canonical', () => {
    fc.assert(
      fc.property(int256, fc.integer({ min: 0, max: 18 }), (value, places) => {
        const text = formatDecimalPlaces(value, places)
        expect(text).toMatch(canonicalDecimalPattern)
        expect((text.split('.')[1] ?? '').length).toBeLessThanOrEqual(places)
        const step = 10n ** BigInt(18 - places)
        const rounded = parseDecimal(text)
        expect(2n * abs(rounded - value) <= step).toBe(true)
        // Half away from zero: a tie moves the magnitude up, never down.
        if (2n * abs(rounded - value) === step) expect(abs(rounded) > abs(value)).toBe(true)
      }),
    )
  })

  it('refuses more places than the scale has', () => {
    expect(() => formatDecimalPlaces(WAD, 19)).toThrow(DecimalRangeError)
    expect(() => formatDecimalPlaces(WAD, -1)).toThrow(DecimalRangeError)
  })
})

describe('mulWad and divWad', () => {
  it('multiply and divide WAD amounts', () => {
    expect(mulWad(parseDecimal('1.5'), parseDecimal('2'))).toBe(parseDecimal('3'))
    expect(mulWad(parseDecimal('50000'), parseDecimal('0.05'))).toBe(parseDecimal('2500'))
    expect(divWad(parseDecimal('3'), parseDecimal('2'))).toBe(parseDecimal('1.5'))
    expect(divWad(WAD, 3n * WAD)).toBe(parseDecimal('0.333333333333333333'))
  })

  it('truncate toward zero, like Solidity', () => {
    expect(mulWad(-1n, 1n)).toBe(0n)
    expect(mulWad(-3n, WAD / 2n)).toBe(-1n)
    expect(divWad(-WAD, 3n * WAD)).toBe(parseDecimal('-0.333333333333333333'))
    expect(divWad(2n * WAD, -3n * WAD)).toBe(parseDecimal('-0.666666666666666666'))
  })

  it('are odd functions: negating an operand negates the result exactly', () => {
    fc.assert(
      fc.property(int256, int256, (a, b) => {
        expect(mulWad(-a, b)).toBe(-mulWad(a, b))
        fc.pre(b !== 0n)
        expect(divWad(-a, b)).toBe(-divWad(a, b))
      }),
    )
  })

  it('leave a remainder smaller than one unit, on the side of zero', () => {
    fc.assert(
      fc.property(int256, int256, (a, b) => {
        const product = a * b
        const remainder = product - mulWad(a, b) * WAD
        expect(remainder === 0n || remainder < 0n === product < 0n).toBe(true)
        expect(abs(remainder) < WAD).toBe(true)
      }),
    )
  })

  it('refuses to divide by zero', () => {
    expect(() => divWad(WAD, 0n)).toThrow(DivisionByZeroError)
  })
})

describe('fromPythPrice', () => {
  it.each([
    [5_000_050_000_000n, -8, '50000.5'],
    [-123n, -2, '-1.23'],
    [1n, -18, '0.000000000000000001'],
    [7n, 0, '7'],
    [1n, 18, '1000000000000000000'],
    [0n, -8, '0'],
  ])('converts %s·10^%i exactly to %s', (price, expo, expected) => {
    expect(formatDecimal(fromPythPrice(price, expo))).toBe(expected)
  })

  it('is exact for every exponent it accepts', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer({ min: -18, max: 18 }), (price, expo) => {
        const wad = fromPythPrice(price, expo)
        if (expo <= 0) expect(wad * 10n ** BigInt(-expo)).toBe(price * WAD)
        else expect(wad).toBe(price * 10n ** BigInt(expo) * WAD)
      }),
    )
  })

  it.each([-19, 19, 0.5, Number.NaN])('refuses the exponent %s', (expo) => {
    expect(() => fromPythPrice(1n, expo)).toThrow(DecimalRangeError)
  })
})

describe('decimalString', () => {
  it('accepts canonical decimals', () => {
    fc.assert(fc.property(canonicalText, (text) => {
      expect(decimalString.safeParse(text).success).toBe(true)
    }))
  })

  it.each(['1.50', '1e5', ' 1', '-0', '+1', '1.', '.5', '01', '0.0000000000000000001', ''])('rejects %j', (text) => {
    const result = decimalString.safeParse(text)
    expect(result.success).toBe(false)
    expect(result.error?.issues[0]?.message).toMatch(/canonical decimal string/)
  })

  it('rejects numbers, which cannot hold a uint256 amount', () => {
    expect(decimalString.safeParse(1.5).success).toBe(false)
  })

  it('has an unsigned variant for uint256 amounts', () => {
    expect(unsignedDecimalString.safeParse('1.5').success).toBe(true)
    expect(unsignedDecimalString.safeParse('-1.5').success).toBe(false)
  })
})
