// The transport over real sockets with the `ws` client: upgrades accepted and refused, plain HTTP,
// publish, connection caps and shutdown. Bad input from clients is in uws-transport-bad-input.
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { WsConnection } from '../transport/ws-transport.ts'
import { closeOf, nextText, openClient, startHarness, until, upgradeRefusal, type Harness, type TestContext } from './uws-test-kit.ts'

const harnesses: Harness[] = []
async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  const h = await startHarness(...args)
  harnesses.push(h)
  return h
}
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.transport.close()))
})

describe('upgrade', () => {
  it('hands the handler the decoded path, the raw query and the peer address, and opens with its context', async () => {
    const seen: unknown[] = []
    const h = await harness({
      upgrade: (request) => {
        seen.push(request)
        return { accept: true, context: { path: `ctx:${request.path}` } }
      },
    })
    const ws = await openClient(h.url('/api/v1/ws/prices/btc%2Dusdc-perp?from=12%3A3'))
    await until(() => h.opened.length === 1)
    expect(seen).toEqual([{ path: '/api/v1/ws/prices/btc-usdc-perp', query: 'from=12%3A3', ip: '127.0.0.1' }])
    expect(h.opened[0]?.context).toEqual({ path: 'ctx:/api/v1/ws/prices/btc-usdc-perp' })
    expect(h.opened[0]?.isOpen()).toBe(true)
    expect(h.transport.counters().open).toBe(1)
    ws.close()
  })

  it('answers a refused upgrade with the plain HTTP status and body the handler chose, and opens nothing', async () => {
    const h = await harness({ upgrade: () => ({ accept: false, status: 400, body: 'malformed address' }) })
    expect(await upgradeRefusal(h.url('/api/v1/ws/positions/0xnope'))).toEqual({ status: 400, body: 'malformed address' })
    expect(h.opened).toHaveLength(0)
    expect(h.transport.counters().open).toBe(0)
  })

  it('answers 500 when the upgrade handler throws, and keeps serving', async () => {
    let fail = true
    const h = await harness({
      upgrade: (request) => {
        if (fail) throw new Error('boom')
        return { accept: true, context: { path: request.path } }
      },
    })
    expect((await upgradeRefusal(h.url('/x'))).status).toBe(500)
    fail = false
    const ws = await openClient(h.url('/x'))
    ws.close()
  })

  it('sends a frame then closes with the code and reason given, as a channel does for an unknown market', async () => {
    const h = await harness({
      open: (connection) => {
        connection.send('{"type":"error","code":"unknown_market","message":"no such market"}')
        connection.close(1008, 'unknown market')
      },
    })
    // Listeners go on before the handshake completes: the frame and the close may arrive with it.
    const ws = new WebSocket(h.url('/api/v1/ws/prices/doge-usdc-perp'))
    const [frame, close] = await Promise.all([nextText(ws), closeOf(ws)])
    expect(JSON.parse(frame)).toMatchObject({ type: 'error', code: 'unknown_market' })
    expect(close).toEqual({ code: 1008, reason: 'unknown market' })
    await until(() => h.closed.length === 1)
    expect(h.opened[0]?.isOpen()).toBe(false)
    expect(h.opened[0]?.send('late')).toBe('closed')
  })
})

describe('plain HTTP', () => {
  it('answers a synchronous handler with its status, content type, headers and body', async () => {
    const h = await harness({
      http: (request) => ({
        status: 200,
        contentType: 'application/json',
        headers: { 'x-request': `${request.method} ${request.path} ${request.query}` },
        body: '{"success":true}',
      }),
    })
    const response = await fetch(`http://127.0.0.1:${h.port}/api/v1/ws/stats?a=1`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/json')
    expect(response.headers.get('x-request')).toBe('GET /api/v1/ws/stats a=1')
    expect(await response.text()).toBe('{"success":true}')
  })

  it('answers an asynchronous handler after it resolves, with what was copied from the request before the await', async () => {
    const h = await harness({
      http: async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 30))
        return { status: 202, contentType: 'text/plain', body: `${request.method} ${request.path} ${request.ip}` }
      },
    })
    const response = await fetch(`http://127.0.0.1:${h.port}/metrics`, { method: 'POST', body: 'x' })
    expect(response.status).toBe(202)
    expect(await response.text()).toBe('POST /metrics 127.0.0.1')
  })

  it('answers 404 when the handler has no answer, 500 when it throws or rejects', async () => {
    const h = await harness({
      http: (request) => {
        if (request.path === '/throws') throw new Error('boom')
        if (request.path === '/rejects') return Promise.reject(new Error('boom'))
        return undefined
      },
    })
    const status = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:${h.port}${path}`)).status
    expect(await status('/nowhere')).toBe(404)
    expect(await status('/throws')).toBe(500)
    expect(await status('/rejects')).toBe(500)
  })

  it('drops a response whose client went away before the asynchronous handler resolved, without crashing', async () => {
    let resolveLate: (() => void) | undefined
    const h = await harness({
      http: (request) => {
        if (request.path !== '/slow') return { status: 200, contentType: 'text/plain', body: 'at once' }
        return new Promise((resolve) => {
          resolveLate = () => resolve({ status: 200, contentType: 'text/plain', body: 'late' })
        })
      },
    })
    const aborter = new AbortController()
    const pending = fetch(`http://127.0.0.1:${h.port}/slow`, { signal: aborter.signal }).catch((error: unknown) => error)
    await until(() => resolveLate !== undefined)
    aborter.abort()
    await pending
    await new Promise((resolve) => setTimeout(resolve, 50))
    resolveLate?.()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect((await fetch(`http://127.0.0.1:${h.port}/again`)).status).toBe(200)
  })
})

describe('publish', () => {
  it('reaches the sockets subscribed to the topic and no other', async () => {
    const h = await harness({ open: (connection) => connection.subscribe(connection.context.path) })
    const btcA = await openClient(h.url('/btc'))
    const btcB = await openClient(h.url('/btc'))
    const eth = await openClient(h.url('/eth'))
    const ethFrames: string[] = []
    eth.on('message', (data: Buffer) => ethFrames.push(data.toString()))
    const [a, b] = await Promise.all([nextText(btcA), nextText(btcB), Promise.resolve(h.transport.publish('/btc', 'tick-1'))])
    expect([a, b]).toEqual(['tick-1', 'tick-1'])
    h.transport.publish('/eth', 'eth-1')
    await until(() => ethFrames.length === 1)
    expect(ethFrames).toEqual(['eth-1'])
    expect(h.transport.counters().framesSent).toBe(3)
    for (const ws of [btcA, btcB, eth]) ws.close()
  })
})

describe('connection caps', () => {
  it('refuses a peer over its per-IP cap with 429, counts other addresses apart and releases a slot on close', async () => {
    const h = await harness({}, { maxConnectionsPerIp: 2 })
    const first = await openClient(h.url('/a'))
    await openClient(h.url('/a'))
    expect(await upgradeRefusal(h.url('/a'))).toEqual({ status: 429, body: 'too many connections from this address' })
    const other = await openClient(h.url('/a'), { localAddress: '127.0.0.2' })
    expect(h.opened.map((c: WsConnection<TestContext>) => c.ip)).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.2'])
    first.close()
    await until(() => h.closed.length === 1)
    await openClient(h.url('/a'))
    other.close()
  })

  it('refuses any upgrade over the total cap with 503 and accepts again once a socket closed', async () => {
    const h = await harness({}, { maxConnections: 3 })
    const clients = [await openClient(h.url('/a')), await openClient(h.url('/a')), await openClient(h.url('/a'), { localAddress: '127.0.0.3' })]
    expect(await upgradeRefusal(h.url('/a'), { localAddress: '127.0.0.4' })).toEqual({ status: 503, body: 'too many connections' })
    clients[0]?.close()
    await until(() => h.transport.counters().open === 2)
    await openClient(h.url('/a'), { localAddress: '127.0.0.4' })
  })
})

describe('close()', () => {
  it('closes every socket with 1001, stops listening and leaves nothing open', async () => {
    const h = await harness()
    const clients = await Promise.all([openClient(h.url('/a')), openClient(h.url('/b'))])
    const keepAlive = await fetch(`http://127.0.0.1:${h.port}/none`)
    expect(keepAlive.status).toBe(404)
    const closes = Promise.all(clients.map(closeOf))
    await h.transport.close()
    expect((await closes).map((c) => c.code)).toEqual([1001, 1001])
    expect(h.closed.map((c) => c.code).sort()).toEqual([1001, 1001])
    expect(h.transport.counters().open).toBe(0)
    await expect(openClient(h.url('/a'))).rejects.toThrow()
    await expect(fetch(`http://127.0.0.1:${h.port}/none`)).rejects.toThrow()
  })
})
