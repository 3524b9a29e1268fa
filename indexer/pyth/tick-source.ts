// What every Pyth tick source is: a Hermes client library behind reconnects and the tick mapping,
// with the options all of them take and the backoff they reconnect with.
import type { TickRecord } from '../records/schemas.ts'
import type { Logger } from '../runtime/logger.ts'
import type { MetricsRegistry } from '../runtime/metrics.ts'

export interface TickSourceHandlers {
  /** The ticks of one update, in arrival order. Called synchronously by the source; must not throw. */
  readonly onTicks: (ticks: readonly TickRecord[]) => void
  /**
   * A failure. The source recovers from a non-fatal one (a dropped connection) by itself; after a
   * fatal one (an API key refused, an unknown feed id) it has stopped for good.
   */
  readonly onError?: (error: Error, fatal: boolean) => void
}

/** Where ticks come from: a Hermes client library behind reconnects and the tick mapping. */
export interface TickSource {
  /** For logs and metric labels. */
  readonly name: string
  /** Connects and delivers ticks until stop() or a fatal error. Call once. */
  start(handlers: TickSourceHandlers): void
  /** Disconnects; no handler is called once it has resolved. */
  stop(): Promise<void>
}

export interface BackoffPolicy {
  readonly initialMs: number
  readonly maxMs: number
}

/**
 * The delay before retry number `attempt` (0-based): exponential up to maxMs, with "equal jitter"
 * (half fixed, half random), so many clients dropped at once spread their reconnects out while
 * none retries immediately.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(Math.max(attempt, 0), 30))
  return Math.round(ceiling / 2 + (random() * ceiling) / 2)
}

/** The options every tick source takes. */
export interface TickSourceOptions {
  /** Hermes' base URL, e.g. https://hermes.pyth.network or http://127.0.0.1:8090. */
  readonly endpoint: string
  /** Pyth feed id (any spelling) -> market id. */
  readonly feeds: Readonly<Record<string, string>>
  readonly logger: Logger
  readonly metrics?: MetricsRegistry
  /** Reconnect delays (default 500 ms doubling to 30 s, jittered). */
  readonly backoff?: BackoffPolicy
  /** No price for this long means the connection is dead, and it is rebuilt (default 30 s). */
  readonly idleTimeoutMs?: number
  /** Timeout of the REST calls (default 5 s). */
  readonly requestTimeoutMs?: number
  readonly random?: () => number
}
