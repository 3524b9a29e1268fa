// The AsyncAPI 3 document of the WebSocket API, generated from the zod schemas of ./messages.ts so
// the two cannot disagree. It is checked in as docs/asyncapi.json; a unit test fails when that file
// is stale. The document describes the gateway: it `send`s frames on each channel and `receive`s a
// client's ping, answered by pong.
//
// Payloads are generated in zod's input mode, so they list required fields without forbidding
// others: the client drops fields it does not know, and later versions of the API may add fields.
import { z } from 'zod'
import { frameSchemasOf } from './frame-schemas.ts'
import {
  chainReorg,
  clientPing,
  cursor,
  errorFrame,
  eventsConnected,
  framesByPath,
  fundingRateUpdate,
  liquidationAlert,
  liquidationsConnected,
  liquidationWarning,
  marketListed,
  marketStats,
  marketStatsConnected,
  pong,
  positionClosed,
  positionLiquidated,
  positionOpened,
  positionsConnected,
  positionsUpdate,
  priceConnected,
  priceUpdate,
} from './messages.ts'
import type { PathKind } from './messages.ts'

export type AsyncApiDocument = Readonly<Record<string, unknown>>

interface MessageEntry {
  readonly schema: z.ZodObject
  readonly title: string
  readonly summary: string
}

/** Every frame, keyed by its name under components.messages. */
const messageCatalog: Readonly<Record<string, MessageEntry>> = {
  priceConnected: { schema: priceConnected, title: 'Connected (prices)', summary: 'First frame on a price stream.' },
  priceUpdate: { schema: priceUpdate, title: 'Price update', summary: "The market's latest Pyth price, every second." },
  positionsConnected: { schema: positionsConnected, title: 'Connected (positions)', summary: 'First frame on a position stream.' },
  positionsUpdate: {
    schema: positionsUpdate,
    title: 'Positions update',
    summary: "The user's open positions with PnL and health, every 2 seconds.",
  },
  liquidationWarning: {
    schema: liquidationWarning,
    title: 'Liquidation warning',
    summary: "One of the user's positions has a health factor below 1.2.",
  },
  positionOpened: { schema: positionOpened, title: 'Position opened', summary: 'Raw event: a position was opened on chain.' },
  positionClosed: { schema: positionClosed, title: 'Position closed', summary: 'Raw event: a position was closed on chain.' },
  positionLiquidated: {
    schema: positionLiquidated,
    title: 'Position liquidated',
    summary: 'Raw event: a position was liquidated on chain.',
  },
  liquidationsConnected: { schema: liquidationsConnected, title: 'Connected (liquidations)', summary: 'First frame on the liquidation stream.' },
  liquidationAlert: {
    schema: liquidationAlert,
    title: 'Liquidation alert',
    summary: 'The positions that can be liquidated now, least healthy first, every 5 seconds.',
  },
  marketStatsConnected: { schema: marketStatsConnected, title: 'Connected (market stats)', summary: 'First frame on a market-stats stream.' },
  marketStats: {
    schema: marketStats,
    title: 'Market stats',
    summary: 'Open interest, funding rate and price of the market, every 5 seconds.',
  },
  fundingRateUpdate: { schema: fundingRateUpdate, title: 'Funding rate update', summary: 'Raw event: the market\'s funding was updated on chain.' },
  eventsConnected: { schema: eventsConnected, title: 'Connected (events)', summary: 'First frame on the event stream.' },
  marketListed: { schema: marketListed, title: 'Market listed', summary: 'Raw event: the contract listed a market.' },
  chainReorg: {
    schema: chainReorg,
    title: 'Chain reorganisation',
    summary: 'Raw event: the listed blocks left the canonical chain; every event from them is void.',
  },
  error: {
    schema: errorFrame,
    title: 'Error',
    summary: 'The request or a client frame was refused (unknown_market, bad_cursor, bad_frame, …).',
  },
  pong: { schema: pong, title: 'Pong', summary: "The answer to a client's ping." },
  ping: { schema: clientPing, title: 'Ping', summary: 'The only frame a client may send; answered by pong.' },
}

interface ChannelEntry {
  readonly path: PathKind
  readonly parameter?: 'market_id' | 'user_address'
  /** Whether the path carries raw events, and so resumes with ?from=<cursor>. */
  readonly resumable: boolean
  readonly title: string
  readonly description: string
}

const channelCatalog: readonly ChannelEntry[] = [
  { path: 'prices', parameter: 'market_id', resumable: false, title: 'Price stream', description: 'Real-time Pyth prices of one market, every second.' },
  {
    path: 'positions',
    parameter: 'user_address',
    resumable: true,
    title: 'Position stream',
    description: "A user's open positions with PnL and health every 2 seconds, liquidation warnings, and the raw events of the user's positions.",
  },
  { path: 'liquidations', resumable: false, title: 'Liquidation alerts', description: 'Positions at risk of liquidation, every 5 seconds, for bots and dashboards.' },
  {
    path: 'market-stats',
    parameter: 'market_id',
    resumable: true,
    title: 'Market statistics',
    description: "A market's open interest, funding rate and price every 5 seconds, and its funding rate updates as they happen.",
  },
  {
    path: 'events',
    resumable: true,
    title: 'Event stream',
    description: 'Every raw blockchain event of every market, in chain order per market, chain reorganisations included.',
  },
]

const parameters = {
  market_id: {
    description: 'The market slug.',
    examples: ['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp'],
  },
  user_address: {
    description: "The user's address in lowercase hex.",
    examples: ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8'],
  },
} as const

const description = [
  'Real-time prices, positions, liquidation alerts, market statistics and blockchain events of a perpetual-futures exchange.',
  '',
  'Every frame is one JSON object with a string `type`. Amounts are decimal strings, never JSON numbers. A client should ignore frame types and fields it does not know.',
  '',
  'Raw-event frames (position_opened, position_closed, position_liquidated, funding_rate_update, market_listed, chain_reorg) carry a `cursor`. Reconnecting to the same path with `?from=<cursor>` replays every raw event after it once, then goes live. Clients should reconnect with exponential backoff and jitter, starting at 5 s and at most 60 s.',
  '',
  'A client may send `{"type":"ping"}`, answered by `{"type":"pong"}`; any other frame is answered with an error frame. Connection counts are served over HTTP at GET /api/v1/ws/stats.',
].join('\n')

/** A JSON Schema (draft-07, the base of AsyncAPI's schema format) of a zod schema. */
function payloadSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...payload } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' })
  return payload
}

function messageNameOf(schema: z.ZodObject): string {
  const found = Object.entries(messageCatalog).find(([, entry]) => entry.schema === schema)
  if (found === undefined) throw new TypeError('a frame of framesByPath has no entry in the AsyncAPI message catalog')
  return found[0]
}

function componentMessages(): Record<string, unknown> {
  const entries = Object.entries(messageCatalog).map(([name, { schema, title, summary }]) => {
    const [frame] = frameSchemasOf(schema)
    return [name, { name: frame!.type, title, summary, contentType: 'application/json', payload: payloadSchema(schema) }]
  })
  return Object.fromEntries(entries)
}

const ref = (pointer: string): { $ref: string } => ({ $ref: pointer })

function channel(entry: ChannelEntry): Record<string, unknown> {
  const names = [...frameSchemasOf(framesByPath[entry.path]).map(({ schema }) => messageNameOf(schema)), 'ping']
  const query = entry.resumable
    ? { query: { type: 'object', properties: { from: payloadSchema(cursor) } } }
    : {}
  return {
    address: entry.parameter === undefined ? `/${entry.path}` : `/${entry.path}/{${entry.parameter}}`,
    title: entry.title,
    description: entry.description,
    ...(entry.parameter === undefined ? {} : { parameters: { [entry.parameter]: parameters[entry.parameter] } }),
    messages: Object.fromEntries(names.map((name) => [name, ref(`#/components/messages/${name}`)])),
    bindings: { ws: { method: 'GET', ...query, bindingVersion: '0.1.0' } },
  }
}

/** `send` of every frame but pong, and `receive` of ping with pong as its reply. */
function operations(entry: ChannelEntry): Record<string, unknown> {
  const channelRef = `#/channels/${entry.path}`
  const sent = frameSchemasOf(framesByPath[entry.path])
    .map(({ schema }) => messageNameOf(schema))
    .filter((name) => name !== 'pong')
  const key = entry.path.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase())
  const suffix = `${key[0]!.toUpperCase()}${key.slice(1)}`
  return {
    [`send${suffix}`]: {
      action: 'send',
      title: `Frames of the ${entry.title.toLowerCase()}`,
      channel: ref(channelRef),
      messages: sent.map((name) => ref(`${channelRef}/messages/${name}`)),
    },
    [`receive${suffix}Ping`]: {
      action: 'receive',
      title: `Ping on the ${entry.title.toLowerCase()}`,
      channel: ref(channelRef),
      messages: [ref(`${channelRef}/messages/ping`)],
      reply: { channel: ref(channelRef), messages: [ref(`${channelRef}/messages/pong`)] },
    },
  }
}

export function asyncApiDocument(): AsyncApiDocument {
  return {
    asyncapi: '3.0.0',
    id: 'urn:perp-indexer:websocket-api',
    info: { title: 'perp-indexer WebSocket API', version: '1.0.0', description, license: { name: 'MIT' } },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: 'localhost:8000',
        protocol: 'ws',
        pathname: '/api/v1/ws',
        description: 'The gateway of `npm start`.',
      },
    },
    channels: Object.fromEntries(channelCatalog.map((entry) => [entry.path, channel(entry)])),
    operations: Object.assign({}, ...channelCatalog.map(operations)) as Record<string, unknown>,
    components: { messages: componentMessages() },
  }
}

/** The exact bytes of docs/asyncapi.json: pretty-printed, with a trailing newline. */
export function renderAsyncApi(document: AsyncApiDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`
}
