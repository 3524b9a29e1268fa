// The wire format of Hermes, as the two Pyth client libraries parse it: v2 price updates (parsed
// prices beside a binary accumulator update), v1 PriceFeed JSON, the websocket's subscribe protocol
// and the feed list's attributes. Pure: the server in ./hermes-server.ts only moves these bytes.
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { normalizeFeedId, type PricePoint } from './price-paths.ts'

/** What one websocket client asked for one feed. */
export interface SocketSubscription {
  readonly verbose: boolean
  readonly binary: boolean
}

/** Pythnet's Wormhole chain id, which Hermes reports as the emitter of every price. */
const pythnetChainId = 26
const pythnetEpoch = 1_600_000_000

const socketMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('subscribe'),
    ids: z.array(z.string()),
    verbose: z.boolean().optional(),
    binary: z.boolean().optional(),
    allow_out_of_order: z.boolean().optional(),
  }),
  z.object({ type: z.literal('unsubscribe'), ids: z.array(z.string()) }),
])

/** Applies one client message to the socket's subscriptions; returns Hermes' response to it. */
export function handleSocketMessage(
  text: string,
  subscriptions: Map<string, SocketSubscription>,
  latest: ReadonlyMap<string, PricePoint>,
): object {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return { type: 'response', status: 'error', error: `Failed to parse message as JSON: ${text.slice(0, 100)}` }
  }
  const parsed = socketMessage.safeParse(json)
  if (!parsed.success) {
    return { type: 'response', status: 'error', error: 'Invalid message: expected subscribe or unsubscribe with ids' }
  }
  const ids: string[] = []
  for (const raw of parsed.data.ids) {
    try {
      ids.push(normalizeFeedId(raw))
    } catch {
      return { type: 'response', status: 'error', error: `Invalid price id: ${raw}` }
    }
  }
  if (parsed.data.type === 'unsubscribe') {
    for (const id of ids) subscriptions.delete(id)
    return { type: 'response', status: 'success' }
  }
  const missing = ids.filter((id) => !latest.has(id))
  if (missing.length > 0) {
    const names = missing.map((id) => id.slice(2)).join(', ')
    return { type: 'response', status: 'error', error: `Price feeds with ids ${names} not found` }
  }
  const subscription = { verbose: parsed.data.verbose ?? false, binary: parsed.data.binary ?? false }
  for (const id of ids) subscriptions.set(id, subscription)
  return { type: 'response', status: 'success' }
}

/** A plausible Pythnet slot for a publish time: Pythnet makes a slot every 400 ms. */
function slotOf(publishTime: number): number {
  return Math.floor((Math.max(0, publishTime - pythnetEpoch) * 5) / 2)
}

function rpcPrice(price: bigint, conf: bigint, point: PricePoint): object {
  return { price: price.toString(), conf: conf.toString(), expo: point.expo, publish_time: point.publish_time }
}

/** Hermes v2's PriceUpdate: the binary accumulator update and, when asked, the parsed prices. */
export function priceUpdate(points: readonly PricePoint[], encoding: 'hex' | 'base64', parsed: boolean): object {
  const binary = { encoding, data: [accumulatorUpdate(points).toString(encoding)] }
  if (!parsed) return { binary }
  return {
    binary,
    parsed: points.map((p) => ({
      id: p.id.slice(2),
      price: rpcPrice(p.price, p.conf, p),
      ema_price: rpcPrice(p.ema_price, p.ema_conf, p),
      metadata: {
        slot: slotOf(p.publish_time),
        proof_available_time: p.publish_time,
        prev_publish_time: p.prev_publish_time,
      },
    })),
  }
}

/** The PriceFeed JSON of Hermes' v1 API and websocket (ids without 0x). */
export function v1PriceFeed(point: PricePoint, verbose: boolean, binary: boolean): object {
  return {
    id: point.id.slice(2),
    price: rpcPrice(point.price, point.conf, point),
    ema_price: rpcPrice(point.ema_price, point.ema_conf, point),
    ...(verbose
      ? {
          metadata: {
            slot: slotOf(point.publish_time),
            emitter_chain: pythnetChainId,
            price_service_receive_time: point.publish_time,
            prev_publish_time: point.prev_publish_time,
          },
        }
      : {}),
    ...(binary ? { vaa: accumulatorUpdate([point]).toString('base64') } : {}),
  }
}

export interface FeedAttributes {
  readonly asset_type: string
  readonly symbol: string
  readonly [name: string]: string
}

export function feedAttributes(id: string, symbol: string): FeedAttributes {
  const name = symbol === '' ? `Crypto.${id.slice(2, 10).toUpperCase()}/USD` : symbol
  const [assetType = 'Crypto', pair = name] = name.split('.')
  const [base = pair, quote = 'USD'] = pair.split('/')
  return {
    asset_type: assetType,
    base,
    quote_currency: quote,
    symbol: name,
    display_symbol: pair,
    generic_symbol: `${base}${quote}`,
    description: `${base.toUpperCase()} / ${quote.toUpperCase()}`,
  }
}

/** Pyth's price feed message: variant 0, the feed id and the prices as big-endian integers. */
function priceFeedMessage(point: PricePoint): Buffer {
  const message = Buffer.alloc(85)
  message.writeUInt8(0, 0)
  Buffer.from(point.id.slice(2), 'hex').copy(message, 1)
  message.writeBigInt64BE(point.price, 33)
  message.writeBigUInt64BE(point.conf, 41)
  message.writeInt32BE(point.expo, 49)
  message.writeBigInt64BE(BigInt(point.publish_time), 53)
  message.writeBigInt64BE(BigInt(point.prev_publish_time), 61)
  message.writeBigInt64BE(point.ema_price, 69)
  message.writeBigUInt64BE(point.ema_conf, 77)
  return message
}

function digest20(...parts: readonly Buffer[]): Buffer {
  const hash = createHash('sha256')
  for (const part of parts) hash.update(part)
  return hash.digest().subarray(0, 20)
}

/**
 * An accumulator update ("PNAU" v1.0, Wormhole-Merkle proof) in the layout Pyth contracts and SDKs
 * parse: an unsigned VAA whose payload holds a root over the messages, then each message with a
 * one-node proof. Structurally valid, cryptographically meaningless.
 */
export function accumulatorUpdate(points: readonly PricePoint[]): Buffer {
  const messages = points.map(priceFeedMessage)
  const root = digest20(...messages)
  const slot = Buffer.alloc(8)
  slot.writeBigUInt64BE(BigInt(slotOf(points[0]?.publish_time ?? 0)))
  const ringSize = Buffer.alloc(4)
  ringSize.writeUInt32BE(messages.length)
  const payload = Buffer.concat([Buffer.from('AUWV'), Buffer.from([0]), slot, ringSize, root])
  const vaaHeader = Buffer.alloc(6 + 51)
  vaaHeader.writeUInt8(1, 0)
  vaaHeader.writeUInt32BE(4, 1)
  vaaHeader.writeUInt8(0, 5)
  vaaHeader.writeUInt32BE(points[0]?.publish_time ?? 0, 6)
  vaaHeader.writeUInt16BE(pythnetChainId, 14)
  digest20(Buffer.from('pythnet accumulator emitter')).copy(vaaHeader, 16)
  vaaHeader.writeBigUInt64BE(slot.readBigUInt64BE(), 48)
  const vaa = Buffer.concat([vaaHeader, payload])
  const head = Buffer.alloc(10)
  head.write('PNAU', 0, 'latin1')
  head.writeUInt8(1, 4)
  head.writeUInt8(0, 5)
  head.writeUInt8(0, 6)
  head.writeUInt8(0, 7)
  head.writeUInt16BE(vaa.length, 8)
  const updates = messages.map((m) => {
    const size = Buffer.alloc(2)
    size.writeUInt16BE(m.length)
    return Buffer.concat([size, m, Buffer.from([1]), digest20(root, m)])
  })
  return Buffer.concat([head, vaa, Buffer.from([messages.length]), ...updates])
}
