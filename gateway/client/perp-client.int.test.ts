// The client against a real `ws` server over a real socket on 127.0.0.1. The gateway server is
// tested on its own; here the server is scripted per test, so that failures, silences and bad
// frames happen exactly when a test needs them.
import type { AddressInfo, Socket } from 'node:net'
import { createServer } from 'node:net'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { afterEach, describe, expect, it } from 'vitest'
import type { InvalidFrameError } from './client-errors.ts'
import { createNodePerpClient } from './node-perp-client.ts'
import type { PerpClientOptions } from './perp-client.ts'
import type { ClientFrameOf, DisconnectEvent, Subscription } from './reconnecting-subscription.ts'
import type { UnknownFrame } from './parse-frame.ts'

interface Attempt {
  /** The request path and query, e.g. /api/v1/ws/events?from=c2. */
  readonly url: string
  readonly at: number
}

interface ScriptedServer {
  readonly baseUrl: string
  readonly attempts: Attempt[]
  /** Messages the clients sent, as text. */
  readonly received: string[]
  close(): Promise<void>
}

interface Script {
  /** Whether upgrade attempt `index` (from 0) is accepted; refused ones are answered 503. */
  accept?(index: number): boolean
  /** Runs for each accepted socket, with the index of its attempt. */
  onConnection?(socket: WebSocket, index: number): void
}

const servers: ScriptedServer[] = []
const subscriptions: Subscription[] = []

afterEach(async () => {
  for (const subscription of subscriptions.splice(0)) subscription.close()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function startServer(script: Script): Promise<ScriptedServer> {
  const attempts: Attempt[] = []
  const received: string[] = []
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (info, callback) => {
      attempts.push({ url: info.req.url ?? '', at: performance.now() })
      callback(script.accept?.(attempts.length - 1) ?? true, 503)
    },
  })
  wss.on('connection', (socket) => {
    const index = attempts.length - 1
    socket.on('message', (data) => received.push(String(data)))
    script.onConnection?.(socket, index)
  })
  await new Promise<void>((resolve) => wss.once('listening', resolve))
  const { port } = wss.address() as AddressInfo
  const server: ScriptedServer = {
    baseUrl: `ws://127.0.0.1:${port}/api/v1/ws`,
    attempts,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resolve())
      }),
  }
  servers.push(server)
  return server
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function client(server: ScriptedServer, options: Omit<PerpClientOptions, 'baseUrl' | 'WebSocket'> = {}) {
  return createNodePerpClient({
    baseUrl: server.baseUrl,
    backoff: { baseDelayMs: 20, maxDelayMs: 160, jitter: 0.5 },
    heartbeat: false,
    ...options,
  })
}

/** A raw-event frame of the events path, as the gateway sends it. */
function fundingFrame(cursor: string, fundingRate: string) {
  return {
    type: 'funding_rate_update',
    data: { market_id: 'btc-usdc-perp', funding_rate: fundingRate, long_oi: '1100000', short_oi: '950000' },
    timestamp: '2024-01-15T10:00:00Z',
    cursor,
  } as const
}

const eventsConnected = { type: 'connected', message: 'Connected to event stream' } as const

describe('perp client over a real WebSocket', () => {
  it('delivers typed frames of its path', async () => {
    const server = await startServer({
      onConnection: (socket) => {
        socket.send(JSON.stringify({ type: 'connected', market_id: 'btc-usdc-perp', symbol: 'BTC/USDC', message: 'Connected to price stream' }))
        socket.send(
          JSON.stringify({
            type: 'price_update',
            market_id: 'btc-usdc-perp',
            symbol: 'BTC/USDC',
            price: '50000.5',
            confidence: '10.25',
            timestamp: 1705330800,
            age_seconds: 1,
          }),
        )
      },
    })
    const prices: string[] = []
    subscriptions.push(
      client(server).prices('btc-usdc-perp', {
        onMessage: (frame) => {
          if (frame.type === 'price_update') prices.push(frame.price)
        },
      }),
    )
    await until(() => prices.length === 1, 'the price update')
    expect(prices).toEqual(['50000.5'])
    expect(server.attempts.map((attempt) => attempt.url)).toEqual(['/api/v1/ws/prices/btc-usdc-perp'])
  })

  it('resumes after the last raw event delivered, with ?from=<cursor>', async () => {
    const server = await startServer({
      onConnection: (socket, index) => {
        socket.send(JSON.stringify(eventsConnected))
        if (index === 0) {
          socket.send(JSON.stringify(fundingFrame('c1', '0.0001')))
          socket.send(JSON.stringify(fundingFrame('c2', '0.0002')))
          // A frame without a cursor must not move the resume point.
          socket.send(JSON.stringify({ type: 'error', code: 'overloaded', message: 'going away' }))
          socket.terminate()
        } else {
          socket.send(JSON.stringify(fundingFrame('c3', '0.0003')))
        }
      },
    })
    const frames: Array<ClientFrameOf<'events'>> = []
    const opens: Array<string | undefined> = []
    const subscription = client(server).events({
      onMessage: (frame) => frames.push(frame),
      onOpen: (event) => opens.push(event.resumedFrom),
    })
    subscriptions.push(subscription)
    await until(() => frames.some((frame) => frame.type === 'funding_rate_update' && frame.cursor === 'c3'), 'the event after the reconnect')
    expect(server.attempts.map((attempt) => attempt.url)).toEqual(['/api/v1/ws/events', '/api/v1/ws/events?from=c2'])
    expect(opens).toEqual([undefined, 'c2'])
    expect(frames.map((frame) => frame.type)).toEqual(['connected', 'funding_rate_update', 'funding_rate_update', 'error', 'connected', 'funding_rate_update'])
    expect(subscription.cursor()).toBe('c3')
  })

  it('starts from a cursor saved by an earlier run', async () => {
    const server = await startServer({
      onConnection: (socket) =>
        socket.send(JSON.stringify({ type: 'connected', market_id: 'btc-usdc-perp', symbol: 'BTC/USDC', message: 'Connected to market stats' })),
    })
    let connected = false
    subscriptions.push(
      client(server).marketStats('btc-usdc-perp', { from: 'saved:7', onMessage: () => (connected = true) }),
    )
    await until(() => connected, 'the connected frame')
    expect(server.attempts.map((attempt) => attempt.url)).toEqual(['/api/v1/ws/market-stats/btc-usdc-perp?from=saved%3A7'])
  })

  it('backs off exponentially with jitter while connecting fails, waiting each announced delay', async () => {
    const server = await startServer({ accept: () => false })
    const disconnects: DisconnectEvent[] = []
    subscriptions.push(client(server).liquidations({ onMessage: () => {}, onDisconnect: (event) => disconnects.push(event) }))
    await until(() => server.attempts.length === 6, 'six refused attempts')
    const nominal = [20, 40, 80, 160, 160]
    const delays = disconnects.slice(0, 5).map((event) => event.reconnectInMs)
    delays.forEach((delay, index) => {
      expect(delay).toBeGreaterThanOrEqual(nominal[index]! / 2)
      expect(delay).toBeLessThanOrEqual(nominal[index]!)
    })
    expect(disconnects.slice(0, 5).map((event) => event.attempt)).toEqual([1, 2, 3, 4, 5])
    const gaps = server.attempts.slice(1, 6).map((attempt, index) => attempt.at - server.attempts[index]!.at)
    // Timers never fire early; a millisecond of slack covers clock rounding.
    gaps.forEach((gap, index) => expect(gap).toBeGreaterThanOrEqual(delays[index]! - 1))
  })

  it('draws the jitter from the injected source of randomness', async () => {
    const server = await startServer({ accept: () => false })
    const randoms = [0, 0.5, 0.75, 0.999]
    let draw = 0
    const delays: number[] = []
    subscriptions.push(
      client(server, { random: () => randoms[draw++ % randoms.length]! }).liquidations({
        onMessage: () => {},
        onDisconnect: (event) => delays.push(event.reconnectInMs),
      }),
    )
    await until(() => delays.length === 4, 'four refused attempts')
    expect(delays.slice(0, 4)).toEqual([20, 30, 50, 80])
  })

  it('starts the backoff over after a connection that delivered a frame', async () => {
    const server = await startServer({
      accept: (index) => index === 3 || index === 5,
      onConnection: (socket) => {
        socket.send(JSON.stringify({ type: 'connected', message: 'Connected to liquidation alerts' }))
        setTimeout(() => socket.close(1012, 'restarting'), 10)
      },
    })
    const disconnects: DisconnectEvent[] = []
    subscriptions.push(
      client(server, { random: () => 0 }).liquidations({ onMessage: () => {}, onDisconnect: (event) => disconnects.push(event) }),
    )
    await until(() => disconnects.length >= 6, 'six disconnects')
    expect(disconnects.slice(0, 6).map(({ attempt, reconnectInMs }) => [attempt, reconnectInMs])).toEqual([
      [1, 20],
      [2, 40],
      [3, 80],
      [1, 20], // attempt 3 connected, then the server closed it: the backoff starts over
      [2, 40],
      [1, 20],
    ])
    expect(disconnects[3]).toMatchObject({ code: 1012, reason: 'restarting' })
  })

  it('keeps backing off from a server that refuses the request with an error frame', async () => {
    const server = await startServer({
      onConnection: (socket) => {
        socket.send(JSON.stringify({ type: 'error', code: 'unknown_market', message: 'no market "doge-usdc-perp" is listed' }))
        socket.close(1008, 'unknown_market')
      },
    })
    const errors: string[] = []
    const disconnects: DisconnectEvent[] = []
    subscriptions.push(
      client(server, { random: () => 0 }).prices('doge-usdc-perp', {
        onMessage: (frame) => {
          if (frame.type === 'error') errors.push(frame.code)
        },
        onDisconnect: (event) => disconnects.push(event),
      }),
    )
    await until(() => disconnects.length >= 4, 'four refusals')
    expect(disconnects.slice(0, 4).map(({ code, attempt, reconnectInMs }) => [code, attempt, reconnectInMs])).toEqual([
      [1008, 1, 20],
      [1008, 2, 40],
      [1008, 3, 80],
      [1008, 4, 160],
    ])
    expect(errors.slice(0, 4)).toEqual(['unknown_market', 'unknown_market', 'unknown_market', 'unknown_market'])
  })

  it('reports invalid frames to onInvalid and unknown types to onUnknown, and carries on', async () => {
    const server = await startServer({
      onConnection: (socket) => {
        socket.send('{"type":"connected"')
        socket.send(JSON.stringify({ ...fundingFrame('c1', '0.0001'), data: { market_id: 'btc-usdc-perp', funding_rate: 0.0001 } }))
        socket.send(Buffer.from(JSON.stringify(eventsConnected)), { binary: true })
        socket.send(JSON.stringify({ type: 'validator_slashed', validator: '0x01' }))
        socket.send(JSON.stringify(fundingFrame('c2', '0.0002')))
      },
    })
    const invalid: InvalidFrameError[] = []
    const unknown: UnknownFrame[] = []
    const frames: Array<ClientFrameOf<'events'>> = []
    const subscription = client(server).events({
      onMessage: (frame) => frames.push(frame),
      onInvalid: (error) => invalid.push(error),
      onUnknown: (frame) => unknown.push(frame),
    })
    subscriptions.push(subscription)
    await until(() => frames.length === 1, 'the valid frame')
    expect(invalid.map((error) => error.reason)).toEqual(['not_json', 'schema', 'binary'])
    expect(unknown).toEqual([{ type: 'validator_slashed', validator: '0x01' }])
    expect(frames).toEqual([fundingFrame('c2', '0.0002')])
    // The invalid raw event did not move the cursor: only delivered events do.
    expect(subscription.cursor()).toBe('c2')
    expect(server.attempts).toHaveLength(1)
  })

  it('stops for good on close(), even while waiting to reconnect', async () => {
    const server = await startServer({ accept: () => false })
    const subscription = client(server, { backoff: { baseDelayMs: 50, maxDelayMs: 50 } }).events({ onMessage: () => {} })
    await until(() => server.attempts.length === 1, 'the first attempt')
    subscription.close()
    subscription.close()
    await sleep(150)
    expect(server.attempts).toHaveLength(1)
  })

  it('closes an open socket on close() and delivers nothing after it', async () => {
    let serverSocket: WebSocket | undefined
    const server = await startServer({ onConnection: (socket) => (serverSocket = socket) })
    const frames: unknown[] = []
    let open = false
    const subscription = client(server).events({ onMessage: (frame) => frames.push(frame), onOpen: () => (open = true) })
    await until(() => open && serverSocket !== undefined, 'the connection')
    const closed = new Promise<number>((resolve) => serverSocket!.once('close', resolve))
    subscription.close()
    serverSocket!.send(JSON.stringify(eventsConnected))
    expect(await closed).toBe(1000)
    await sleep(50)
    expect(frames).toEqual([])
    expect(server.attempts).toHaveLength(1)
  })

  it('closes cleanly while still connecting', async () => {
    const server = await startServer({})
    const events: string[] = []
    const subscription = client(server).events({
      onMessage: () => events.push('message'),
      onOpen: () => events.push('open'),
      onDisconnect: () => events.push('disconnect'),
    })
    subscription.close()
    await sleep(100)
    expect(events).toEqual([])
    expect(server.attempts.length).toBeLessThanOrEqual(1)
  })

  it('pings a quiet server and consumes its pong, staying connected', async () => {
    const server = await startServer({
      onConnection: (socket) => socket.on('message', () => socket.send(JSON.stringify({ type: 'pong' }))),
    })
    const frames: unknown[] = []
    const disconnects: DisconnectEvent[] = []
    subscriptions.push(
      client(server, { heartbeat: { idleMs: 50, timeoutMs: 300 } }).events({
        onMessage: (frame) => frames.push(frame),
        onDisconnect: (event) => disconnects.push(event),
      }),
    )
    await sleep(500)
    expect(server.received.length).toBeGreaterThanOrEqual(3)
    expect(new Set(server.received)).toEqual(new Set(['{"type":"ping"}']))
    expect(frames).toEqual([])
    expect(disconnects).toEqual([])
    expect(server.attempts).toHaveLength(1)
  })

  it('replaces a connection that stays silent past the heartbeat timeout', async () => {
    const server = await startServer({})
    const disconnects: DisconnectEvent[] = []
    subscriptions.push(
      client(server, { heartbeat: { idleMs: 30, timeoutMs: 90 } }).events({
        onMessage: () => {},
        onDisconnect: (event) => disconnects.push(event),
      }),
    )
    await until(() => server.attempts.length === 2, 'the second connection')
    expect(server.received[0]).toBe('{"type":"ping"}')
    expect(disconnects[0]).toMatchObject({ code: 4000, attempt: 1 })
  })

  it('gives up a handshake that never completes after the heartbeat timeout', async () => {
    // A TCP server that accepts and then never answers the HTTP upgrade.
    const sockets: Socket[] = []
    const tcp = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve))
    const { port } = tcp.address() as AddressInfo
    const disconnects: DisconnectEvent[] = []
    const subscription = createNodePerpClient({
      baseUrl: `ws://127.0.0.1:${port}/api/v1/ws`,
      backoff: { baseDelayMs: 20, maxDelayMs: 160 },
      heartbeat: { idleMs: 30, timeoutMs: 90 },
    }).events({ onMessage: () => {}, onDisconnect: (event) => disconnects.push(event) })
    try {
      await until(() => sockets.length >= 2, 'a second handshake')
      expect(disconnects[0]).toMatchObject({ code: 4000, attempt: 1 })
    } finally {
      subscription.close()
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => tcp.close(resolve))
    }
  })
})
