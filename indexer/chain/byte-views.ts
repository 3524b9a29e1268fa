// DataViews over the buffers the answer reader reads and writes, so its loops move four bytes at a
// time (getInt32 and setInt32 at any offset) instead of one: a 64-digit hash copied or a run of
// padding zeros skipped byte by byte cost about four times as much here. One view is kept per role
// (the answer being read, the records being written) and made again only when the buffer changes,
// so a call costs one identity check. Pure: no I/O.

let readBytes: Uint8Array | undefined
let readDataView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))
let writeBytes: Uint8Array | undefined
let writeDataView: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0))

/** A view over the buffer being read. */
export function readView(bytes: Uint8Array): DataView<ArrayBufferLike> {
  if (bytes !== readBytes) {
    readBytes = bytes
    readDataView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  return readDataView
}

/** A view over the buffer being written. */
function writeView(bytes: Uint8Array): DataView<ArrayBufferLike> {
  if (bytes !== writeBytes) {
    writeBytes = bytes
    writeDataView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  return writeDataView
}

/** Bytes with their leading whole words as big-endian int32s, for word-at-a-time compares and copies. */
export interface WordBytes {
  readonly bytes: Uint8Array
  readonly words: Int32Array
}

export function wordBytes(bytes: Uint8Array): WordBytes {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const words = new Int32Array(Math.floor(bytes.length / 4))
  for (let i = 0; i < words.length; i++) words[i] = view.getInt32(4 * i)
  return { bytes, words }
}

/** True when `literal` is at `at` in `src`. */
export function matchesAt(src: Uint8Array, at: number, literal: WordBytes): boolean {
  const { bytes, words } = literal
  if (at + bytes.length > src.length) return false
  const view = readView(src)
  for (let i = 0; i < words.length; i++) if (view.getInt32(at + 4 * i) !== words[i]) return false
  for (let k = 4 * words.length; k < bytes.length; k++) if (src[at + k] !== bytes[k]) return false
  return true
}

/** Writes `literal` at `pos`; the position after it. */
export function putAt(out: Uint8Array, pos: number, literal: WordBytes): number {
  const { bytes, words } = literal
  const view = writeView(out)
  for (let i = 0; i < words.length; i++) view.setInt32(pos + 4 * i, words[i]!)
  for (let k = 4 * words.length; k < bytes.length; k++) out[pos + k] = bytes[k]!
  return pos + bytes.length
}

/** Copies `count` bytes from `src` at `at` to `out` at `pos` (both in bounds); the position after them. */
export function copyAt(src: Uint8Array, at: number, count: number, out: Uint8Array, pos: number): number {
  const from = readView(src)
  const to = writeView(out)
  const whole = count & ~3
  for (let i = 0; i < whole; i += 4) to.setInt32(pos + i, from.getInt32(at + i))
  for (let i = whole; i < count; i++) out[pos + i] = src[at + i]!
  return pos + count
}

/** The first position from `at` (up to `end`) whose byte is not `blank`. */
export function skipBlank(src: Uint8Array, at: number, end: number, blank: number): number {
  const view = readView(src)
  const blankWord = blank * 0x01010101
  let i = at
  while (i + 4 <= end && view.getInt32(i) === (blankWord | 0)) i += 4
  while (i < end && src[i] === blank) i++
  return i
}

/** True when the `count` bytes at `a` equal those at `b` in `src` (both in bounds). */
export function sameBytes(src: Uint8Array, a: number, b: number, count: number): boolean {
  const view = readView(src)
  const whole = count & ~3
  for (let i = 0; i < whole; i += 4) if (view.getInt32(a + i) !== view.getInt32(b + i)) return false
  for (let i = whole; i < count; i++) if (src[a + i] !== src[b + i]) return false
  return true
}
