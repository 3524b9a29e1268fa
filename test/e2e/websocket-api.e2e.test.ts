// The WebSocket API end to end, on both log backends: transactions on a real anvil and prices from
// the local Hermes server, through the indexer, the log, the projections and the gateway, to `ws`
// clients over real sockets, one per path. The chain is driven by the test, one transaction at a
// time, so every figure in a frame is known in advance. Every frame a client receives is validated
// with the spec's schema for its path (gateway/protocol/messages.ts).
//
// The steps run in order and build on each other (as a trading session does): each `it` is one
// behaviour, observed on the frames of the previous steps' sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { markets } from '../../contracts-abi/markets.ts'
import {
  chainReorg,
  framesByPath,
  fundingRateUpdate,
  liquidationAlert,
  liquidationWarning,
  marketListed,
  marketStats,
  positionClosed,
  positionLiquidated,
  positionOpened,
  positionsUpdate,
  priceUpdate,
  statsResponse,
  type PathKind,
} from '../../gateway/protocol/messages.ts'
import type { ReceivedFrame } from '../../gateway/test-support/fake-transport.ts'
import { openClient, type TestClient } from '../../gateway/test-support/ws-client.ts'
import { parseDecimal } from '../../indexer/records/decimal.ts'
import type { AnvilAccount } from '../support/anvil.ts'
import type { Opened } from '../support/e2e-chain.ts'
import { startE2eStack, type E2eBackend, type E2eStack } from '../support/e2e-stack.ts'
import { kafkaBrokersOrSkip } from '../support/kafka.ts'

const BTC = 'btc-usdc-perp'
const btcFeed = markets.find((m) => m.id === BTC)!.pythFeedId
/** A Pyth integer price at expo -8 (the devnet feeds' exponent). */
const pyth = (usd: bigint): bigint => usd * 100_000_000n

const { brokers, skipReason } = kafkaBrokersOrSkip()
const cases: { backend: E2eBackend; skip: boolean; note: string }[] = [
  { backend: 'embedded', skip: false, note: '' },
  // The stack starts a broker of its own; the run's broker only tells that Kafka can start here.
  { backend: 'kafka', skip: brokers.length === 0, note: skipReason === '' ? '' : ` (skipped: ${skipReason})` },
]

type Paths = Record<PathKind, TestClient>

const hasType = (type: string) => (frames: readonly ReceivedFrame[]) => frames.some((f) => f.type === type)

describe.each(cases)('the WebSocket API end to end on the $backend log$note', ({ backend, skip }) => {
  const waitMs = backend === 'kafka' ? 40_000 : 20_000
  let stack: E2eStack
  let trader: AnvilAccount
  let liquidator: AnvilAccount
  const clients: Partial<Paths> = {}
  const opened: { risky?: Opened; safe?: Opened } = {}
  const path = (kind: PathKind): TestClient => clients[kind]!

  /** Resolves with the first frame of `type` on `kind` that `match` accepts. */
  async function frameOn(kind: PathKind, type: string, match: (frame: ReceivedFrame) => boolean = () => true): Promise<ReceivedFrame> {
    const find = (frames: readonly ReceivedFrame[]) => frames.find((f) => f.type === type && match(f))
    await path(kind).waitFor((frames) => find(frames) !== undefined, `${type} on ${kind}`, waitMs)
    return find(path(kind).frames)!
  }

  beforeAll(async () => {
    if (skip) return
    stack = await startE2eStack({ backend })
    ;[, trader, liquidator] = stack.anvil.accounts as [AnvilAccount, AnvilAccount, AnvilAccount]
    // Before the indexer starts, so this socket sees every raw event live from the first.
    clients.events = await openClient(stack.wsUrl('events'))
    stack.startIndexer()
  }, 180_000)

  afterAll(async () => {
    for (const client of Object.values(clients)) await client.close()
    await stack?.close()
  }, 60_000)

  it.skipIf(skip)('announces every listed market on the events path, then accepts sockets on every path', async () => {
    await path('events').waitFor((f) => f.filter((x) => x.type === 'market_listed').length === markets.length, 'market_listed x3', waitMs)
    const listed = path('events').ofType('market_listed').map((f) => marketListed.parse(f).data)
    expect(listed.map((d) => [d.market_id, d.symbol, d.pyth_feed_id]).sort()).toEqual(markets.map((m) => [m.id, m.symbol, m.pythFeedId]).sort())
    expect(listed.every((d) => d.maintenance_margin_ratio === '0.05' && d.liquidation_fee_ratio === '0.01')).toBe(true)

    clients.prices = await openClient(stack.wsUrl(`prices/${BTC}`))
    clients['market-stats'] = await openClient(stack.wsUrl(`market-stats/${BTC}`))
    clients.liquidations = await openClient(stack.wsUrl('liquidations'))
    // Any letter case is accepted; the answer is in lowercase.
    clients.positions = await openClient(stack.wsUrl(`positions/0x${trader.address.slice(2).toUpperCase()}`))
    for (const kind of Object.keys(framesByPath) as PathKind[]) {
      await path(kind).waitFor((f) => f.length > 0, `the first frame on ${kind}`, waitMs)
      expect(path(kind).frames[0]?.type, kind).toBe('connected')
    }
    expect(path('prices').frames[0]).toMatchObject({ market_id: BTC, symbol: 'BTC/USDC' })
    expect(path('market-stats').frames[0]).toMatchObject({ market_id: BTC, symbol: 'BTC/USDC' })
    expect(path('positions').frames[0]).toMatchObject({ user_address: trader.address.toLowerCase() })
  })

  it.skipIf(skip)('streams price_update on prices/{market} from the Hermes ticks, with the price the feed published', async () => {
    const first = priceUpdate.parse(await frameOn('prices', 'price_update'))
    expect(first).toMatchObject({ market_id: BTC, symbol: 'BTC/USDC', price: '65000' })
    stack.hermes.pushPrice(btcFeed, pyth(65_100n))
    const moved = priceUpdate.parse(await frameOn('prices', 'price_update', (f) => f['price'] === '65100'))
    expect(moved.timestamp).toBeGreaterThan(first.timestamp)
    stack.hermes.pushPrice(btcFeed, pyth(65_000n))
    await frameOn('prices', 'price_update', (f) => f['price'] === '65000' && (f['timestamp'] as number) > moved.timestamp)
  })

  it.skipIf(skip)("pushes position_opened to the trader's path and to events, and lists the positions in positions_update", async () => {
    opened.risky = await stack.chain.open(trader, { market: BTC, side: 'long', size: '1', collateral: '6500' })
    opened.safe = await stack.chain.open(trader, { market: BTC, side: 'short', size: '0.5', collateral: '16250' })
    const byTx = (tx: string) => (f: ReceivedFrame) => (f['data'] as { transaction_hash?: string }).transaction_hash === tx
    const risky = positionOpened.parse(await frameOn('positions', 'position_opened', byTx(opened.risky.txHash)))
    expect(risky.data).toEqual({
      position_id: opened.risky.positionId,
      user_address: trader.address.toLowerCase(),
      market_id: BTC,
      side: 'long',
      size: '1',
      collateral: '6500',
      leverage: '10',
      entry_price: '65000',
      transaction_hash: opened.risky.txHash,
    })
    const safe = positionOpened.parse(await frameOn('events', 'position_opened', byTx(opened.safe.txHash)))
    expect(safe.data).toMatchObject({ position_id: opened.safe.positionId, side: 'short', size: '0.5', leverage: '2' })
    await frameOn('positions', 'position_opened', byTx(opened.safe.txHash))

    const listsBoth = (f: ReceivedFrame) => (f['positions'] as unknown[]).length === 2
    const update = positionsUpdate.parse(await frameOn('positions', 'positions_update', listsBoth))
    const long = update.positions.find((p) => p.position_id === opened.risky!.positionId)
    expect(long).toMatchObject({ side: 'long', size: '1', entry_price: '65000', current_price: '65000', unrealized_pnl: '0', is_at_risk: false })
    expect(parseDecimal(long!.health_factor)).toBe(parseDecimal('2'))
  })

  it.skipIf(skip)('sends funding_rate_update on market-stats and events, and market_stats with the funding state of the latest update', async () => {
    const funding = await stack.chain.updateFunding(BTC, '0.0001')
    const onStats = fundingRateUpdate.parse(await frameOn('market-stats', 'funding_rate_update'))
    // Open interest is the entry notional per side: 1 x 65000 long, 0.5 x 65000 short.
    expect(onStats.data).toEqual({ market_id: BTC, funding_rate: '0.0001', long_oi: '65000', short_oi: '32500' })
    const onEvents = fundingRateUpdate.parse(await frameOn('events', 'funding_rate_update'))
    expect(onEvents.data).toEqual(onStats.data)
    expect(onEvents.cursor).toBe(onStats.cursor)

    const stats = marketStats.parse(await frameOn('market-stats', 'market_stats', (f) => f['funding_rate'] === '0.0001'))
    expect(stats).toMatchObject({ market_id: BTC, current_price: '65000', total_long_oi: '65000', total_short_oi: '32500', total_oi: '97500', funding_rate: '0.0001' })
    const block = await stack.chain.publicClient.getBlock({ blockNumber: funding.blockNumber })
    expect(Date.parse(stats.last_funding_update) / 1000).toBe(Number(block.timestamp))
  })

  it.skipIf(skip)('warns the trader and alerts liquidators once the Pyth price takes a position below health 1.2', async () => {
    const id = opened.risky!.positionId
    // Equity 6500 - 3000 - 6.5 of funding = 3493.5 against a maintenance of 5% x 62000 = 3100: health 1.127.
    stack.hermes.pushPrice(btcFeed, pyth(62_000n))
    const warning = liquidationWarning.parse(await frameOn('positions', 'liquidation_warning', (f) => (f['data'] as { position_id: string }).position_id === id))
    expect(warning.data.market_id).toBe(BTC)
    expect(parseDecimal(warning.data.health_factor) < parseDecimal('1.2')).toBe(true)
    expect(parseDecimal(warning.data.health_factor) > parseDecimal('1')).toBe(true)
    expect(warning.data.health_factor.startsWith('1.12693548')).toBe(true)

    const atRisk = (f: ReceivedFrame) => (f['positions'] as { position_id: string; is_at_risk: boolean }[]).some((p) => p.position_id === id && p.is_at_risk)
    const update = positionsUpdate.parse(await frameOn('positions', 'positions_update', atRisk))
    expect(update.positions.find((p) => p.position_id === id)).toMatchObject({ current_price: '62000', unrealized_pnl: '-3006.5' })

    const listsIt = (f: ReceivedFrame) => (f['candidates'] as { position_id: string }[]).some((c) => c.position_id === id)
    const alert = liquidationAlert.parse(await frameOn('liquidations', 'liquidation_alert', listsIt))
    expect(alert.count).toBe(alert.candidates.length)
    expect(alert.candidates.find((c) => c.position_id === id)).toMatchObject({
      user_address: trader.address.toLowerCase(),
      market_id: BTC,
      current_price: '62000',
      health_factor: warning.data.health_factor,
      potential_reward: '620',
    })
  })

  it.skipIf(skip)('pushes position_closed when the trader closes a position', async () => {
    const closed = await stack.chain.close(trader, opened.safe!.positionId)
    const frame = positionClosed.parse(await frameOn('positions', 'position_closed'))
    // The on-chain mark price is still 65000; the short received 0.5 x 6.5 of funding.
    expect(frame.data).toEqual({
      position_id: opened.safe!.positionId,
      user_address: trader.address.toLowerCase(),
      market_id: BTC,
      exit_price: '65000',
      realized_pnl: '3.25',
      transaction_hash: closed.txHash,
    })
    await frameOn('events', 'position_closed')
    const gone = (f: ReceivedFrame) => (f['positions'] as unknown[]).length === 1
    await frameOn('positions', 'positions_update', gone)
  })

  it.skipIf(skip)('pushes position_liquidated when a keeper liquidates the position below health 1', async () => {
    const id = opened.risky!.positionId
    await stack.chain.setPrice(BTC, '61000')
    stack.hermes.pushPrice(btcFeed, pyth(61_000n))
    await frameOn('liquidations', 'liquidation_alert', (f) =>
      (f['candidates'] as { position_id: string; health_factor: string }[]).some((c) => c.position_id === id && parseDecimal(c.health_factor) < parseDecimal('1')),
    )
    const liquidated = await stack.chain.liquidate(liquidator, id)
    const frame = positionLiquidated.parse(await frameOn('positions', 'position_liquidated'))
    expect(frame.data).toEqual({
      position_id: id,
      user_address: trader.address.toLowerCase(),
      market_id: BTC,
      liquidator_address: liquidator.address.toLowerCase(),
      liquidation_price: '61000',
      liquidation_fee: '610',
      transaction_hash: liquidated.txHash,
    })
    await frameOn('events', 'position_liquidated')
    await frameOn('positions', 'positions_update', (f) => (f['positions'] as unknown[]).length === 0 && f['total_unrealized_pnl'] === '0')
    const empty = (f: ReceivedFrame) => f['count'] === 0
    await frameOn('liquidations', 'liquidation_alert', empty)
  })

  it.skipIf(skip)('counts the open sockets per path on GET /api/v1/ws/stats', async () => {
    const response = await fetch(stack.httpUrl('/api/v1/ws/stats'))
    expect(response.status).toBe(200)
    const stats = statsResponse.parse(await response.json())
    expect(stats.data).toEqual({
      total_connections: 5,
      by_type: { prices: 1, positions: 1, liquidations: 1, events: 1, 'market-stats': 1 },
      user_connections: 1,
      market_connections: 1,
    })
  })

  it.skipIf(skip)('pushes chain_reorg on the events path when a block the indexer wrote is reorganised away', async () => {
    const funding = await stack.chain.updateFunding(BTC, '0.0002')
    await frameOn('events', 'funding_rate_update', (f) => (f['data'] as { funding_rate: string }).funding_rate === '0.0002')
    await stack.chain.reorg(1)
    await stack.chain.mine(1)
    const reorg = chainReorg.parse(await frameOn('events', 'chain_reorg', (f) => (f['data'] as { market_id: string }).market_id === BTC))
    expect(reorg.data.common_ancestor_block).toBe(Number(funding.blockNumber) - 1)
    expect(reorg.data.orphaned_blocks.map((b) => b.block_number)).toContain(Number(funding.blockNumber))
  })

  it.skipIf(skip)('sends only frames of the spec on every path, and every message type was observed', () => {
    for (const kind of Object.keys(framesByPath) as PathKind[]) {
      for (const frame of path(kind).frames) {
        const parsed = framesByPath[kind].safeParse(frame)
        expect(parsed.success, `${kind}: ${JSON.stringify(frame)}`).toBe(true)
      }
    }
    const seen = (kind: PathKind) => new Set(path(kind).frames.map((f) => f.type))
    expect([...seen('prices')].sort()).toEqual(['connected', 'price_update'])
    expect([...seen('positions')].sort()).toEqual(['connected', 'liquidation_warning', 'position_closed', 'position_liquidated', 'position_opened', 'positions_update'])
    expect([...seen('liquidations')].sort()).toEqual(['connected', 'liquidation_alert'])
    expect([...seen('market-stats')].sort()).toEqual(['connected', 'funding_rate_update', 'market_stats'])
    expect([...seen('events')].sort()).toEqual(['chain_reorg', 'connected', 'funding_rate_update', 'market_listed', 'position_closed', 'position_liquidated', 'position_opened'])
    expect(hasType('error')(Object.values(clients).flatMap((c) => c.frames))).toBe(false)
  })
})
