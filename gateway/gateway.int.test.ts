import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addressOf, marketListed, priceTick } from '../projections/test-support/records.ts'
import { statsResponse } from './protocol/messages.ts'
import { startServeFixture, type ServeFixture } from './test-support/serve-fixture.ts'
import { connectClient, openClient, type TestClient } from './test-support/ws-client.ts'

const BTC = 'btc-usdc-perp'

describe('the gateway over uWebSockets.js: bad input, stats and HTTP routes', () => {
  let fixture: ServeFixture
  const clients: TestClient[] = []

  beforeAll(async () => {
    fixture = await startServeFixture()
    await fixture.events.write([marketListed(BTC, { block: 1 })])
    await fixture.ticks.write([priceTick(BTC, Math.floor(Date.now() / 1000), '50000')])
    const started = Date.now()
    while ((await fetch(fixture.httpUrl('/api/v1/state-hash')).then((r) => r.json() as Promise<{ offsets: unknown[] }>)).offsets.length < 2) {
      if (Date.now() - started > 10_000) throw new Error('the listing and the tick were not folded')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })

  afterAll(async () => {
    for (const client of clients) await client.close()
    await fixture.close()
  })

  async function client(path: string): Promise<TestClient> {
    const opened = await openClient(fixture.wsUrl(path))
    clients.push(opened)
    return opened
  }

  it('refuses an unknown path with 404 and a malformed address with 400, without upgrading', async () => {
    expect(await connectClient(fixture.wsUrl('orders'))).toEqual({ refused: true, status: 404 })
    expect(await connectClient(fixture.wsUrl('positions/0x1234'))).toEqual({ refused: true, status: 400 })
    expect((await fetch(fixture.httpUrl('/nothing-here'))).status).toBe(404)
  })

  it('answers an unknown market and a malformed cursor with an error frame, then close 1008', async () => {
    const unknown = await client('prices/doge-usdc-perp')
    expect(await unknown.closed).toEqual({ code: 1008, reason: 'unknown_market' })
    expect(unknown.frames).toMatchObject([{ type: 'error', code: 'unknown_market' }])
    const badCursor = await client('events?from=not-a-cursor')
    expect(await badCursor.closed).toEqual({ code: 1008, reason: 'bad_cursor' })
    expect(badCursor.frames).toMatchObject([{ type: 'error', code: 'bad_cursor' }])
  })

  it('answers ping with pong and an unknown frame with an error frame, keeping the socket', async () => {
    const socket = await client(`prices/${BTC}`)
    socket.send('{"type":"ping"}')
    socket.send('{"type":"subscribe","channel":"everything"}')
    await socket.waitFor((f) => f.some((x) => x.type === 'pong') && f.some((x) => x.type === 'error'), 'pong and error')
    expect(socket.frames.find((x) => x.type === 'error')).toMatchObject({ code: 'bad_frame' })
    await socket.waitFor((f) => f.filter((x) => x.type === 'price_update').length >= 2, 'price updates after the bad frame')
  })

  it('counts the open sockets in /api/v1/ws/stats and /metrics', async () => {
    await client(`positions/${addressOf('carol')}`)
    await client('liquidations')
    const response = await fetch(fixture.httpUrl('/api/v1/ws/stats'))
    expect(response.headers.get('content-type')).toBe('application/json')
    const stats = statsResponse.parse(await response.json())
    expect(stats.data.by_type).toMatchObject({ positions: 1, liquidations: 1 })
    expect(stats.data.total_connections).toBe(Object.values(stats.data.by_type).reduce((a, b) => a + b, 0))
    expect(stats.data.user_connections).toBe(1)
    const metrics = await (await fetch(fixture.httpUrl('/metrics'))).text()
    expect(metrics).toContain('perp_gateway_connections{type="liquidations"} 1')
    expect(metrics).toMatch(/perp_gateway_frames_sent_total \d+/)
  })

  it('serves /healthz, /readyz and the state hash with its offsets', async () => {
    expect(await (await fetch(fixture.httpUrl('/healthz'))).json()).toEqual({ ok: true })
    expect((await fetch(fixture.httpUrl('/readyz'))).status).toBe(200)
    const state = (await (await fetch(fixture.httpUrl('/api/v1/state-hash'))).json()) as { state_hash: string; offsets: { topic: string }[] }
    expect(state.state_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(state.offsets.map((o) => o.topic).sort()).toEqual(['perp.events.v1', 'pyth.ticks.v1'])
  })
})
