// Pyth ticks from Hermes through @pythnetwork/hermes-client: the SSE stream of parsed price updates,
// plus the latest prices fetched after every (re)connect so a gap leaves at most stale ticks, never a
// missing last price. The API key goes in `Authorization: Bearer <key>`, as Pyth documents.
//
// The library's EventSource would reconnect by itself every 3 s, forever and all at once; the
// source closes it on any error and reconnects itself with jittered exponential backoff instead,
// and gives up only when Hermes refuses the key or the feed ids (retrying cannot fix either).
import { HermesClient } from '@pythnetwork/hermes-client'
import { z } from 'zod'
import type { TickRecord } from '../records/schemas.ts'
import type { Logger } from '../runtime/logger.ts'
import type { MetricsRegistry } from '../runtime/metrics.ts'
import { normalizePythFeedId, priceFeedToTick } from './price-feed-to-tick.ts'
import { backoffDelay, type TickSource, type TickSourceHandlers, type TickSourceOptions } from './tick-source.ts'

export interface HermesTickSourceOptions extends TickSourceOptions {
  /** Sent as `Authorization: Bearer <key>`; Hermes has required one since 2026-08. */
  readonly apiKey?: string
}

/** Hermes refused the stream in a way retrying cannot fix: the API key or the feed ids. */
export class HermesRefusedError extends Error {
  override readonly name = 'HermesRefusedError'
  constructor(
    readonly endpoint: string,
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** The stream broke (network error, server closed it, non-2xx other than a refusal, silence). */
export class HermesStreamError extends Error {
  override readonly name = 'HermesStreamError'
}

const rpcPrice = z.object({
  price: z.string(),
  conf: z.string(),
  expo: z.number().int(),
  publish_time: z.number().int(),
})
const priceUpdate = z.object({ parsed: z.array(z.object({ id: z.string(), price: rpcPrice })).nullish() })

/** The ticks of one Hermes v2 price update (the SSE event or the latest-prices response). */
export function ticksOfPriceUpdate(json: unknown, markets: ReadonlyMap<string, string>): TickRecord[] {
  const update = priceUpdate.parse(json)
  return (update.parsed ?? []).flatMap((entry) => {
    const feedId = normalizePythFeedId(entry.id)
    const marketId = markets.get(feedId)
    if (marketId === undefined) return []
    const { price, conf, expo, publish_time: publishTime } = entry.price
    return [priceFeedToTick({ feedId, price, conf, expo, publishTime, marketId })]
  })
}

function refusal(endpoint: string, status: number | undefined, hasKey: boolean): HermesRefusedError | undefined {
  if (status === 401 || status === 403) {
    const why = hasKey ? 'refused the API key' : 'requires an API key (none configured)'
    return new HermesRefusedError(endpoint, status, `Hermes at ${endpoint} ${why}: HTTP ${status}`)
  }
  if (status === 400 || status === 404) {
    const message = `Hermes at ${endpoint} does not serve the configured feed ids: HTTP ${status}`
    return new HermesRefusedError(endpoint, status, message)
  }
  return undefined
}

export function createHermesTickSource(options: HermesTickSourceOptions): TickSource {
  const { endpoint, logger } = options
  const markets = new Map(Object.entries(options.feeds).map(([feed, market]) => [normalizePythFeedId(feed), market]))
  const ids = [...markets.keys()]
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 }
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000
  const reconnects = options.metrics?.counter('pyth_hermes_reconnects_total', 'Reconnects of the Hermes SSE stream')
  const client = new HermesClient(endpoint, {
    timeout: options.requestTimeoutMs ?? 5_000,
    httpRetries: 0,
    headers: options.apiKey === undefined ? {} : { Authorization: `Bearer ${options.apiKey}` },
  })
  type Stream = Awaited<ReturnType<HermesClient['getPriceUpdatesStream']>>

  let handlers: TickSourceHandlers | undefined
  let stream: Stream | undefined
  let stopped = false
  let attempt = 0
  let reconnectTimer: NodeJS.Timeout | undefined
  let idleTimer: NodeJS.Timeout | undefined

  const emit = (json: unknown): void => {
    try {
      const ticks = ticksOfPriceUpdate(json, markets)
      if (ticks.length > 0 && !stopped) handlers?.onTicks(ticks)
    } catch (error) {
      const wrapped = new HermesStreamError('Hermes sent a price update that does not parse', { cause: error })
      logger.warn(wrapped.message, { error: wrapped })
      handlers?.onError?.(wrapped, false)
    }
  }

  const drop = (): void => {
    clearTimeout(idleTimer)
    stream?.close()
    stream = undefined
  }

  const interrupted = (error: Error): void => {
    drop()
    if (stopped) return
    const delayMs = backoffDelay(attempt, backoff, options.random)
    attempt += 1
    reconnects?.inc()
    logger.warn('Hermes stream interrupted; reconnecting', { endpoint, error, delayMs })
    handlers?.onError?.(error, false)
    reconnectTimer = setTimeout(() => void connect(), delayMs)
  }

  const refused = (error: HermesRefusedError): void => {
    drop()
    stopped = true
    logger.error('Hermes refused the price stream; not retrying', { endpoint, status: error.status, error })
    handlers?.onError?.(error, true)
  }

  const armIdle = (current: Stream): void => {
    clearTimeout(idleTimer)
    idleTimer = setTimeout(() => {
      if (stream === current) interrupted(new HermesStreamError(`Hermes stream silent for ${idleTimeoutMs} ms`))
    }, idleTimeoutMs)
  }

  const fetchLatest = (current: Stream): void => {
    client.getLatestPriceUpdates(ids, { parsed: true }).then(
      (update) => {
        if (stream === current) emit(update)
      },
      (error: unknown) => {
        if (stream !== current) return
        const wrapped = new HermesStreamError('fetching the latest prices from Hermes failed', { cause: error })
        logger.warn(wrapped.message, { endpoint, error: wrapped })
        handlers?.onError?.(wrapped, false)
      },
    )
  }

  const connect = async (): Promise<void> => {
    if (stopped) return
    let current: Stream
    try {
      current = await client.getPriceUpdatesStream(ids, { parsed: true, encoding: 'hex' })
    } catch (error) {
      interrupted(new HermesStreamError(`could not open the Hermes stream at ${endpoint}`, { cause: error }))
      return
    }
    if (stopped) return void current.close()
    stream = current
    armIdle(current)
    current.onopen = () => {
      logger.info('Hermes price stream open', { endpoint, feeds: ids.length })
      fetchLatest(current)
    }
    current.onmessage = (event) => {
      if (stream !== current) return
      attempt = 0
      armIdle(current)
      emit(parseJson(String(event.data)))
    }
    current.onerror = (event) => {
      if (stream !== current) return
      const status = event.code
      const refusedBy = refusal(endpoint, status, options.apiKey !== undefined)
      if (refusedBy !== undefined) return refused(refusedBy)
      const detail = event.message ?? 'stream ended'
      const http = status === undefined ? '' : ` (HTTP ${status})`
      interrupted(new HermesStreamError(`Hermes stream at ${endpoint} failed: ${detail}${http}`))
    }
  }

  return {
    name: 'hermes',
    start(given) {
      if (handlers !== undefined) throw new Error('the Hermes tick source was already started')
      handlers = given
      void connect()
    },
    async stop() {
      stopped = true
      clearTimeout(reconnectTimer)
      drop()
    },
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
