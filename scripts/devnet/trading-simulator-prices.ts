// Where the trading simulator's keeper reads the prices it pushes on chain. The chain's mark price
// must follow the same path the oracle serves, or the indexer would see the chain and Pyth disagree:
// so the source is either the Hermes endpoint itself (local or real) or the very path object the
// local Hermes server publishes from. Prices are WAD bigints (18 decimals), converted exactly.
import { z } from 'zod'
import { fromPythPrice } from '../../indexer/records/decimal.ts'
import { normalizeFeedId, type PricePoint } from './price-paths.ts'

/** A market and the Pyth feed its mark price follows (contracts-abi/markets.ts fits). */
export interface PricedMarket {
  /** The market slug, e.g. "btc-usdc-perp". */
  readonly id: string
  readonly pythFeedId: string
}

export interface MarketPriceSource {
  /** The latest price of each market as a WAD bigint, keyed by market slug; unpriced markets are absent. */
  latest(): Promise<ReadonlyMap<string, bigint>>
}

export class PriceSourceError extends Error {
  override readonly name = 'PriceSourceError'
}

/** Prices from an in-process path, e.g. the RandomWalk a local Hermes server publishes from. */
export function pricePathSource(
  path: { latest(): readonly PricePoint[] },
  markets: readonly PricedMarket[],
): MarketPriceSource {
  const marketOfFeed = feedIndex(markets)
  return {
    latest: () => Promise.resolve(pricesByMarket(path.latest(), marketOfFeed)),
  }
}

export interface HermesPriceSourceOptions {
  /** The Hermes endpoint, e.g. http://127.0.0.1:8090 or https://hermes.pyth.network. */
  readonly url: string
  readonly markets: readonly PricedMarket[]
  /** Sent as "Authorization: Bearer <key>". */
  readonly apiKey?: string
  /** Per request (default 5000). */
  readonly timeoutMs?: number
}

const rpcPrice = z.object({ price: z.string().regex(/^-?\d+$/), expo: z.number().int(), publish_time: z.number() })
const latestUpdate = z.object({
  parsed: z.array(z.object({ id: z.string(), price: rpcPrice })),
})

/** Prices from Hermes' GET /v2/updates/price/latest, one request per call. */
export function hermesPriceSource(options: HermesPriceSourceOptions): MarketPriceSource {
  const marketOfFeed = feedIndex(options.markets)
  const query = new URLSearchParams([...marketOfFeed.keys()].map((id): [string, string] => ['ids[]', id]))
  query.set('parsed', 'true')
  const endpoint = `${options.url.replace(/\/+$/, '')}/v2/updates/price/latest?${query}`
  const headers: Record<string, string> = options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }
  return {
    async latest() {
      let body: unknown
      try {
        const response = await fetch(endpoint, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) })
        if (!response.ok) throw new PriceSourceError(`Hermes answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`)
        body = await response.json()
      } catch (cause) {
        if (cause instanceof PriceSourceError) throw cause
        throw new PriceSourceError(`cannot read the latest prices from ${options.url}`, { cause })
      }
      const parsed = latestUpdate.safeParse(body)
      if (!parsed.success) throw new PriceSourceError(`unexpected Hermes price update from ${options.url}: ${parsed.error.issues[0]?.message ?? ''}`)
      const points = parsed.data.parsed.map((feed) => ({ id: feed.id, price: BigInt(feed.price.price), expo: feed.price.expo }))
      return pricesByMarket(points, marketOfFeed)
    },
  }
}

/** Market slugs by normalized feed id; two markets on one feed would make the lookup ambiguous. */
function feedIndex(markets: readonly PricedMarket[]): ReadonlyMap<string, string> {
  const index = new Map<string, string>()
  for (const market of markets) {
    const feed = normalizeFeedId(market.pythFeedId)
    if (index.has(feed)) throw new PriceSourceError(`markets ${index.get(feed)} and ${market.id} share feed ${feed}`)
    index.set(feed, market.id)
  }
  return index
}

/** WAD prices of the markets whose feeds appear among the points; non-positive prices are skipped. */
function pricesByMarket(
  points: readonly { readonly id: string; readonly price: bigint; readonly expo: number }[],
  marketOfFeed: ReadonlyMap<string, string>,
): ReadonlyMap<string, bigint> {
  const prices = new Map<string, bigint>()
  for (const point of points) {
    const market = marketOfFeed.get(normalizeFeedId(point.id))
    if (market === undefined || point.price <= 0n) continue
    prices.set(market, fromPythPrice(point.price, point.expo))
  }
  return prices
}
