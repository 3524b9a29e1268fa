import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { addressOf, marketListed, priceTick } from '../../projections/test-support/records.ts'
import * as messages from '../protocol/messages.ts'
import type { FakeSocket } from '../test-support/fake-transport.ts'
import { createGatewayHarness, type GatewayHarness } from '../test-support/gateway-harness.ts'

const BTC = 'btc-usdc-perp'
const ETH = 'eth-usdc-perp'

describe('bad input, stats and HTTP routes', () => {
  let harness: GatewayHarness

  beforeEach(async () => {
    harness = createGatewayHarness({
      records: [marketListed(BTC, { block: 1 }), marketListed(ETH, { block: 1, logIndex: 1 }), priceTick(BTC, 1_700_000_000, '50000')],
      readyAt: [{ topic: 'perp.events.v1', partition: 0, next_offset: 2 }],
    })
    await harness.gateway.listen('127.0.0.1', 0)
  })

  afterEach(() => harness.gateway.stop())

  const open = (path: string, query?: string): FakeSocket => harness.transport.open(`/api/v1/ws/${path}`, query)

  it('refuses an unknown path with 404 and a malformed address with 400, before any upgrade', () => {
    expect(harness.transport.connect('/api/v1/ws/orders')).toMatchObject({ refused: true, status: 404 })
    expect(harness.transport.connect('/api/v1/ws/positions/0x123')).toMatchObject({ refused: true, status: 400 })
  })

  it('answers {"type":"ping"} with pong and any other client frame with an error frame, keeping the socket', () => {
    const socket = open('liquidations')
    for (const text of ['{"type":"ping"}', 'ping', '{"type":"subscribe"}', '[]']) socket.clientSend(text)
    const replies = socket.frames().slice(2)
    expect(replies.map((f) => f.type)).toEqual(['pong', 'error', 'error', 'error'])
    expect(messages.errorFrame.parse(replies[1])).toMatchObject({ code: 'bad_frame' })
    expect(socket.isOpen()).toBe(true)
  })

  it('answers a malformed cursor with an error frame and close 1008', () => {
    const socket = open('events', 'from=yesterday')
    expect(socket.frames()).toEqual([{ type: 'error', code: 'bad_cursor', message: expect.stringContaining('yesterday') }])
    expect(socket.closedWith).toEqual({ code: 1008, reason: 'bad_cursor' })
  })

  it('counts open sockets by type, distinct users and distinct markets in the stats', async () => {
    const sockets = [
      open(`prices/${BTC}`),
      open(`prices/${BTC}`),
      open(`market-stats/${ETH}`),
      open(`positions/${addressOf('alice')}`),
      open(`positions/${addressOf('alice')}`),
      open('liquidations'),
      open('events'),
    ]
    open('prices/doge-usdc-perp')
    sockets[6]!.clientClose()
    const response = await harness.transport.request('GET', '/api/v1/ws/stats')
    expect(response?.status).toBe(200)
    expect(messages.statsResponse.parse(JSON.parse(String(response?.body)))).toEqual({
      success: true,
      data: {
        total_connections: 6,
        by_type: { prices: 2, positions: 2, liquidations: 1, events: 0, 'market-stats': 1 },
        user_connections: 1,
        market_connections: 2,
      },
    })
    const metrics = String((await harness.transport.request('GET', '/metrics'))?.body)
    expect(metrics).toContain('perp_gateway_connections{type="prices"} 2')
    expect(metrics).toContain('perp_gateway_connections{type="events"} 0')
    // The unknown market got an error frame, not a connected one.
    expect(metrics).toContain('perp_gateway_messages_total{result="sent",type="connected"} 7')
    expect(metrics).toContain('perp_gateway_messages_total{result="sent",type="error"} 1')
  })

  it('is healthy at once and ready once the projection reached the end offsets seen at start', async () => {
    expect((await harness.transport.request('GET', '/healthz'))?.status).toBe(200)
    const notReady = await harness.transport.request('GET', '/readyz')
    expect(notReady?.status).toBe(503)
    expect(JSON.parse(String(notReady?.body))).toMatchObject({ ready: false, behind: [{ partition: 0, next_offset: 0, target: 2 }] })
    harness.setOffsets([{ topic: 'perp.events.v1', partition: 0, next_offset: 2 }])
    expect((await harness.transport.request('GET', '/readyz'))?.status).toBe(200)
    harness.setOffsets([])
    expect((await harness.transport.request('GET', '/readyz'))?.status).toBe(200)
  })

  it('reports the state hash with its offsets, and refuses other methods than GET', async () => {
    harness.setOffsets([{ topic: 'perp.events.v1', partition: 0, next_offset: 2 }])
    const response = await harness.transport.request('GET', '/api/v1/state-hash')
    expect(JSON.parse(String(response?.body))).toEqual({ state_hash: 'hash', offsets: [{ topic: 'perp.events.v1', partition: 0, next_offset: 2 }] })
    expect((await harness.transport.request('POST', '/api/v1/state-hash'))?.status).toBe(405)
    expect(await harness.transport.request('GET', '/etc/passwd')).toBeUndefined()
    expect(await harness.transport.request('GET', '/../gateway.ts')).toBeUndefined()
  })
})
