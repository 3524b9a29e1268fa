// Pyth ticks through the deprecated @pythnetwork/price-service-client, for a self-hosted Hermes that
// needs no API key (the library cannot send one): the latest prices over REST at start, then the
// websocket subscription.
//
// The library's default websocket error handler calls process.exit(1); it is replaced, so every
// error is logged and reported to the ingest and the process never exits on its own. The library
// reconnects a dropped socket and re-subscribes by itself, but its backoff (2^n · 100 ms) has no
// cap, so after a long outage it would wait for hours: a watchdog rebuilds the whole connection,
// with jittered backoff, whenever no price has arrived for idleTimeoutMs.
import { PriceServiceConnection, type PriceFeed } from '@pythnetwork/price-service-client'
import type { TickRecord } from '../records/schemas.ts'
import type { Logger } from '../runtime/logger.ts'
import type { MetricsRegistry } from '../runtime/metrics.ts'
import { normalizePythFeedId, priceFeedToTick } from './price-feed-to-tick.ts'
import { backoffDelay, type TickSource, type TickSourceHandlers, type TickSourceOptions } from './tick-source.ts'

/** The websocket is at <endpoint>/ws; the library cannot send an API key. */
export type PriceServiceTickSourceOptions = TickSourceOptions

/** Hermes refused the connection in a way retrying cannot fix: an API key required, unknown feed ids. */
export class PriceServiceRefusedError extends Error {
  override readonly name = 'PriceServiceRefusedError'
}

export class PriceServiceConnectionError extends Error {
  override readonly name = 'PriceServiceConnectionError'
}

/** The tick of one PriceFeed as the library parses it (ids come without 0x). */
export function tickOfPriceFeed(feed: PriceFeed, markets: ReadonlyMap<string, string>): TickRecord | undefined {
  const feedId = normalizePythFeedId(feed.id)
  const marketId = markets.get(feedId)
  if (marketId === undefined) return undefined
  const { price, conf, expo, publishTime } = feed.getPriceUnchecked()
  return priceFeedToTick({ feedId, price, conf, expo, publishTime, marketId })
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('response' in error)) return undefined
  const response = (error as { response?: { status?: unknown } }).response
  return typeof response?.status === 'number' ? response.status : undefined
}

/** Whether an error of the REST call or the websocket means retrying is pointless. */
function isRefusal(error: unknown): boolean {
  const status = httpStatusOf(error)
  if (status === 400 || status === 401 || status === 403 || status === 404) return true
  const message = error instanceof Error ? error.message : String(error)
  // The websocket's own wording: an upgrade refused for a missing key, a subscription to unknown ids.
  return /Unexpected server response: 40[13]|price feed.* not found|price ids not found/i.test(message)
}

export function createPriceServiceTickSource(options: PriceServiceTickSourceOptions): TickSource {
  const { endpoint, logger } = options
  const markets = new Map(Object.entries(options.feeds).map(([feed, market]) => [normalizePythFeedId(feed), market]))
  const ids = [...markets.keys()]
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 }
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000
  const rebuilds = options.metrics?.counter('pyth_price_service_rebuilds_total', 'Rebuilt price-service connections')
  // The library logs every received message at info; only its warnings (its own reconnects) matter.
  const libraryWarning = (...args: unknown[]): void =>
    logger.warn('price-service-client', { endpoint, detail: args.map(String).join(' ') })
  const ignore = (): void => {}
  const libraryLogger = { trace: ignore, debug: ignore, info: ignore, warn: libraryWarning, error: libraryWarning }

  let handlers: TickSourceHandlers | undefined
  let connection: PriceServiceConnection | undefined
  let stopped = false
  let attempt = 0
  let retryTimer: NodeJS.Timeout | undefined
  let idleTimer: NodeJS.Timeout | undefined

  const deliver = (owner: PriceServiceConnection, feeds: readonly PriceFeed[]): void => {
    if (stopped || connection !== owner) return
    try {
      const ticks = feeds.flatMap((feed) => tickOfPriceFeed(feed, markets) ?? [])
      if (ticks.length > 0) handlers?.onTicks(ticks)
    } catch (error) {
      const message = 'Hermes sent a price feed that does not map to a tick'
      const wrapped = new PriceServiceConnectionError(message, { cause: error })
      logger.warn(wrapped.message, { error: wrapped })
      handlers?.onError?.(wrapped, false)
    }
  }

  const teardown = (): void => {
    clearTimeout(idleTimer)
    connection?.closeWebSocket()
    connection = undefined
  }

  const fail = (owner: PriceServiceConnection, cause: unknown): void => {
    if (stopped || connection !== owner) return
    if (isRefusal(cause)) {
      const message = cause instanceof Error ? cause.message : String(cause)
      const error = new PriceServiceRefusedError(`Hermes at ${endpoint} refused the price feeds: ${message}`, { cause })
      teardown()
      stopped = true
      logger.error('Hermes refused the price-service connection; not retrying', { endpoint, error })
      handlers?.onError?.(error, true)
      return
    }
    const error = new PriceServiceConnectionError(`price-service connection to ${endpoint} failed`, { cause })
    logger.warn(error.message, { endpoint, error })
    handlers?.onError?.(error, false)
  }

  const rebuild = (reason: Error): void => {
    teardown()
    if (stopped) return
    const delayMs = backoffDelay(attempt, backoff, options.random)
    attempt += 1
    rebuilds?.inc()
    logger.warn('rebuilding the price-service connection', { endpoint, reason: reason.message, delayMs })
    handlers?.onError?.(reason, false)
    retryTimer = setTimeout(() => void connect(), delayMs)
  }

  const armIdle = (owner: PriceServiceConnection): void => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => {
      if (connection !== owner) return
      rebuild(new PriceServiceConnectionError(`no price from ${endpoint} for ${idleTimeoutMs} ms`))
    }, idleTimeoutMs)
  }

  const connect = async (): Promise<void> => {
    if (stopped) return
    const owner = new PriceServiceConnection(endpoint, {
      logger: libraryLogger,
      timeout: options.requestTimeoutMs ?? 5_000,
    })
    owner.onWsError = (error) => fail(owner, error)
    connection = owner
    armIdle(owner)
    try {
      deliver(owner, (await owner.getLatestPriceFeeds(ids)) ?? [])
      await owner.subscribePriceFeedUpdates(ids, (feed) => {
        if (connection !== owner) return
        attempt = 0
        armIdle(owner)
        deliver(owner, [feed])
      })
      if (connection === owner) logger.info('price-service websocket subscribed', { endpoint, feeds: ids.length })
    } catch (error) {
      if (connection !== owner || stopped) return
      if (isRefusal(error)) return fail(owner, error)
      rebuild(new PriceServiceConnectionError(`price-service connection to ${endpoint} failed`, { cause: error }))
    }
  }

  return {
    name: 'price-service',
    start(given) {
      if (handlers !== undefined) throw new Error('the price-service tick source was already started')
      handlers = given
      void connect()
    },
    async stop() {
      stopped = true
      clearTimeout(retryTimer)
      teardown()
    },
  }
}
