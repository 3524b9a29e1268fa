// Price paths for the local Hermes-compatible server: seeded geometric random walks, and replays of
// recorded paths. Everything is integer math on Pyth's integer price (price·10^expo), so a seed and a
// start time always give the same path, byte for byte, on every machine.
import { z } from 'zod'

/** One published price of one feed, as Hermes serves it (before encoding). */
export interface PricePoint {
  /** 0x followed by 64 lowercase hex digits. */
  readonly id: string
  readonly price: bigint
  readonly conf: bigint
  readonly expo: number
  /** Unix seconds. */
  readonly publish_time: number
  readonly prev_publish_time: number
  readonly ema_price: bigint
  readonly ema_conf: bigint
}

export interface WalkFeed {
  readonly id: string
  /** Pyth integer price (BTC at 65,000 USD with expo -8 is 6_500_000_000_000n). */
  readonly initialPrice: bigint
  readonly expo: number
  /** Standard deviation of one step's relative move, in parts per billion (default 100_000: 0.01%). */
  readonly volatilityPpb?: number
}

export interface PricePath {
  readonly feedIds: readonly string[]
  /** The latest point of every feed. */
  latest(): readonly PricePoint[]
  /**
   * Advances the path by one step and returns the points it published. Publish times advance in
   * whole seconds and strictly increase per feed: max(previous + 1, nowSeconds).
   */
  next(nowSeconds?: number): readonly PricePoint[]
}

export interface RandomWalk extends PricePath {
  /** Publishes a chosen price for one feed (confidence and EMA follow as for a walk step). */
  set(id: string, price: bigint, nowSeconds?: number): PricePoint
}

export class PricePathError extends Error {
  override readonly name = 'PricePathError'
}

const billion = 1_000_000_000n
/** The EMA's weight of the newest point is 1/emaWindow (Pyth's EMA spans about an hour of slots). */
const emaWindow = 60n
const defaultVolatilityPpb = 100_000

/**
 * A per-step volatility for the demo devnet (0.04%, four times the default). At one step a second a
 * position at 19x leverage, about 0.3% from its liquidation price, is typically liquidated within a
 * minute or two, so a newcomer sees liquidations happen. The default stays realistic for tests.
 */
export const demoVolatilityPpb = 400_000

/** The feeds with every step's volatility set to `volatilityPpb` (e.g. demoVolatilityPpb). */
export function withVolatility<F extends WalkFeed>(feeds: readonly F[], volatilityPpb: number): (F & { readonly volatilityPpb: number })[] {
  if (!Number.isSafeInteger(volatilityPpb) || volatilityPpb < 0) {
    throw new PricePathError(`volatilityPpb must be a non-negative integer, got ${volatilityPpb}`)
  }
  return feeds.map((feed) => ({ ...feed, volatilityPpb }))
}

/** Normalizes a feed id to 0x + 64 lowercase hex digits; throws on anything else. */
export function normalizeFeedId(id: string): string {
  const hex = (id.startsWith('0x') || id.startsWith('0X') ? id.slice(2) : id).toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new PricePathError(`not a Pyth feed id: ${JSON.stringify(id)}`)
  return `0x${hex}`
}

/**
 * mulberry32: a 32-bit PRNG with a full 2^32 period per seed. Not cryptographic; reproducibility is
 * the point.
 */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/**
 * A standard normal deviate scaled by 2^20, as an integer: the Irwin–Hall sum of twelve uniform
 * 20-bit integers minus its mean (variance 12·(1/12) = 1). Bounded by ±6σ, which suits prices.
 */
export function normalScaled(random: () => number): bigint {
  let sum = 0
  for (let i = 0; i < 12; i++) sum += random() >>> 12
  return BigInt(sum - 6 * (1 << 20))
}

/** A confidence interval of 0.02% to 0.06% of the price, as Pyth shows for liquid crypto pairs. */
function confidenceOf(price: bigint, random: () => number): bigint {
  const ppm = 200n + BigInt(random() % 401)
  const magnitude = price < 0n ? -price : price
  const conf = (magnitude * ppm) / 1_000_000n
  return conf === 0n ? 1n : conf
}

function emaStep(ema: bigint, value: bigint): bigint {
  return (ema * (emaWindow - 1n) + value) / emaWindow
}

function nextPublishTime(previous: number, nowSeconds: number | undefined): number {
  return Math.max(previous + 1, nowSeconds === undefined ? 0 : Math.floor(nowSeconds))
}

function advance(point: PricePoint, price: bigint, conf: bigint, nowSeconds: number | undefined): PricePoint {
  return {
    id: point.id,
    price,
    conf,
    expo: point.expo,
    publish_time: nextPublishTime(point.publish_time, nowSeconds),
    prev_publish_time: point.publish_time,
    ema_price: emaStep(point.ema_price, price),
    ema_conf: emaStep(point.ema_conf, conf),
  }
}

export interface RandomWalkOptions {
  readonly feeds: readonly WalkFeed[]
  readonly seed: number
  /** Unix seconds of the first point of every feed. */
  readonly startTime: number
}

/**
 * Geometric random walks, one per feed, from one seeded PRNG: each step multiplies the price by
 * (1 + σ·z) with z standard normal, in integer parts per billion. A price never falls below 1.
 */
export function createRandomWalk(options: RandomWalkOptions): RandomWalk {
  const random = createPrng(options.seed)
  const volatility = new Map<string, bigint>()
  const points = new Map<string, PricePoint>()
  for (const feed of options.feeds) {
    const id = normalizeFeedId(feed.id)
    if (points.has(id)) throw new PricePathError(`feed ${id} is listed twice`)
    if (feed.initialPrice <= 0n) {
      throw new PricePathError(`initial price of ${id} must be positive, got ${feed.initialPrice}`)
    }
    const conf = confidenceOf(feed.initialPrice, random)
    volatility.set(id, BigInt(feed.volatilityPpb ?? defaultVolatilityPpb))
    points.set(id, {
      id,
      price: feed.initialPrice,
      conf,
      expo: feed.expo,
      publish_time: Math.floor(options.startTime),
      prev_publish_time: Math.floor(options.startTime) - 1,
      ema_price: feed.initialPrice,
      ema_conf: conf,
    })
  }
  const current = (id: string): PricePoint => {
    const point = points.get(normalizeFeedId(id))
    if (point === undefined) throw new PricePathError(`unknown feed ${id}`)
    return point
  }
  const publish = (point: PricePoint, price: bigint, nowSeconds: number | undefined): PricePoint => {
    const next = advance(point, price, confidenceOf(price, random), nowSeconds)
    points.set(point.id, next)
    return next
  }
  return {
    feedIds: [...points.keys()],
    latest: () => [...points.values()],
    next(nowSeconds) {
      return [...points.values()].map((point) => {
        const movePpb = ((volatility.get(point.id) ?? 0n) * normalScaled(random)) >> 20n
        const moved = point.price + (point.price * movePpb) / billion
        return publish(point, moved < 1n ? 1n : moved, nowSeconds)
      })
    },
    set(id, price, nowSeconds) {
      if (price <= 0n) throw new PricePathError(`price of ${id} must be positive, got ${price}`)
      return publish(current(id), price, nowSeconds)
    },
  }
}

/** One line of a recorded path (JSON lines). Prices are integers, as strings or safe JS integers. */
export interface RecordedPoint {
  readonly id: string
  readonly price: bigint
  readonly conf: bigint
  readonly expo: number
  readonly publish_time: number
}

const integerText = z.union([z.string().regex(/^-?\d+$/), z.number().int().refine(Number.isSafeInteger)])
const recordedLine = z.object({
  id: z.string(),
  price: integerText,
  conf: integerText,
  expo: z.number().int().min(-18).max(18),
  publish_time: z.number().int().nonnegative(),
})

/** Parses a recorded path (one JSON object per line; blank lines are skipped). */
export function parseRecordedPath(text: string): RecordedPoint[] {
  const points: RecordedPoint[] = []
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (cause) {
      throw new PricePathError(`recorded path line ${index + 1} is not JSON`, { cause })
    }
    const parsed = recordedLine.safeParse(json)
    if (!parsed.success) {
      throw new PricePathError(`recorded path line ${index + 1}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
    }
    const { id, price, conf, expo, publish_time } = parsed.data
    points.push({ id: normalizeFeedId(id), price: BigInt(price), conf: BigInt(conf), expo, publish_time })
  })
  if (points.length === 0) throw new PricePathError('recorded path is empty')
  return points
}

/** The text of a recorded path, the inverse of parseRecordedPath. */
export function formatRecordedPath(points: readonly RecordedPoint[]): string {
  return points
    .map((p) => ({ id: p.id, price: `${p.price}`, conf: `${p.conf}`, expo: p.expo, publish_time: p.publish_time }))
    .map((line) => `${JSON.stringify(line)}\n`)
    .join('')
}

/**
 * Replays a recorded path: each step publishes the next group of consecutive lines that share a
 * publish time. At the end it starts over, shifting every publish time forward by the recording's
 * span plus one second, so publish times keep increasing per feed however long the replay runs.
 * nowSeconds is ignored: a replay keeps the recording's own clock.
 */
export function createReplayPath(recording: readonly RecordedPoint[]): PricePath {
  if (recording.length === 0) throw new PricePathError('recorded path is empty')
  const first = recording.reduce((min, p) => Math.min(min, p.publish_time), Number.POSITIVE_INFINITY)
  const last = recording.reduce((max, p) => Math.max(max, p.publish_time), 0)
  const span = last - first + 1
  const points = new Map<string, PricePoint>()
  let cursor = 0
  let lap = 0
  const take = (): PricePoint => {
    const line = recording[cursor] as RecordedPoint
    const publishTime = line.publish_time + lap * span
    const previous = points.get(line.id)
    const opening = { ...line, prev_publish_time: publishTime - 1, ema_price: line.price, ema_conf: line.conf }
    const point: PricePoint = {
      ...(previous === undefined ? opening : advance(previous, line.price, line.conf, undefined)),
      expo: line.expo,
      publish_time: publishTime,
    }
    if (previous !== undefined && publishTime <= previous.publish_time) {
      throw new PricePathError(`recorded path goes back in time for ${line.id} at publish_time ${line.publish_time}`)
    }
    points.set(line.id, point)
    cursor += 1
    if (cursor === recording.length) {
      cursor = 0
      lap += 1
    }
    return point
  }
  return {
    feedIds: [...new Set(recording.map((p) => p.id))],
    latest: () => [...points.values()],
    next() {
      const group = [take()]
      const time = group[0]?.publish_time
      while (cursor !== 0 && (recording[cursor] as RecordedPoint).publish_time + lap * span === time) group.push(take())
      return group
    },
  }
}
