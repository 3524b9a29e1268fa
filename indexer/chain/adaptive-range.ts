// How many blocks one eth_getLogs asks for. Providers refuse ranges that are too wide (-32602
// "range too large"), too full (-32005 "query returned more than 10000 results") or whose answer
// exceeds a body limit; a refused range is split in two and the span halves. While answers stay
// under a target log count, the span doubles up to a maximum, so sparse stretches of a chain take
// few requests. A span that was refused is never reached again by growth: a provider's range limit
// does not move. Pure: no I/O, the caller fetches.

export interface BlockRange {
  readonly from: number
  /** Inclusive. */
  readonly to: number
}

export interface AdaptiveRangeOptions {
  readonly initialSpan: number
  readonly maxSpan: number
  /** Answers with fewer logs than this let the span grow; more than twice this shrink it. */
  readonly targetLogs: number
}

export interface AdaptiveRange {
  /** The span the next request covers. */
  span(): number
  /** The next range from `from`, ending at `limit` at the latest. */
  next(from: number, limit: number): BlockRange
  /** `range` answered with `logCount` logs. */
  succeeded(range: BlockRange, logCount: number): void
  /** `range` was refused as too large: its halves, to fetch instead. Throws for a single block. */
  split(range: BlockRange, cause: unknown): readonly [BlockRange, BlockRange]
}

/** Even one block is more than the provider will return: nothing smaller can be asked for. */
export class SingleBlockTooLargeError extends Error {
  override readonly name = 'SingleBlockTooLargeError'
  readonly block: number
  constructor(block: number, options?: { readonly cause?: unknown }) {
    const reason = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(
      `the logs of block ${block} alone exceed what the RPC provider returns for one request${reason}; ` +
        'raise the provider limit or the response size limit',
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.block = block
  }
}

export function spanOf(range: BlockRange): number {
  return range.to - range.from + 1
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`)
  return value
}

export function createAdaptiveRange(options: AdaptiveRangeOptions): AdaptiveRange {
  const maxSpan = positiveInteger('maxSpan', options.maxSpan)
  const targetLogs = positiveInteger('targetLogs', options.targetLogs)
  let span = Math.min(positiveInteger('initialSpan', options.initialSpan), maxSpan)
  // The smallest span refused so far; growth stays below it.
  let ceiling = Number.POSITIVE_INFINITY

  return {
    span: () => span,
    next(from, limit) {
      if (limit < from) throw new RangeError(`no blocks left: from ${from} is past ${limit}`)
      return { from, to: Math.min(limit, from + span - 1) }
    },
    succeeded(range, logCount) {
      const asked = spanOf(range)
      if (logCount > 2 * targetLogs) {
        span = Math.max(1, Math.min(span, Math.floor(asked / 2)))
      } else if (logCount < targetLogs && asked >= span) {
        // Only an answer for a full-span range says the span is safe to grow.
        span = Math.min(maxSpan, span * 2, ceiling - 1)
        span = Math.max(span, 1)
      }
    },
    split(range, cause) {
      const asked = spanOf(range)
      if (asked <= 1) throw new SingleBlockTooLargeError(range.from, { cause })
      ceiling = Math.min(ceiling, asked)
      const half = Math.floor(asked / 2)
      span = Math.max(1, Math.min(span, half))
      const mid = range.from + half - 1
      return [
        { from: range.from, to: mid },
        { from: mid + 1, to: range.to },
      ]
    },
  }
}
