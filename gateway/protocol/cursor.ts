// The resume cursor of the raw-event frames: for each partition of perp.events.v1, the next offset
// after everything pushed up to and including the frame's event, written "1.<o0>-<o1>-…" (the
// leading "1." is the format's version). Offsets within a partition only grow, and every frame on
// every path takes its cursor from the same position vector, so a client holding the cursor of the
// last frame it received has seen exactly the events at offsets below cursor[p] in each partition p
// that belong to its path, and nothing at or above them. A partition missing from a cursor is at
// offset 0: a cursor written before that partition had any event still resumes it from its start.

/** Next offset per partition of the events topic, index = partition. */
export type EventPosition = readonly number[]

const CURSOR_VERSION = '1'
/** More partitions than any topic of ours has: a longer cursor is rejected rather than allocated. */
export const MAX_CURSOR_PARTITIONS = 4096
const cursorPattern = /^1\.(0|[1-9]\d{0,15})(?:-(0|[1-9]\d{0,15}))*$/

export class MalformedCursorError extends Error {
  override readonly name = 'MalformedCursorError'
  constructor(
    readonly input: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`malformed cursor (${reason}): ${JSON.stringify(input.slice(0, 80))}`, options)
  }
}

export function encodeCursor(position: EventPosition): string {
  return `${CURSOR_VERSION}.${position.length === 0 ? '0' : position.join('-')}`
}

export function parseCursor(text: string): EventPosition {
  if (!cursorPattern.test(text)) throw new MalformedCursorError(text, 'expected "1." and offsets joined by "-"')
  const parts = text.slice(CURSOR_VERSION.length + 1).split('-')
  if (parts.length > MAX_CURSOR_PARTITIONS) throw new MalformedCursorError(text, `more than ${MAX_CURSOR_PARTITIONS} partitions`)
  const offsets = parts.map(Number)
  if (!offsets.every(Number.isSafeInteger)) throw new MalformedCursorError(text, 'an offset beyond 2^53')
  return offsets
}

/** The partition's next offset in the position (0 when the position does not reach it). */
export function offsetIn(position: EventPosition, partition: number): number {
  return position[partition] ?? 0
}

/** The position once the record at `offset` of `partition` is counted in (it never moves back). */
export function advancePosition(position: EventPosition, partition: number, nextOffset: number): EventPosition {
  return offsetIn(position, partition) >= nextOffset ? position : withOffset(position, partition, nextOffset)
}

/** The position with one partition's next offset set, whether ahead of it or behind. */
export function withOffset(position: EventPosition, partition: number, nextOffset: number): EventPosition {
  const next = [...position]
  for (let p = next.length; p < partition; p++) next[p] = 0
  next[partition] = nextOffset
  return next
}

export interface ReplayRange {
  readonly partition: number
  /** First offset to replay. */
  readonly from: number
  /** First offset not to replay (the live position): records from here on arrive live. */
  readonly to: number
}

/** What a client at `from` missed before the live position: one non-empty range per partition. */
export function replayRanges(from: EventPosition, live: EventPosition): ReplayRange[] {
  const ranges: ReplayRange[] = []
  for (let partition = 0; partition < Math.max(from.length, live.length); partition++) {
    const start = offsetIn(from, partition)
    const end = offsetIn(live, partition)
    if (start < end) ranges.push({ partition, from: start, to: end })
  }
  return ranges
}

/** Componentwise maximum: where a resumed client stands once its replay is done. */
export function maxPosition(a: EventPosition, b: EventPosition): EventPosition {
  return Array.from({ length: Math.max(a.length, b.length) }, (_, p) => Math.max(offsetIn(a, p), offsetIn(b, p)))
}
