// A 32-byte ABI word, as the 64 hex digits of an eth_getLogs answer, written straight into an output
// buffer as the canonical WAD decimal text formatDecimal gives for it (records/decimal.ts), with no
// BigInt and no string on the way: the backfill's answer reader (logs-answer-reader.ts) writes five
// or six of these per event. Pure: bytes in, bytes out.
//
// The word's digits are read six at a time (24 bits) into limbs of seven decimal digits: a limb
// times 2^24 plus a carry stays below 2^53, so every step is exact in a double. A negative int256
// is read as its two's complement: the digits flipped, plus one.
import { readView, skipBlank } from './byte-views.ts'

/** Each byte's value as a lowercase hex digit, or -1. Uppercase is left to the parsed path. */
export const HEX_DIGIT: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1)
  for (let i = 0; i < 10; i++) table[0x30 + i] = i
  for (let i = 0; i < 6; i++) table[0x61 + i] = 10 + i
  return table
})()

/** 1 where both bytes of a big-endian uint16 are lowercase hex digits: checks two bytes per lookup. */
const HEX_PAIR: Uint8Array = (() => {
  const table = new Uint8Array(65536)
  for (let hi = 0; hi < 256; hi++) {
    if (HEX_DIGIT[hi]! < 0) continue
    for (let lo = 0; lo < 256; lo++) if (HEX_DIGIT[lo]! >= 0) table[(hi << 8) | lo] = 1
  }
  return table
})()

/** True when the `count` bytes at `at` are all lowercase hex digits (and within `src`). */
export function isLowercaseHex(src: Uint8Array, at: number, count: number): boolean {
  if (at + count > src.length) return false
  const view = readView(src)
  const pairs = count & ~1
  for (let i = 0; i < pairs; i += 2) if (HEX_PAIR[view.getUint16(at + i)] === 0) return false
  return pairs === count || HEX_DIGIT[src[at + count - 1]!]! >= 0
}

/** Hex digits of a 32-byte ABI word. */
export const WORD_DIGITS = 64
const LIMB = 10_000_000
const LIMB_DIGITS = 7
const WAD_DECIMALS = 18
const ZERO = 0x30
const MINUS = 0x2d
const POINT = 0x2e

// Scratch for one number: a uint256 has at most 78 decimal digits, 12 limbs. A limb fits an int32,
// so turning it into digits divides int32s by a constant, which compiles to a multiply.
const limbs = new Int32Array(12)
const digits = new Uint8Array(12 * LIMB_DIGITS)

/**
 * Reads the word at `at` into `limbs` (little-endian, base 10^7) as its magnitude; returns the
 * limb count, negated when the word is a negative int256, or 0 when a digit is not lowercase hex.
 */
function readMagnitude(src: Uint8Array, at: number, signed: boolean): number {
  const end = at + WORD_DIGITS
  if (end > src.length) return 0
  const first = HEX_DIGIT[src[at]!]!
  if (first < 0) return 0
  const negative = signed && first >= 8
  const flip = negative ? 15 : 0
  // Leading digits that add nothing to the magnitude: '0', or 'f' in a negative word.
  let i = skipBlank(src, at, end, negative ? 0x66 : 0x30)
  let count = 1
  limbs[0] = 0
  // The first chunk takes the odd digits, so the others are whole 24-bit chunks.
  let stop = i + ((end - i) % 6 || 6)
  while (i < end) {
    let chunk = 0
    let scale = 1
    for (; i < stop; i++) {
      const v = HEX_DIGIT[src[i]!]!
      if (v < 0) return 0
      chunk = chunk * 16 + (v ^ flip)
      scale *= 16
    }
    let carry = chunk
    for (let k = 0; k < count; k++) {
      const t = limbs[k]! * scale + carry
      carry = Math.floor(t / LIMB)
      limbs[k] = t - carry * LIMB
    }
    while (carry > 0) {
      const next = Math.floor(carry / LIMB)
      limbs[count++] = carry - next * LIMB
      carry = next
    }
    stop = i + 6
  }
  if (negative) count = addOne(count)
  return negative ? -count : count
}

/** Two's complement's "+ 1" on the flipped digits' limbs; returns the new limb count. */
function addOne(count: number): number {
  let k = 0
  limbs[0] = limbs[0]! + 1
  while (limbs[k]! >= LIMB) {
    limbs[k] = limbs[k]! - LIMB
    k++
    if (k === count) limbs[count++] = 0
    limbs[k] = limbs[k]! + 1
  }
  return count
}

/** The limbs' decimal digits into `digits`, no leading zeros ("0" for zero); returns their count. */
function limbDigits(count: number): number {
  let n = writeInteger(limbs[count - 1]!, digits, 0)
  for (let k = count - 2; k >= 0; k--) {
    let limb = limbs[k]!
    for (let d = LIMB_DIGITS - 1; d >= 0; d--) {
      const next = (limb / 10) | 0
      digits[n + d] = ZERO + (limb - next * 10)
      limb = next
    }
    n += LIMB_DIGITS
  }
  return n
}

/**
 * Writes formatDecimal(word) (18 decimals: no trailing fractional zeros, "0" for zero) for the word
 * whose 64 digits start at `at`, as uint256 or, when `signed`, int256; returns the position after
 * it in `out`, or -1 when a digit is not lowercase hex. `out` needs 80 bytes of room.
 */
export function writeWadDecimal(src: Uint8Array, at: number, signed: boolean, out: Uint8Array, pos: number): number {
  const read = readMagnitude(src, at, signed)
  if (read === 0) return -1
  if (read < 0) out[pos++] = MINUS
  const length = limbDigits(read < 0 ? -read : read)
  const cut = length - WAD_DECIMALS
  if (cut > 0) {
    for (let i = 0; i < cut; i++) out[pos++] = digits[i]!
  } else out[pos++] = ZERO
  // The fraction: the last 18 digits (zero-padded on the left), trailing zeros dropped.
  let last = length - 1
  while (last >= 0 && last >= cut && digits[last] === ZERO) last--
  if (last < 0 || last < cut) return pos
  out[pos++] = POINT
  for (let i = cut; i < 0; i++) out[pos++] = ZERO
  for (let i = Math.max(cut, 0); i <= last; i++) out[pos++] = digits[i]!
  return pos
}

/**
 * Writes the word as a plain decimal integer when it is a safe integer (below 2^53: its first 50
 * digits zero and the next one 0 or 1), as a uint64 unix timestamp must be; returns the position
 * after it, or -1 otherwise or for a non-hex digit.
 */
export function writeSmallUint(src: Uint8Array, at: number, out: Uint8Array, pos: number): number {
  const end = at + WORD_DIGITS
  const low = end - 14
  for (let i = at; i < low; i++) if (src[i] !== ZERO) return -1
  if (src[low] !== ZERO && src[low] !== ZERO + 1) return -1
  let value = 0
  for (let i = low; i < end; i++) {
    const v = HEX_DIGIT[src[i]!]!
    if (v < 0) return -1
    value = value * 16 + v
  }
  return writeInteger(value, out, pos)
}

/** A non-negative safe integer's decimal digits; returns the position after them. */
export function writeInteger(value: number, out: Uint8Array, pos: number): number {
  if (value < 10) {
    out[pos] = ZERO + value
    return pos + 1
  }
  let width = 1
  for (let v = value; v >= 10; v = Math.floor(v / 10)) width++
  let v = value
  for (let i = pos + width - 1; i >= pos; i--) {
    const next = Math.floor(v / 10)
    out[i] = ZERO + (v - next * 10)
    v = next
  }
  return pos + width
}
