// Retries of JSON-RPC calls. Only an RpcError whose kind is retryable (rate limited, 5xx, timeout,
// connection) is retried; anything else, a range to split included, goes straight to the caller,
// which knows what to do with it. Delays are "full jitter" exponential backoff: a uniform draw in
// [0, min(maxDelay, base · 2^attempt)), so many callers failing at once (a provider's 429 burst)
// spread their retries over the whole window instead of hammering it again in lockstep.
import { RpcError } from './chain-rpc.ts'

export interface RetryOptions {
  /** Attempts in all, the first included (default 10). */
  readonly maxAttempts?: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** Aborting stops waiting at once and rejects with the signal's reason. */
  readonly signal?: AbortSignal
  /** Called before each wait, with the 1-based number of the attempt that failed. */
  readonly onRetry?: (error: RpcError, attempt: number, delayMs: number) => void
  /** A uniform draw in [0, 1); Math.random by default. */
  readonly random?: () => number
  readonly sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>
}

const DEFAULT_MAX_ATTEMPTS = 10

/** The wait before retry number `attempt` (0-based). */
export function fullJitterDelay(attempt: number, baseDelayMs: number, maxDelayMs: number, random: () => number): number {
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(Math.max(attempt, 0), 40))
  return Math.floor(random() * ceiling)
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  if (!(maxAttempts >= 1)) throw new RangeError(`maxAttempts must be at least 1, got ${maxAttempts}`)
  const random = options.random ?? Math.random
  const sleep = options.sleep ?? abortableSleep
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted()
    try {
      return await fn(attempt)
    } catch (error) {
      if (!(error instanceof RpcError) || !error.retryable || attempt >= maxAttempts) throw error
      const delayMs = fullJitterDelay(attempt - 1, options.baseDelayMs, options.maxDelayMs, random)
      options.onRetry?.(error, attempt, delayMs)
      await sleep(delayMs, options.signal)
    }
  }
}

export function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
