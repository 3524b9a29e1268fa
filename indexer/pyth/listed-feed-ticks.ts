// Pyth ticks follow the markets listed on chain: the feeds to read are those of the markets whose
// MarketListed the indexer has written, and that set grows while the indexer runs (a market listed
// during the live tail, or listed in blocks the backfill left to the tail). Whenever the set
// changes, the ingest is rebuilt for the new set; the ingest resumes from the tail of the ticks
// topic, so a rebuild writes no tick twice.
import type { Logger } from '../runtime/logger.ts'
import type { TickIngest } from './tick-ingest.ts'

/** Pyth feed id -> market id. */
export type ListedFeeds = Readonly<Record<string, string>>

export interface ListedFeedTicksOptions {
  /** The feeds of the markets listed so far. */
  readonly listedFeeds: () => ListedFeeds
  /** Starts an ingest reading exactly these feeds. */
  readonly startIngest: (feeds: ListedFeeds) => Promise<TickIngest>
  /** How often the listed feeds are compared with the ingest's (default 1000 ms). */
  readonly checkIntervalMs?: number
  readonly logger: Logger
  /** An ingest stopped for good (a refused API key): no more ticks until a restart. */
  readonly onFatal: (error: Error) => void
}

export interface ListedFeedTicks {
  /** Stops checking and stops the ingest; safe to call more than once. */
  stop(): Promise<void>
}

const feedSetKey = (feeds: ListedFeeds): string =>
  Object.entries(feeds)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([feed, market]) => `${feed}=${market}`)
    .join(',')

export function followListedFeeds(options: ListedFeedTicksOptions): ListedFeedTicks {
  const { logger } = options
  let current: { key: string; ingest: TickIngest } | undefined
  let stopped = false
  // Checks run one at a time: a rebuild in flight is never raced by the next check.
  let chain: Promise<void> = Promise.resolve()

  async function check(): Promise<void> {
    if (stopped) return
    const feeds = options.listedFeeds()
    const key = feedSetKey(feeds)
    if (key === '' || key === current?.key) return
    if (current !== undefined) await current.ingest.stop()
    current = undefined
    if (stopped) return
    logger.info('reading Pyth feeds of the listed markets', { markets: Object.values(feeds) })
    const ingest = await options.startIngest(feeds)
    current = { key, ingest }
    ingest.done.catch((error: unknown) => {
      if (current?.ingest === ingest && !stopped) options.onFatal(error instanceof Error ? error : new Error(String(error)))
    })
  }

  const schedule = (): void => {
    chain = chain.then(check).catch((error: unknown) => {
      logger.warn('starting the Pyth ingest failed; retrying', { error: error instanceof Error ? error : new Error(String(error)) })
    })
  }
  schedule()
  const timer = setInterval(schedule, options.checkIntervalMs ?? 1_000)
  timer.unref()

  return {
    stop: async () => {
      stopped = true
      clearInterval(timer)
      await chain
      await current?.ingest.stop().catch(() => undefined)
      current = undefined
    },
  }
}
