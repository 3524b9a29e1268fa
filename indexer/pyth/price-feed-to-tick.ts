// The one mapping from a Pyth price (as any Hermes client library hands it over) to a price_tick
// record. Both tick sources go through it, so the same Pyth update gives byte-identical records
// whichever library fetched it.
import { formatDecimal, fromPythPrice } from '../records/decimal.ts'
import { tickId } from '../records/record-ids.ts'
import type { TickRecord } from '../records/schemas.ts'

export interface PythPrice {
  /** The feed id, with or without "0x", in any case (Hermes sends it bare and lowercase). */
  readonly feedId: string
  /** Pyth's integer price (int64) as decimal digits. */
  readonly price: string
  /** Pyth's integer confidence interval (uint64) as decimal digits. */
  readonly conf: string
  readonly expo: number
  /** Unix seconds. */
  readonly publishTime: number
  readonly marketId: string
}

export class PythPriceError extends Error {
  override readonly name = 'PythPriceError'
}

const feedIdPattern = /^(?:0x)?([0-9a-f]{64})$/i
const int64Max = 2n ** 63n - 1n
const int64Min = -(2n ** 63n)
const uint64Max = 2n ** 64n - 1n

/** "0x" and 64 lowercase hex digits: the one spelling of a feed id on the log. */
export function normalizePythFeedId(feedId: string): `0x${string}` {
  const match = feedIdPattern.exec(feedId)
  if (match?.[1] === undefined) throw new PythPriceError(`not a Pyth feed id: ${JSON.stringify(feedId)}`)
  return `0x${match[1].toLowerCase()}`
}

function integer(name: string, text: string, min: bigint, max: bigint): bigint {
  if (typeof text !== 'string' || !/^-?\d+$/.test(text)) {
    throw new PythPriceError(`Pyth ${name} is not an integer string: ${JSON.stringify(text)}`)
  }
  const value = BigInt(text)
  if (value < min || value > max) throw new PythPriceError(`Pyth ${name} is out of range: ${text}`)
  return value
}

/** The price_tick record of one Pyth price. Throws PythPriceError naming the bad field. */
export function priceFeedToTick(input: PythPrice): TickRecord {
  const feedId = normalizePythFeedId(input.feedId)
  const price = integer('price', input.price, int64Min, int64Max)
  const conf = integer('conf', input.conf, 0n, uint64Max)
  if (!Number.isInteger(input.expo) || input.expo < -18 || input.expo > 18) {
    throw new PythPriceError(`Pyth expo must be an integer from -18 to 18, got ${input.expo}`)
  }
  if (!Number.isSafeInteger(input.publishTime) || input.publishTime < 0) {
    throw new PythPriceError(`Pyth publish_time is not a unix time in seconds: ${input.publishTime}`)
  }
  return {
    v: 1,
    id: tickId(feedId, input.publishTime),
    type: 'price_tick',
    market_id: input.marketId,
    data: {
      feed_id: feedId,
      price: formatDecimal(fromPythPrice(price, input.expo)),
      confidence: formatDecimal(fromPythPrice(conf, input.expo)),
      expo: input.expo,
      price_raw: price.toString(),
      conf_raw: conf.toString(),
      publish_time: input.publishTime,
    },
  }
}
