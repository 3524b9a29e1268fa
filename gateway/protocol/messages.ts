// Every frame of the WebSocket API (../shared/seed/WEBSOCKET_API.md, "the spec"), as zod schemas:
// the server builds frames of these types, the typed client validates what it receives with them,
// and the AsyncAPI document is generated from them. Field names, nesting and value types are the
// spec's: amounts are decimal strings, `price_update.timestamp` is unix seconds, every other
// `timestamp` an ISO 8601 string.
//
// Additions to the spec, all additive (a client written against the spec ignores them):
// - `cursor` on every raw-event frame (position_opened, position_closed, position_liquidated,
//   funding_rate_update, market_listed, chain_reorg): reconnecting with ?from=<cursor> replays what
//   was missed, then goes live;
// - the `events` path (the spec's stats count its connections) and its `connected` frame, and the
//   `connected` frames of the liquidations and market-stats paths;
// - `market_listed` and `chain_reorg` raw events on the `events` path;
// - `error` frames, and `pong` answering a client's {"type":"ping"}.
import { z } from 'zod'

/**
 * A plain decimal string, e.g. "50000.5", "-12", "0.0001": no exponent, no "+". The server sends
 * canonical ones (no trailing fractional zeros); the spec's own "50000.50" and "2.0" are accepted.
 */
export const decimalString = z
  .string()
  .regex(/^-?(0|[1-9]\d*)(\.\d+)?$/, { error: 'expected a decimal string such as "50000.5"' })
  .meta({ description: 'An exact decimal number as a string, e.g. "50000.5". Never a JSON number.' })

export const isoTimestamp = z.iso.datetime({ offset: false }).meta({ description: 'ISO 8601 UTC time, e.g. "2024-01-15T10:00:00Z".' })
export const unixSeconds = z.number().int().nonnegative().meta({ description: 'Unix time in seconds.' })
export const marketIdField = z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/).meta({ description: 'Market slug, e.g. "btc-usdc-perp".' })
export const addressField = z.string().regex(/^0x[0-9a-f]{40}$/).meta({ description: 'An address, lowercase hex.' })
export const hashField = z.string().regex(/^0x[0-9a-f]{64}$/).meta({ description: 'A 32-byte hash, lowercase hex.' })
export const side = z.enum(['long', 'short'])
export const cursor = z.string().min(1).meta({
  description: 'Opaque resume point just after this event. Reconnect with ?from=<cursor> to receive every later event once.',
})

// prices/{market_id}

export const priceConnected = z.object({
  type: z.literal('connected'),
  market_id: marketIdField,
  symbol: z.string(),
  message: z.string(),
})

export const priceUpdate = z.object({
  type: z.literal('price_update'),
  market_id: marketIdField,
  symbol: z.string(),
  price: decimalString,
  confidence: decimalString,
  /** The Pyth publish time. */
  timestamp: unixSeconds,
  /** Whole seconds between the publish time and the moment the frame was sent. */
  age_seconds: z.number().int().nonnegative(),
})

// positions/{user_address}

export const positionsConnected = z.object({
  type: z.literal('connected'),
  user_address: addressField,
  message: z.string(),
})

export const positionSnapshot = z.object({
  position_id: hashField,
  market_id: marketIdField,
  symbol: z.string(),
  side,
  size: decimalString,
  entry_price: decimalString,
  current_price: decimalString,
  unrealized_pnl: decimalString,
  health_factor: decimalString,
  liquidation_price: decimalString,
  is_at_risk: z.boolean(),
})

export const positionsUpdate = z.object({
  type: z.literal('positions_update'),
  user_address: addressField,
  positions: z.array(positionSnapshot),
  total_unrealized_pnl: decimalString,
  timestamp: isoTimestamp,
})

export const liquidationWarning = z.object({
  type: z.literal('liquidation_warning'),
  data: z.object({
    position_id: hashField,
    market_id: marketIdField,
    health_factor: decimalString,
    liquidation_price: decimalString,
    message: z.string(),
  }),
  timestamp: isoTimestamp,
})

export const positionOpened = z.object({
  type: z.literal('position_opened'),
  data: z.object({
    position_id: hashField,
    user_address: addressField,
    market_id: marketIdField,
    side,
    size: decimalString,
    collateral: decimalString,
    leverage: decimalString,
    entry_price: decimalString,
    transaction_hash: hashField,
  }),
  /** The block's time. */
  timestamp: isoTimestamp,
  cursor,
})

export const positionClosed = z.object({
  type: z.literal('position_closed'),
  data: z.object({
    position_id: hashField,
    user_address: addressField,
    market_id: marketIdField,
    exit_price: decimalString,
    realized_pnl: decimalString,
    transaction_hash: hashField,
  }),
  timestamp: isoTimestamp,
  cursor,
})

export const positionLiquidated = z.object({
  type: z.literal('position_liquidated'),
  data: z.object({
    position_id: hashField,
    user_address: addressField,
    market_id: marketIdField,
    liquidator_address: addressField,
    liquidation_price: decimalString,
    liquidation_fee: decimalString,
    transaction_hash: hashField,
  }),
  timestamp: isoTimestamp,
  cursor,
})

// liquidations

export const liquidationCandidate = z.object({
  position_id: hashField,
  user_address: addressField,
  market_id: marketIdField,
  health_factor: decimalString,
  liquidation_price: decimalString,
  current_price: decimalString,
  potential_reward: decimalString,
})

export const liquidationsConnected = z.object({ type: z.literal('connected'), message: z.string() })

export const liquidationAlert = z.object({
  type: z.literal('liquidation_alert'),
  count: z.number().int().nonnegative(),
  /** The least healthy first. */
  candidates: z.array(liquidationCandidate),
  timestamp: isoTimestamp,
})

// market-stats/{market_id}

export const marketStatsConnected = z.object({
  type: z.literal('connected'),
  market_id: marketIdField,
  symbol: z.string(),
  message: z.string(),
})

export const marketStats = z.object({
  type: z.literal('market_stats'),
  market_id: marketIdField,
  symbol: z.string(),
  current_price: decimalString,
  total_long_oi: decimalString,
  total_short_oi: decimalString,
  total_oi: decimalString,
  funding_rate: decimalString,
  last_funding_update: isoTimestamp,
  timestamp: isoTimestamp,
})

export const fundingRateUpdate = z.object({
  type: z.literal('funding_rate_update'),
  data: z.object({
    market_id: marketIdField,
    funding_rate: decimalString,
    long_oi: decimalString,
    short_oi: decimalString,
  }),
  timestamp: isoTimestamp,
  cursor,
})

// events

export const eventsConnected = z.object({ type: z.literal('connected'), message: z.string() })

export const marketListed = z.object({
  type: z.literal('market_listed'),
  data: z.object({
    market_id: marketIdField,
    symbol: z.string(),
    pyth_feed_id: hashField,
    maintenance_margin_ratio: decimalString,
    liquidation_fee_ratio: decimalString,
    transaction_hash: hashField,
  }),
  timestamp: isoTimestamp,
  cursor,
})

export const chainReorg = z.object({
  type: z.literal('chain_reorg'),
  data: z.object({
    market_id: marketIdField,
    common_ancestor_block: z.number().int().nonnegative(),
    orphaned_blocks: z.array(z.object({ block_number: z.number().int().nonnegative(), block_hash: hashField })),
  }),
  timestamp: isoTimestamp,
  cursor,
})

// any path

export const errorFrame = z.object({
  type: z.literal('error'),
  /** Machine-readable: unknown_market, bad_cursor, bad_frame, … */
  code: z.string(),
  message: z.string(),
})

export const pong = z.object({ type: z.literal('pong') })

/** The only frame a client may send (anything else is answered with an error frame). */
export const clientPing = z.object({ type: z.literal('ping') })

/** The raw blockchain events, as pushed on the positions, market-stats and events paths. */
export const rawEventFrame = z.discriminatedUnion('type', [
  positionOpened,
  positionClosed,
  positionLiquidated,
  fundingRateUpdate,
  marketListed,
  chainReorg,
])

/** What each path may send, for the client's validation and the AsyncAPI document. */
export const framesByPath = {
  prices: z.union([priceConnected, priceUpdate, errorFrame, pong]),
  positions: z.union([positionsConnected, positionsUpdate, liquidationWarning, positionOpened, positionClosed, positionLiquidated, errorFrame, pong]),
  liquidations: z.union([liquidationsConnected, liquidationAlert, errorFrame, pong]),
  'market-stats': z.union([marketStatsConnected, marketStats, fundingRateUpdate, errorFrame, pong]),
  events: z.union([eventsConnected, rawEventFrame, errorFrame, pong]),
} as const

export type PathKind = keyof typeof framesByPath

export const statsResponse = z.object({
  success: z.literal(true),
  data: z.object({
    total_connections: z.number().int().nonnegative(),
    by_type: z.object({
      prices: z.number().int().nonnegative(),
      positions: z.number().int().nonnegative(),
      liquidations: z.number().int().nonnegative(),
      events: z.number().int().nonnegative(),
      'market-stats': z.number().int().nonnegative(),
    }),
    user_connections: z.number().int().nonnegative(),
    market_connections: z.number().int().nonnegative(),
  }),
})

export type PriceConnected = z.infer<typeof priceConnected>
export type PriceUpdate = z.infer<typeof priceUpdate>
export type PositionsConnected = z.infer<typeof positionsConnected>
export type PositionSnapshot = z.infer<typeof positionSnapshot>
export type PositionsUpdate = z.infer<typeof positionsUpdate>
export type LiquidationWarning = z.infer<typeof liquidationWarning>
export type PositionOpened = z.infer<typeof positionOpened>
export type PositionClosed = z.infer<typeof positionClosed>
export type PositionLiquidated = z.infer<typeof positionLiquidated>
export type LiquidationCandidate = z.infer<typeof liquidationCandidate>
export type LiquidationAlert = z.infer<typeof liquidationAlert>
export type MarketStatsConnected = z.infer<typeof marketStatsConnected>
export type MarketStats = z.infer<typeof marketStats>
export type FundingRateUpdate = z.infer<typeof fundingRateUpdate>
export type MarketListed = z.infer<typeof marketListed>
export type ChainReorg = z.infer<typeof chainReorg>
export type RawEventFrame = z.infer<typeof rawEventFrame>
export type ErrorFrame = z.infer<typeof errorFrame>
export type StatsResponse = z.infer<typeof statsResponse>
export type FrameOf<P extends PathKind> = z.infer<(typeof framesByPath)[P]>
