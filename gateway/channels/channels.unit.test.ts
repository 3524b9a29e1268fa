import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parseDecimal } from '../../indexer/records/decimal.ts'
import {
  addressOf,
  fundingUpdated,
  hashOf,
  marketListed,
  positionClosed,
  positionOpened,
  priceTick,
} from '../../projections/test-support/records.ts'
import * as messages from '../protocol/messages.ts'
import { commitEvents } from '../test-support/changes.ts'
import type { FakeSocket } from '../test-support/fake-transport.ts'
import { createGatewayHarness, type GatewayHarness } from '../test-support/gateway-harness.ts'

const BTC = 'btc-usdc-perp'
const ETH = 'eth-usdc-perp'
const alice = addressOf('alice')
const bob = addressOf('bob')
const [P1, P2, P3, P4] = [1, 2, 3, 4].map((n) => hashOf(`position:${n}`)) as [string, string, string, string]
const START = Date.UTC(2024, 0, 15, 10, 0, 0)
const T0 = START / 1000

const listings = [marketListed(BTC, { block: 1 }), marketListed(ETH, { block: 1, logIndex: 1 })]
// At 46000: P1 (alice, 1.5 long with 10000) has health ≈ 1.16, P3 (bob, 1 long with 2600) is
// under water; P2 (alice, short ETH) is healthy.
const positions = [
  positionOpened(BTC, { block: 2 }, { position_id: P1, trader: alice, side: 'long', size: '1.5', collateral: '10000', entry_price: '50000' }),
  positionOpened(ETH, { block: 3 }, { position_id: P2, trader: alice, side: 'short', size: '10', collateral: '5000', entry_price: '3500' }),
  positionOpened(BTC, { block: 4 }, { position_id: P3, trader: bob, side: 'long', size: '1', collateral: '2600', entry_price: '50000' }),
]
const ticks = [priceTick(BTC, T0 - 1, '46000'), priceTick(ETH, T0 - 1, '3400')]
const funding = fundingUpdated(BTC, { block: 5 }, { funding_rate: '0.0001', cumulative_funding_index: '0', long_open_interest: '125000', timestamp: T0 - 3600 })

describe('channels', () => {
  let harness: GatewayHarness

  beforeEach(async () => {
    vi.useFakeTimers({ now: START })
    harness = createGatewayHarness({ records: [...listings, ...positions, ...ticks, funding], now: () => Date.now() })
    await harness.gateway.listen('127.0.0.1', 0)
  })

  afterEach(async () => {
    await harness.gateway.stop()
    vi.useRealTimers()
  })

  const open = (path: string, query?: string): FakeSocket => harness.transport.open(`/api/v1/ws/${path}`, query)
  const types = (socket: FakeSocket) => socket.frames().map((f) => f.type)

  it('sends connected and the first price_update on connect, then one per interval', () => {
    const socket = open(`prices/${BTC}`)
    expect(socket.frames()).toEqual([
      messages.priceConnected.parse({ type: 'connected', market_id: BTC, symbol: 'BTC/USDC', message: 'Connected to price stream' }),
      { type: 'price_update', market_id: BTC, symbol: 'BTC/USDC', price: '46000', confidence: '0.00001', timestamp: T0 - 1, age_seconds: 1 },
    ])
    vi.advanceTimersByTime(999)
    expect(socket.framesOfType('price_update')).toHaveLength(1)
    vi.advanceTimersByTime(1)
    vi.advanceTimersByTime(2_000)
    const updates = socket.framesOfType('price_update')
    expect(updates).toHaveLength(4)
    expect(updates.map((u) => u.age_seconds)).toEqual([1, 2, 3, 4])
    for (const update of updates) messages.priceUpdate.parse(update)
  })

  it('sends no price_update for a listed market until its first tick', () => {
    const sol = 'sol-usdc-perp'
    harness.queries.fold([marketListed(sol, { block: 6 })])
    const socket = open(`prices/${sol}`)
    vi.advanceTimersByTime(3_000)
    expect(types(socket)).toEqual(['connected'])
    harness.queries.fold([priceTick(sol, T0 + 2, '150.5')])
    vi.advanceTimersByTime(1_000)
    expect(socket.framesOfType('price_update')).toMatchObject([{ price: '150.5', age_seconds: 2 }])
  })

  it('answers an unknown market with an error frame and close 1008', () => {
    for (const path of ['prices/doge-usdc-perp', 'market-stats/doge-usdc-perp']) {
      const socket = open(path)
      expect(socket.frames()).toEqual([{ type: 'error', code: 'unknown_market', message: expect.stringContaining('doge-usdc-perp') }])
      expect(socket.closedWith?.code).toBe(1008)
    }
    expect(harness.transport.connect('/api/v1/ws/prices/doge-usdc-perp')).not.toHaveProperty('refused')
  })

  it('answers a mixed-case address in lowercase with the positions that have a price', () => {
    const socket = open(`positions/${alice.toUpperCase().replace('0X', '0x')}`)
    const [connected, update] = socket.frames()
    expect(connected).toEqual({ type: 'connected', user_address: alice, message: 'Connected to position updates' })
    const parsed = messages.positionsUpdate.parse(update)
    expect(parsed.user_address).toBe(alice)
    expect(parsed.positions.map((p) => p.position_id)).toEqual([P1, P2])
    expect(parsed.total_unrealized_pnl).toBe('-5000')
  })

  it('sends positions_update every interval and a liquidation warning at once, then at most once per repeat interval', () => {
    const socket = open(`positions/${alice}`)
    expect(types(socket)).toEqual(['connected', 'positions_update', 'liquidation_warning'])
    expect(socket.framesOfType('liquidation_warning')[0]).toMatchObject({ data: { position_id: P1, market_id: BTC } })
    vi.advanceTimersByTime(28_000)
    expect(socket.framesOfType('positions_update')).toHaveLength(15)
    expect(socket.framesOfType('liquidation_warning')).toHaveLength(1)
    vi.advanceTimersByTime(2_000)
    expect(socket.framesOfType('liquidation_warning')).toHaveLength(2)
    for (const warning of socket.framesOfType('liquidation_warning')) messages.liquidationWarning.parse(warning)
  })

  it('throttles warnings per socket: a second socket of the same user is warned on connect', () => {
    const first = open(`positions/${alice}`)
    vi.advanceTimersByTime(10_000)
    const second = open(`positions/${alice}`)
    expect(first.framesOfType('liquidation_warning')).toHaveLength(1)
    expect(second.framesOfType('liquidation_warning')).toHaveLength(1)
  })

  it('sends liquidation_alert on connect and every interval, least healthy first', () => {
    const socket = open('liquidations')
    expect(types(socket)).toEqual(['connected', 'liquidation_alert'])
    const alert = messages.liquidationAlert.parse(socket.framesOfType('liquidation_alert')[0])
    expect(alert.count).toBe(2)
    expect(alert.candidates.map((c) => c.position_id)).toEqual([P3, P1])
    const health = alert.candidates.map((c) => parseDecimal(c.health_factor))
    expect(health[0]! < health[1]!).toBe(true)
    vi.advanceTimersByTime(10_000)
    expect(socket.framesOfType('liquidation_alert')).toHaveLength(3)
  })

  it('sends market_stats on connect and every interval, and funding_rate_update as it is folded', () => {
    const socket = open(`market-stats/${BTC}`)
    expect(types(socket)).toEqual(['connected', 'market_stats'])
    expect(messages.marketStats.parse(socket.frames()[1])).toMatchObject({ total_long_oi: '125000', funding_rate: '0.0001' })
    vi.advanceTimersByTime(5_000)
    expect(socket.framesOfType('market_stats')).toHaveLength(2)
    commitEvents(harness, 0, 7, [fundingUpdated(BTC, { block: 9 }, { funding_rate: '0.0002', cumulative_funding_index: '1', long_open_interest: '125000' })])
    commitEvents(harness, 1, 3, [fundingUpdated(ETH, { block: 9, logIndex: 1 }, { funding_rate: '0.0003', cumulative_funding_index: '1' })])
    const updates = socket.framesOfType('funding_rate_update')
    expect(updates).toHaveLength(1)
    expect(messages.fundingRateUpdate.parse(updates[0])).toMatchObject({ data: { market_id: BTC, funding_rate: '0.0002' }, cursor: '1.8' })
    vi.advanceTimersByTime(5_000)
    expect(socket.framesOfType('market_stats').at(-1)).toMatchObject({ funding_rate: '0.0002' })
  })

  it('pushes a user only their own position events, each with the cursor just after it', () => {
    const socket = open(`positions/${alice}`)
    const opened = positionOpened(BTC, { block: 10 }, { position_id: P4, trader: alice, side: 'short', size: '2', collateral: '10000', entry_price: '46000' })
    const closed = positionClosed(BTC, { block: 11 }, { position_id: P3, trader: bob, exit_price: '46000' })
    commitEvents(harness, 2, 40, [opened, closed])
    const events = socket.frames().filter((f) => f.type.startsWith('position_'))
    expect(events).toHaveLength(1)
    expect(messages.positionOpened.parse(events[0])).toMatchObject({ data: { position_id: P4, user_address: alice }, cursor: '1.0-0-41' })
  })

  it('pushes every raw event on the events path, with cursors that only grow', () => {
    const socket = open('events')
    commitEvents(harness, 1, 0, [marketListed('sol-usdc-perp', { block: 12 })])
    commitEvents(harness, 0, 5, [positionOpened(BTC, { block: 13 }, { position_id: P4, trader: bob, side: 'long', size: '1', collateral: '9000', entry_price: '46000' })])
    commitEvents(harness, 1, 1, [positionClosed(BTC, { block: 14 }, { position_id: P4, trader: bob, exit_price: '46100' })])
    const frames = socket.frames()
    expect(frames.map((f) => f.type)).toEqual(['connected', 'market_listed', 'position_opened', 'position_closed'])
    expect(frames.slice(1).map((f) => messages.rawEventFrame.parse(f).cursor)).toEqual(['1.0-1', '1.6-1', '1.6-2'])
  })
})
