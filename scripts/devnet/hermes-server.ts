// A local Hermes-compatible price service for the devnet and the tests: it serves exactly what
// @pythnetwork/hermes-client and @pythnetwork/price-service-client call, with prices from a seeded
// random walk or a recorded path. The `binary` and `vaa` fields are well-formed accumulator updates
// carrying the served prices, but the VAA inside is unsigned: nothing here is meant to be verified.
//
//   GET /v2/updates/price/latest?ids[]=..   (hermes-client getLatestPriceUpdates)
//   GET /v2/updates/price/stream?ids[]=..   (hermes-client getPriceUpdatesStream, SSE)
//   GET /v2/price_feeds                      (hermes-client getPriceFeeds)
//   GET /api/latest_price_feeds?ids[]=..    (price-service-client getLatestPriceFeeds)
//   WS  /ws                                  (price-service-client subscribePriceFeedUpdates)
//
// With an API key configured, every request must carry `Authorization: Bearer <key>` (the form
// Pyth documents for Hermes), or it is answered 401.
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { pathToFileURL } from 'node:url'
import { WebSocketServer, type WebSocket } from 'ws'
import { z } from 'zod'
import { markets } from '../../contracts-abi/markets.ts'
import { optionSchemas, parseCommandLine } from '../../indexer/runtime/command-line.ts'
import { createLogger } from '../../indexer/runtime/logger.ts'
import {
  createRandomWalk,
  createReplayPath,
  normalizeFeedId,
  parseRecordedPath,
  type PricePath,
  type PricePoint,
  type RandomWalk,
} from './price-paths.ts'
import {
  feedAttributes,
  handleSocketMessage,
  priceUpdate,
  v1PriceFeed,
  type SocketSubscription,
} from './hermes-wire.ts'

export interface HermesServerFeed {
  readonly id: string
  /** Pyth integer price at start (65,000 USD at expo -8 is 6_500_000_000_000n). */
  readonly initialPrice: bigint
  readonly expo: number
  /** Hermes' symbol, e.g. "Crypto.BTC/USD", listed by /v2/price_feeds. */
  readonly symbol?: string
  /** Standard deviation of one step's relative move, in parts per billion (default: price-paths.ts). */
  readonly volatilityPpb?: number
}

export interface HermesServerOptions {
  readonly host?: string
  /** 0 picks a free port. */
  readonly port?: number
  /** Served unless replayFile is given, in which case the recording's feeds are served. */
  readonly feeds: readonly HermesServerFeed[]
  /** Time between published updates (default 1000). 0 publishes only on publishNow/pushPrice. */
  readonly intervalMs?: number
  readonly apiKey?: string
  /** Seed of the random walk (default 1). */
  readonly seed?: number
  /** A recorded path (JSON lines of {id, price, conf, expo, publish_time}) to replay instead. */
  readonly replayFile?: string
  /** Websocket ping period (default 25000; the price-service client drops a socket silent for 33s). */
  readonly pingIntervalMs?: number
}

export interface HermesServer {
  /** http://host:port, the endpoint both client libraries take. */
  readonly url: string
  readonly port: number
  /** Publishes one step of the path to every subscriber now; returns the published points. */
  publishNow(): readonly PricePoint[]
  /** Publishes a chosen Pyth integer price for one feed (random walk only). */
  pushPrice(id: string, price: bigint): PricePoint
  /** Ends every open stream and websocket while the server keeps listening (clients must reconnect). */
  dropConnections(): void
  close(): Promise<void>
}

interface StreamClient {
  readonly res: ServerResponse
  readonly ids: ReadonlySet<string>
  readonly encoding: 'hex' | 'base64'
  readonly parsed: boolean
}

/** The open SSE streams and websockets, and the fan-out of each published update to them. */
function createSubscribers() {
  const streams = new Set<StreamClient>()
  const sockets = new Map<WebSocket, Map<string, SocketSubscription>>()
  return {
    addStream(client: StreamClient): void {
      streams.add(client)
      client.res.on('close', () => streams.delete(client))
    },
    addSocket(ws: WebSocket, latest: ReadonlyMap<string, PricePoint>): void {
      const subscriptions = new Map<string, SocketSubscription>()
      sockets.set(ws, subscriptions)
      ws.on('message', (data) => ws.send(JSON.stringify(handleSocketMessage(data.toString(), subscriptions, latest))))
      ws.on('close', () => sockets.delete(ws))
      ws.on('error', () => sockets.delete(ws))
    },
    broadcast(points: readonly PricePoint[]): void {
      for (const client of streams) {
        const mine = points.filter((p) => client.ids.has(p.id))
        if (mine.length === 0) continue
        client.res.write(`data: ${JSON.stringify(priceUpdate(mine, client.encoding, client.parsed))}\n\n`)
      }
      for (const [socket, subscriptions] of sockets) {
        for (const point of points) {
          const subscription = subscriptions.get(point.id)
          if (subscription === undefined) continue
          const priceFeed = v1PriceFeed(point, subscription.verbose, subscription.binary)
          socket.send(JSON.stringify({ type: 'price_update', price_feed: priceFeed }))
        }
      }
    },
    ping(): void {
      for (const socket of sockets.keys()) socket.ping()
    },
    dropAll(): void {
      for (const client of streams) client.res.destroy()
      streams.clear()
      for (const socket of sockets.keys()) socket.terminate()
      sockets.clear()
    },
  }
}

type Subscribers = ReturnType<typeof createSubscribers>
type Route = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => void

function createRoutes(
  latest: ReadonlyMap<string, PricePoint>,
  symbols: ReadonlyMap<string, string>,
  subscribers: Subscribers,
): Readonly<Record<string, Route>> {
  return {
    '/v2/updates/price/latest': (_req, res, query) => {
      const points = selectPoints(query, latest, res)
      if (points !== undefined) sendJson(res, 200, priceUpdate(points, encodingOf(query), flag(query, 'parsed', true)))
    },
    '/v2/updates/price/stream': (req, res, query) => {
      const points = selectPoints(query, latest, res)
      if (points === undefined) return
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.flushHeaders()
      req.socket.setNoDelay(true)
      const ids = new Set(points.map((p) => p.id))
      subscribers.addStream({ res, ids, encoding: encodingOf(query), parsed: flag(query, 'parsed', true) })
    },
    '/v2/price_feeds': (_req, res, query) => {
      const text = (query.get('query') ?? '').toLowerCase()
      const assetType = (query.get('asset_type') ?? '').toLowerCase()
      const list = [...latest.keys()]
        .map((id) => ({ id: id.slice(2), attributes: feedAttributes(id, symbols.get(id) ?? '') }))
        .filter((f) => f.attributes.symbol.toLowerCase().includes(text))
        .filter((f) => assetType === '' || f.attributes.asset_type.toLowerCase() === assetType)
      sendJson(res, 200, list)
    },
    '/api/latest_price_feeds': (_req, res, query) => {
      const points = selectPoints(query, latest, res)
      if (points === undefined) return
      const verbose = flag(query, 'verbose', false)
      const binary = flag(query, 'binary', false)
      sendJson(res, 200, points.map((p) => v1PriceFeed(p, verbose, binary)))
    },
  }
}

function createPath(options: HermesServerOptions): { path: PricePath; walk: RandomWalk | undefined } {
  if (options.replayFile !== undefined) {
    return { path: createReplayPath(parseRecordedPath(readFileSync(options.replayFile, 'utf8'))), walk: undefined }
  }
  const walk = createRandomWalk({ feeds: options.feeds, seed: options.seed ?? 1, startTime: Date.now() / 1000 })
  return { path: walk, walk }
}

export async function startHermesServer(options: HermesServerOptions): Promise<HermesServer> {
  const { path, walk } = createPath(options)
  const latest = new Map<string, PricePoint>()
  const subscribers = createSubscribers()
  const publish = (points: readonly PricePoint[]): readonly PricePoint[] => {
    for (const point of points) latest.set(point.id, point)
    subscribers.broadcast(points)
    return points
  }
  // A replay has no point before its first step; a walk starts at its initial prices.
  publish(walk === undefined ? path.next() : path.latest())

  const authorized = (req: IncomingMessage): boolean =>
    options.apiKey === undefined || sameSecret(bearerToken(req), options.apiKey)
  const symbols = new Map(options.feeds.map((f) => [normalizeFeedId(f.id), f.symbol ?? '']))
  const routes = createRoutes(latest, symbols, subscribers)
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hermes.local')
    res.setHeader('access-control-allow-origin', '*')
    if (!authorized(req)) return sendJson(res, 401, unauthorizedBody)
    const route = routes[url.pathname]
    if (req.method !== 'GET' || route === undefined) {
      return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` })
    }
    route(req, res, url.searchParams)
  })
  const wss = new WebSocketServer({ noServer: true })
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const pathname = new URL(req.url ?? '/', 'http://hermes.local').pathname
    if (pathname !== '/ws') return refuseUpgrade(socket, '404 Not Found', { error: `no websocket at ${pathname}` })
    if (!authorized(req)) return refuseUpgrade(socket, '401 Unauthorized', unauthorizedBody)
    wss.handleUpgrade(req, socket, head, (ws) => subscribers.addSocket(ws, latest))
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const intervalMs = options.intervalMs ?? 1000
  const publishTimer = intervalMs > 0 ? setInterval(() => publish(path.next(Date.now() / 1000)), intervalMs) : undefined
  const pingTimer = setInterval(() => subscribers.ping(), options.pingIntervalMs ?? 25_000)
  pingTimer.unref()
  const { port, address } = server.address() as AddressInfo
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    port,
    publishNow: () => publish(path.next(Date.now() / 1000)),
    pushPrice(id, price) {
      if (walk === undefined) throw new Error('pushPrice needs a random-walk server, not a replay')
      const point = walk.set(id, price, Date.now() / 1000)
      publish([point])
      return point
    },
    dropConnections: () => subscribers.dropAll(),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(publishTimer)
        clearInterval(pingTimer)
        subscribers.dropAll()
        wss.close()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function refuseUpgrade(socket: Socket, status: string, body: object): void {
  const headers = 'content-type: application/json\r\nconnection: close'
  socket.end(`HTTP/1.1 ${status}\r\n${headers}\r\n\r\n${JSON.stringify(body)}`)
}

function bearerToken(req: IncomingMessage): string {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? ''
}

const unauthorizedBody = { error: 'unauthorized: send the API key as "Authorization: Bearer <key>"' }

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

function flag(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const value = query.get(name)
  return value === null ? fallback : value === 'true' || value === '1'
}

function encodingOf(query: URLSearchParams): 'hex' | 'base64' {
  return query.get('encoding') === 'base64' ? 'base64' : 'hex'
}

/**
 * The latest points of the ids asked for, or undefined once an error was sent: 400 for a malformed
 * or missing id, 404 naming the unknown ids (as Hermes does) unless ignore_invalid_price_ids is set.
 */
function selectPoints(
  query: URLSearchParams,
  latest: ReadonlyMap<string, PricePoint>,
  res: ServerResponse,
): PricePoint[] | undefined {
  const asked = [...query.getAll('ids[]'), ...query.getAll('ids')]
  const ignoreInvalid = flag(query, 'ignore_invalid_price_ids', false)
  const ids: string[] = []
  for (const raw of asked) {
    try {
      ids.push(normalizeFeedId(raw))
    } catch {
      if (!ignoreInvalid) return void sendText(res, 400, `Invalid price id: ${raw}`)
    }
  }
  const missing = ids.filter((id) => !latest.has(id))
  if (missing.length > 0 && !ignoreInvalid) {
    return void sendText(res, 404, `Price ids not found: ${missing.map((id) => id.slice(2)).join(', ')}`)
  }
  const points = [...new Set(ids)].flatMap((id) => latest.get(id) ?? [])
  if (points.length === 0) return void sendText(res, 400, 'ids[] must name at least one known price feed')
  return points
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text)
}

/** Start prices of the devnet markets' feeds, in USD (expo -8). */
const devnetStartPrices: Readonly<Record<string, bigint>> = {
  'Crypto.BTC/USD': 65_000n,
  'Crypto.ETH/USD': 3_500n,
  'Crypto.SOL/USD': 150n,
}

export const devnetFeeds: readonly HermesServerFeed[] = markets.map((m) => ({
  id: m.pythFeedId,
  initialPrice: (devnetStartPrices[m.pythSymbol] ?? 100n) * 100_000_000n,
  expo: -8,
  symbol: m.pythSymbol,
}))

const command = {
  name: 'tsx scripts/devnet/hermes-server.ts',
  summary: "A local Hermes-compatible price service for the devnet markets' Pyth feeds (random walk or replay).",
  options: {
    host: {
      env: 'HERMES_HOST',
      flag: '--host',
      description: 'Interface to listen on',
      schema: z.string().min(1).default('127.0.0.1'),
    },
    port: {
      env: 'HERMES_PORT',
      flag: '--port',
      description: 'Port (0 picks a free one)',
      schema: optionSchemas.port.default(8090),
    },
    apiKey: {
      env: 'HERMES_API_KEY',
      flag: '--api-key',
      description: 'Require "Authorization: Bearer <key>"',
      schema: z.string().min(1).optional(),
    },
    intervalMs: {
      env: 'HERMES_INTERVAL_MS',
      flag: '--interval-ms',
      description: 'Milliseconds between updates',
      schema: optionSchemas.positiveInt.default(1000),
    },
    seed: {
      env: 'HERMES_SEED',
      flag: '--seed',
      description: 'Random walk seed',
      schema: optionSchemas.nonNegativeInt.default(1),
    },
    replayFile: {
      env: 'HERMES_REPLAY_FILE',
      flag: '--replay-file',
      description: 'JSON lines path to replay',
      schema: z.string().min(1).optional(),
    },
  },
} as const

async function main(): Promise<void> {
  const logger = createLogger({ fields: { component: 'hermes-server' } })
  const parsed = parseCommandLine(command, process.argv.slice(2), process.env)
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text)
    return
  }
  const { apiKey, replayFile, ...config } = parsed.config
  const server = await startHermesServer({
    ...config,
    feeds: devnetFeeds,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(replayFile === undefined ? {} : { replayFile }),
  })
  const apiKeyRequired = apiKey !== undefined
  logger.info('serving Hermes-compatible price feeds', { url: server.url, apiKeyRequired, replayFile })
  const shutdown = (): void => void server.close().then(() => logger.info('stopped'))
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  })
}
