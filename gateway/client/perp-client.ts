// The typed client of the gateway's WebSocket API. Each method opens one subscription that
// validates every frame with the zod schemas of ../protocol/messages.ts, reconnects with exponential
// backoff and jitter, and resumes after the last raw event it delivered on the paths that carry raw
// events (positions, market-stats, events). It imports no WebSocket implementation: pass one
// (`ws` in Node 20, see ./node-perp-client.ts), or the global one is used where it exists.
import type { BackoffPolicy } from './backoff.ts'
import { assertBackoffPolicy, specBackoff } from './backoff.ts'
import { InvalidClientOptionError } from './client-errors.ts'
import type { PathKind } from '../protocol/messages.ts'
import type { HeartbeatPolicy } from './heartbeat.ts'
import { defaultHeartbeat } from './heartbeat.ts'
import type { Subscription, SubscriptionHandlers } from './reconnecting-subscription.ts'
import { createReconnectingSubscription } from './reconnecting-subscription.ts'
import { parseBaseUrl, subscriptionUrl, validCursor, validMarketId, validUserAddress } from './subscription-url.ts'
import type { WebSocketConstructor } from './web-socket-like.ts'

export type { BackoffPolicy } from './backoff.ts'
export { specBackoff } from './backoff.ts'
export { InvalidClientOptionError, InvalidFrameError, InvalidSubscriptionError } from './client-errors.ts'
export type { HeartbeatPolicy } from './heartbeat.ts'
export type { UnknownFrame } from './parse-frame.ts'
export type { ClientFrameOf, DisconnectEvent, OpenEvent, Subscription, SubscriptionHandlers } from './reconnecting-subscription.ts'
export type { WebSocketConstructor, WebSocketLike } from './web-socket-like.ts'

export interface PerpClientOptions {
  /** The API's WebSocket base, e.g. "ws://localhost:8000/api/v1/ws". */
  readonly baseUrl: string
  /** Defaults to globalThis.WebSocket (browsers, Node 22); Node 20 needs ws's. */
  readonly WebSocket?: WebSocketConstructor
  /** Defaults to the spec's advice, specBackoff: 5 s doubling up to 60 s. */
  readonly backoff?: Partial<BackoffPolicy>
  /** Pings after silence and replaces a connection that stays silent; false disables it. */
  readonly heartbeat?: HeartbeatPolicy | false
  /** The jitter's source of randomness, in [0, 1). Defaults to Math.random. */
  readonly random?: () => number
}

/** Handlers of a path that carries raw events, which can resume after a cursor saved earlier. */
export interface ResumableHandlers<P extends PathKind> extends SubscriptionHandlers<P> {
  /** Start by replaying every raw event after this cursor, instead of live. */
  readonly from?: string
}

export interface PerpClient {
  prices(marketId: string, handlers: SubscriptionHandlers<'prices'>): Subscription
  positions(userAddress: string, handlers: ResumableHandlers<'positions'>): Subscription
  liquidations(handlers: SubscriptionHandlers<'liquidations'>): Subscription
  marketStats(marketId: string, handlers: ResumableHandlers<'market-stats'>): Subscription
  events(handlers: ResumableHandlers<'events'>): Subscription
}

function globalWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
}

export function createPerpClient(options: PerpClientOptions): PerpClient {
  const base = parseBaseUrl(options.baseUrl)
  const WebSocket = options.WebSocket ?? globalWebSocket()
  if (WebSocket === undefined) {
    throw new InvalidClientOptionError('WebSocket', 'this runtime has no global WebSocket; pass one, e.g. the ws package')
  }
  const socketClass: WebSocketConstructor = WebSocket
  const backoff: BackoffPolicy = { ...specBackoff, ...options.backoff }
  assertBackoffPolicy(backoff)
  const heartbeat = options.heartbeat ?? defaultHeartbeat
  const random = options.random ?? Math.random

  function subscribe<P extends PathKind>(
    path: P,
    parameter: string | undefined,
    handlers: SubscriptionHandlers<P>,
    from: string | undefined,
  ): Subscription {
    return createReconnectingSubscription({
      path,
      url: (cursor) => subscriptionUrl(base, path, parameter, cursor),
      WebSocket: socketClass,
      backoff,
      heartbeat,
      random,
      from: validCursor(from),
      handlers,
    })
  }

  return {
    prices: (marketId, handlers) => subscribe('prices', validMarketId(marketId), handlers, undefined),
    positions: (userAddress, handlers) => subscribe('positions', validUserAddress(userAddress), handlers, handlers.from),
    liquidations: (handlers) => subscribe('liquidations', undefined, handlers, undefined),
    marketStats: (marketId, handlers) => subscribe('market-stats', validMarketId(marketId), handlers, handlers.from),
    events: (handlers) => subscribe('events', undefined, handlers, handlers.from),
  }
}
