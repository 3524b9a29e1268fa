import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openReadModelStore, type SqliteReadModelStore } from '../store/sqlite-read-model-store.ts'
import { foldIntoStore } from '../test-support/fold-into-memory.ts'
import {
  addressOf,
  fundingUpdated,
  hashOf,
  marketListed,
  positionLiquidated,
  positionOpened,
  priceTick,
} from '../test-support/records.ts'
import { createChangeFeed } from '../runtime/change-feed.ts'
import { createReadModelQueries, type ReadModelQueries } from './read-model-queries.ts'

const BTC = 'btc-usdc-perp'
const ETH = 'eth-usdc-perp'
const SOL = 'sol-usdc-perp'
const [alice, bob] = [addressOf('alice'), addressOf('bob')]
const [P1, P2, P3, P4, P5] = [1, 2, 3, 4, 5].map((n) => hashOf(`position:${n}`)) as [string, string, string, string, string]

const records = [
  marketListed(BTC, { block: 1 }),
  marketListed(ETH, { block: 1, logIndex: 1 }),
  marketListed(SOL, { block: 1, logIndex: 2 }),
  // Long 1.5 BTC at 50000 with 10000: at 46000 its health is 4000 / 3450 (at risk, not liquidatable).
  positionOpened(BTC, { block: 2 }, { position_id: P1, trader: alice, side: 'long', size: '1.5', collateral: '10000', entry_price: '50000' }),
  // Short 10 ETH at 3500 with 5000: at 3400 it has made 1000.
  positionOpened(ETH, { block: 3 }, { position_id: P2, trader: alice, side: 'short', size: '10', collateral: '5000', entry_price: '3500' }),
  // Long 1 BTC at 50000 with 2600: at 46000 its equity is −1400 (liquidatable).
  positionOpened(BTC, { block: 4 }, { position_id: P3, trader: bob, side: 'long', size: '1', collateral: '2600', entry_price: '50000' }),
  positionOpened(BTC, { block: 4, logIndex: 1 }, { position_id: P4, trader: bob, side: 'short', size: '1', collateral: '900', entry_price: '50000' }),
  positionLiquidated(BTC, { block: 5 }, { position_id: P4, liquidation_price: '55000', liquidation_fee: '550', realized_pnl: '-900' }),
  // A SOL position: SOL has no tick yet.
  positionOpened(SOL, { block: 5, logIndex: 1 }, { position_id: P5, trader: alice, side: 'long', size: '10', collateral: '500', entry_price: '150' }),
  fundingUpdated(BTC, { block: 6 }, { funding_rate: '0', cumulative_funding_index: '0', long_open_interest: '125000', timestamp: 1_700_000_000 }),
  fundingUpdated(ETH, { block: 6, logIndex: 1 }, { funding_rate: '0.001', cumulative_funding_index: '0', short_open_interest: '35000' }),
  fundingUpdated(BTC, { block: 7 }, { funding_rate: '0.0002', cumulative_funding_index: '0', long_open_interest: '125000', timestamp: 1_700_000_600 }),
  priceTick(BTC, 1_700_000_700, '46000'),
  priceTick(ETH, 1_700_000_700, '3400'),
]

describe('read-model queries over SQLite', () => {
  let store: SqliteReadModelStore
  let queries: ReadModelQueries

  beforeEach(() => {
    store = openReadModelStore({ path: ':memory:' })
    foldIntoStore(store).fold(records)
    queries = createReadModelQueries(store.db)
  })

  afterEach(() => store.close())

  it('lists markets with the latest price, funding and open interest', () => {
    expect(queries.markets().map((m) => m.market_id)).toEqual([BTC, ETH, SOL])
    expect(queries.market(BTC)).toEqual({
      market_id: BTC,
      symbol: 'BTC/USDC',
      pyth_feed_id: hashOf(`feed:${BTC}`),
      maintenance_margin_ratio: '0.05',
      liquidation_fee_ratio: '0.01',
      current_price: '46000',
      price_confidence: '0.00001',
      price_publish_time: 1_700_000_700,
      funding_rate: '0.0002',
      cumulative_funding_index: '0',
      last_funding_update: 1_700_000_600,
      listed_at: 1_732_615_212,
      long_open_interest: '125000',
      short_open_interest: '0',
      total_open_interest: '125000',
      open_long_positions: 2,
      open_short_positions: 0,
    })
    expect(queries.market(SOL)).toMatchObject({ current_price: null, open_long_positions: 1, last_funding_update: null })
    expect(queries.market('doge-usdc-perp')).toBeUndefined()
  })

  it("lists a trader's open positions with PnL, health and liquidation price at the latest price", () => {
    const { positions, total_unrealized_pnl } = queries.openPositionsOf(alice)
    expect(positions.map((p) => p.position_id)).toEqual([P1, P2, P5])
    expect(positions[0]).toMatchObject({
      symbol: 'BTC/USDC',
      current_price: '46000',
      unrealized_pnl: '-6000',
      equity: '4000',
      maintenance_margin: '3450',
      health_factor: '1.159420289855072463',
      liquidation_price: '45614.035087719298245615',
      is_at_risk: true,
      is_liquidatable: false,
      potential_reward: '690',
    })
    expect(positions[1]).toMatchObject({ unrealized_pnl: '1000', equity: '6000', is_at_risk: false })
    // No SOL tick yet: only the liquidation price, which needs no price, is known.
    expect(positions[2]).toMatchObject({ current_price: null, unrealized_pnl: null, health_factor: null, is_at_risk: null })
    expect(positions[2]!.liquidation_price).not.toBeNull()
    expect(total_unrealized_pnl).toBe('-5000')
    expect(queries.openPositionsOf(addressOf('nobody'))).toEqual({ trader: addressOf('nobody'), positions: [], total_unrealized_pnl: '0' })
  })

  it.each([
    ['a full scan', () => queries],
    ['the liquidation index', () => createReadModelQueries(store.db, createChangeFeed(() => undefined))],
  ])('finds the liquidation candidates, the least healthy first, by %s', (_, candidates: () => ReadModelQueries) => {
    const found = candidates().liquidationCandidates()
    expect(found.map((c) => [c.position_id, c.health_factor, c.is_liquidatable])).toEqual([
      [P3, '-0.608695652173913043', true],
      [P1, '1.159420289855072463', false],
    ])
    expect(found[0]).toEqual(queries.openPositionsOf(bob).positions[0])
    expect(candidates().liquidationCandidates({ limit: 1 }).map((c) => c.position_id)).toEqual([P3])
    expect(candidates().liquidationCandidates({ marketId: ETH })).toEqual([])
    expect(candidates().liquidationCandidates({ marketId: BTC, limit: 5 })).toEqual(found)
  })

  it('reads a position whatever its status, the newest liquidations and a market’s funding history', () => {
    expect(queries.position(P4)).toMatchObject({ status: 'liquidated', exit_price: '55000', liquidation_fee: '550' })
    expect(queries.recentLiquidations(10).map((l) => [l.position_id, l.liquidation_fee])).toEqual([[P4, '550']])
    expect(queries.fundingHistory(BTC, 10).map((f) => [f.block_number, f.funding_rate])).toEqual([
      [7, '0.0002'],
      [6, '0'],
    ])
    expect(queries.fundingHistory(BTC, 1)).toHaveLength(1)
    expect(queries.fundingHistory(SOL, 10)).toEqual([])
  })
})
