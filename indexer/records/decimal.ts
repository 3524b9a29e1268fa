// Exact fixed-point money: every amount is a bigint scaled by 10^18 ("WAD", as on chain), and crosses
// the log as a canonical decimal string. No float is involved anywhere: a JS number cannot hold a
// uint256 amount, and a float rounding inside a fold would make replay drift.
import { z } from 'zod'

export const WAD_DECIMALS = 18
/** 1.0 in WAD units. */
export const WAD = 10n ** 18n

/**
 * The canonical text of a WAD amount: no exponent, no '+', no leading zeros, no trailing fractional
 * zeros, no trailing '.', "0" for zero and never "-0", at most 18 fractional digits (so every
 * canonical string is exactly a WAD integer). One value has exactly one canonical text, so records
 * compare and hash byte for byte.
 */
export const canonicalDecimalPattern = /^(?!-0$)-?(0|[1-9]\d*)(\.\d{0,17}[1-9])?$/
/** The canonical text of a non-negative WAD amount (the chain's uint256 fields). */
export const canonicalUnsignedDecimalPattern = /^(0|[1-9]\d*)(\.\d{0,17}[1-9])?$/

/** What parseDecimal accepts: a plain decimal, optionally with trailing fractional zeros. */
const plainDecimalPattern = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/

export class DecimalFormatError extends Error {
  override readonly name = 'DecimalFormatError'
  constructor(
    readonly input: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`not a plain decimal (${reason}): ${JSON.stringify(input)}`, options)
  }
}

export class DecimalRangeError extends RangeError {
  override readonly name = 'DecimalRangeError'
}

// Powers of ten up to 10^36, computed once: the fold parses several amounts per record.
const powersOfTen: readonly bigint[] = Array.from({ length: 37 }, (_, i) => 10n ** BigInt(i))

/** Throws unless `decimals` is a non-negative integer: a scale every amount function can use. */
function checkDecimals(decimals: number): void {
  if (!Number.isInteger(decimals) || decimals < 0) {
    throw new DecimalRangeError(`decimals must be a non-negative integer, got ${decimals}`)
  }
}

function scaleOf(decimals: number): bigint {
  checkDecimals(decimals)
  return powersOfTen[decimals] ?? 10n ** BigInt(decimals)
}

// "0" repeated 0 to 36 times: the zeros that scale a parsed amount's digits.
const zeroRuns: readonly string[] = Array.from({ length: 37 }, (_, i) => '0'.repeat(i))

/**
 * The exact fixed-point integer of a plain decimal string ("-1.5", "0.001", "12", "12.0").
 * Rejects exponents, whitespace, '+', leading zeros, a bare or trailing '.', the empty string and
 * more fractional digits than `decimals` (which could not be represented without rounding).
 */
export function parseDecimal(text: string, decimals: number = WAD_DECIMALS): bigint {
  checkDecimals(decimals)
  if (typeof text !== 'string') throw new DecimalFormatError(String(text), 'not a string')
  if (!plainDecimalPattern.test(text)) throw new DecimalFormatError(text, 'expected digits with an optional "-" and "."')
  // The digits with the point taken out and the fraction padded to `decimals`, parsed once: a single
  // BigInt of the scaled digits, about twice as fast as scaling the whole part and adding the fraction.
  const point = text.indexOf('.')
  const fractionDigits = point < 0 ? 0 : text.length - point - 1
  if (fractionDigits > decimals) {
    throw new DecimalFormatError(text, `more than ${decimals} fractional digits`)
  }
  const digits = point < 0 ? text : text.slice(0, point) + text.slice(point + 1)
  const padding = decimals - fractionDigits
  return BigInt(digits + (zeroRuns[padding] ?? '0'.repeat(padding)))
}

/**
 * The canonical decimal text of a fixed-point integer (see canonicalDecimalPattern). Works on the
 * digit string rather than dividing by 10^decimals: this runs several times per indexed event, and
 * string slicing is several times faster than bigint division and modulo.
 */
export function formatDecimal(value: bigint, decimals: number = WAD_DECIMALS): string {
  checkDecimals(decimals)
  const negative = value < 0n
  const digits = (negative ? -value : value).toString()
  const cut = digits.length - decimals
  const whole = cut > 0 ? digits.slice(0, cut) : '0'
  const fraction = cut > 0 ? digits.slice(cut) : digits.padStart(decimals, '0')
  let end = fraction.length
  while (end > 0 && fraction.charCodeAt(end - 1) === 48) end--
  const text = end === 0 ? whole : `${whole}.${fraction.slice(0, end)}`
  return negative ? `-${text}` : text
}

/**
 * The canonical text of `value` rounded half away from zero to at most `places` fractional digits,
 * for display. Never used for stored values, which keep every digit.
 */
export function formatDecimalPlaces(value: bigint, places: number, decimals: number = WAD_DECIMALS): string {
  if (!Number.isInteger(places) || places < 0 || places > decimals) {
    throw new DecimalRangeError(`places must be an integer from 0 to ${decimals}, got ${places}`)
  }
  const step = scaleOf(decimals - places)
  const magnitude = value < 0n ? -value : value
  const quotient = magnitude / step
  const rounded = 2n * (magnitude % step) >= step ? quotient + 1n : quotient
  return formatDecimal(value < 0n ? -rounded : rounded, places)
}

/** a·b of two WAD amounts, truncated toward zero (as Solidity's and bigint division do). */
export function mulWad(a: bigint, b: bigint): bigint {
  return (a * b) / WAD
}

export class DivisionByZeroError extends RangeError {
  override readonly name = 'DivisionByZeroError'
}

/** a/b of two WAD amounts, truncated toward zero. */
export function divWad(a: bigint, b: bigint): bigint {
  if (b === 0n) throw new DivisionByZeroError(`divWad(${a}, 0): division by zero`)
  return (a * WAD) / b
}

/**
 * The WAD value of a Pyth price (an integer and a decimal exponent: price·10^expo). Exact for every
 * exponent from -18 to 18, since 18 + expo is then a non-negative power of ten.
 */
export function fromPythPrice(price: bigint, expo: number): bigint {
  if (!Number.isInteger(expo) || expo < -WAD_DECIMALS || expo > WAD_DECIMALS) {
    throw new DecimalRangeError(`Pyth exponent must be an integer from -18 to 18, got ${expo}`)
  }
  return price * 10n ** BigInt(WAD_DECIMALS + expo)
}

const canonicalDecimalMessage =
  'expected a canonical decimal string such as "-1.5" (no exponent, "+", whitespace, leading or trailing zeros, "-0", or more than 18 fractional digits)'

/** A signed amount on the log (an int256 WAD on chain). */
export const decimalString = z
  .string()
  .regex(canonicalDecimalPattern, { error: canonicalDecimalMessage })
  .meta({ description: 'An exact signed amount as a canonical decimal string.' })

/** A non-negative amount on the log (a uint256 WAD on chain). */
export const unsignedDecimalString = z
  .string()
  .regex(canonicalUnsignedDecimalPattern, { error: `${canonicalDecimalMessage}, and not negative` })
  .meta({ description: 'An exact non-negative amount as a canonical decimal string.' })
