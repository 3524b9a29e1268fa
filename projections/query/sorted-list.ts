// A sorted list kept in chunks: inserting or removing one item costs two binary searches and a
// splice within one chunk of at most 2·chunkSize items, not a splice of the whole list, and a bulk
// load is a single sort. Scans start at either end, so the items below or above a bound are visited
// without a search. `compare` must be a total order under which no two items of the list are equal
// (end it with a unique id).

export interface SortedList<T> {
  readonly size: number
  /** Adds an item; throws DuplicateItemError if an equal one is there. */
  insert(item: T): void
  /** Removes the item equal to `item`; returns whether there was one. */
  remove(item: T): boolean
  /** Visits the items from the smallest up, for as long as `visit` returns true. */
  scanUp(visit: (item: T) => boolean): void
  /** Visits the items from the largest down, for as long as `visit` returns true. */
  scanDown(visit: (item: T) => boolean): void
  /** Every item, smallest first. */
  toArray(): T[]
}

export class DuplicateItemError extends Error {
  override readonly name = 'DuplicateItemError'
  constructor(readonly item: unknown) {
    super(`sorted list already holds an item equal to ${String(item)}`)
  }
}

export const DEFAULT_CHUNK_SIZE = 1024

type Compare<T> = (a: T, b: T) => number

/** The first chunk whose last item is at or above `item`, or the last chunk. */
function chunkIndexFor<T>(chunks: readonly (readonly T[])[], item: T, compare: Compare<T>): number {
  let low = 0
  let high = chunks.length - 1
  while (low < high) {
    const middle = (low + high) >>> 1
    if (compare(chunks[middle]!.at(-1)!, item) < 0) low = middle + 1
    else high = middle
  }
  return low
}

/** The first position in `chunk` whose item is at or above `item`. */
function positionIn<T>(chunk: readonly T[], item: T, compare: Compare<T>): number {
  let low = 0
  let high = chunk.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (compare(chunk[middle]!, item) < 0) low = middle + 1
    else high = middle
  }
  return low
}

/** A list holding `items`, given in any order: the array is sorted in place and belongs to the list from then on. */
export function createSortedList<T>(compare: Compare<T>, items: T[] = [], chunkSize = DEFAULT_CHUNK_SIZE): SortedList<T> {
  const sorted = items.sort(compare)
  for (let i = 1; i < sorted.length; i++) if (compare(sorted[i - 1]!, sorted[i]!) === 0) throw new DuplicateItemError(sorted[i])
  // Every chunk is non-empty and sorted, and each chunk's last item is below the next chunk's first.
  const chunks: T[][] = []
  for (let start = 0; start < sorted.length; start += chunkSize) chunks.push(sorted.slice(start, start + chunkSize))
  let size = sorted.length

  function insert(item: T): void {
    if (chunks.length === 0) {
      chunks.push([item])
      size = 1
      return
    }
    const index = chunkIndexFor(chunks, item, compare)
    const chunk = chunks[index]!
    const position = positionIn(chunk, item, compare)
    if (position < chunk.length && compare(chunk[position]!, item) === 0) throw new DuplicateItemError(item)
    chunk.splice(position, 0, item)
    size++
    if (chunk.length > 2 * chunkSize) chunks.splice(index + 1, 0, chunk.splice(chunkSize))
  }

  function remove(item: T): boolean {
    if (chunks.length === 0) return false
    const index = chunkIndexFor(chunks, item, compare)
    const chunk = chunks[index]!
    const position = positionIn(chunk, item, compare)
    if (position >= chunk.length || compare(chunk[position]!, item) !== 0) return false
    chunk.splice(position, 1)
    size--
    if (chunk.length === 0) chunks.splice(index, 1)
    return true
  }

  function scanUp(visit: (item: T) => boolean): void {
    for (const chunk of chunks) {
      for (const item of chunk) if (!visit(item)) return
    }
  }

  function scanDown(visit: (item: T) => boolean): void {
    for (let c = chunks.length - 1; c >= 0; c--) {
      const chunk = chunks[c]!
      for (let i = chunk.length - 1; i >= 0; i--) if (!visit(chunk[i]!)) return
    }
  }

  return {
    get size() {
      return size
    },
    insert,
    remove,
    scanUp,
    scanDown,
    toArray: () => chunks.flat(),
  }
}
