import { describe, expect, it } from 'vitest'
import {
  addressOf,
  chainReorg,
  fundingUpdated,
  hashOf,
  marketListed,
  positionClosed,
  positionLiquidated,
  positionOpened,
  priceTick,
} from '../../projections/test-support/records.ts'
import { createMemoryQueries } from '../test-support/memory-queries.ts'
import {
  chainReorgFrame,
  fundingRateUpdateFrame,
  isoSeconds,
  liquidationAlertFrame,
  liquidationWarningFrame,
  marketListedFrame,
  marketStatsFrame,
  positionClosedFrame,
  positionLiquidatedFrame,
  positionOpenedFrame,
  positionsUpdateFrame,
  priceUpdateFrame,
  rawEventFrame,
} from './frames.ts'
import * as messages from './messages.ts'

const BTC = 'btc-usdc-perp'
const SOL = 'sol-usdc-perp'
const alice = addressOf('alice')
const [P1, P2, P3] = [1, 2, 3].map((n) => hashOf(`position:${n}`)) as [string, string, string]
const NOW = Date.UTC(2024, 0, 15, 10, 0, 0, 750)
const PUBLISHED = 1_705_312_790

const listing = [marketListed(BTC, { block: 1 }), marketListed(SOL, { block: 1, logIndex: 1 })]
// Long 1.5 BTC at 50000 with 10000 collateral; at 46000.123456789 it is at risk (health ≈ 1.16).
const opened = positionOpened(BTC, { block: 2 }, { position_id: P1, trader: alice, side: 'long', size: '1.5', collateral: '10000', entry_price: '50000' })
const solOpened = positionOpened(SOL, { block: 3 }, { position_id: P2, trader: alice, side: 'long', size: '10', collateral: '500', entry_price: '150' })
const funding = fundingUpdated(BTC, { block: 4 }, { funding_rate: '0.0001', cumulative_funding_index: '0', long_open_interest: '75000', timestamp: 1_705_309_200 })
const tick = priceTick(BTC, PUBLISHED, '46000.12345678')

describe('snapshot frames', () => {
  const queries = createMemoryQueries([...listing, opened, solOpened, funding, tick])

  it('builds price_update from the latest tick at full precision, with its age in whole seconds', () => {
    const frame = priceUpdateFrame(queries.market(BTC)!, NOW)
    expect(messages.priceUpdate.parse(frame)).toEqual(frame)
    expect(frame).toEqual({
      type: 'price_update',
      market_id: BTC,
      symbol: 'BTC/USDC',
      price: '46000.12345678',
      confidence: '0.00001',
      timestamp: PUBLISHED,
      age_seconds: 10,
    })
  })

  it('builds no price_update and no market_stats before a market has a price', () => {
    expect(priceUpdateFrame(queries.market(SOL)!, NOW)).toBeUndefined()
    expect(marketStatsFrame(queries.market(SOL)!, NOW)).toBeUndefined()
  })

  it('builds market_stats from the market view, with ISO times to the second', () => {
    const frame = marketStatsFrame(queries.market(BTC)!, NOW)
    expect(messages.marketStats.parse(frame)).toEqual(frame)
    expect(frame).toMatchObject({
      current_price: '46000.12345678',
      total_long_oi: '75000',
      total_short_oi: '0',
      total_oi: '75000',
      funding_rate: '0.0001',
      last_funding_update: '2024-01-15T09:00:00Z',
      timestamp: '2024-01-15T10:00:00Z',
    })
  })

  it('leaves a position without a price out of positions_update and out of its total', () => {
    const positions = queries.openPositionsOf(alice)
    const frame = positionsUpdateFrame(alice, positions, NOW)
    expect(messages.positionsUpdate.parse(frame)).toEqual(frame)
    const btc = positions.positions.find((p) => p.position_id === P1)!
    expect(frame.positions).toEqual([
      {
        position_id: P1,
        market_id: BTC,
        symbol: 'BTC/USDC',
        side: 'long',
        size: '1.5',
        entry_price: '50000',
        current_price: '46000.12345678',
        unrealized_pnl: btc.unrealized_pnl,
        health_factor: btc.health_factor,
        liquidation_price: btc.liquidation_price,
        is_at_risk: true,
      },
    ])
    expect(frame.total_unrealized_pnl).toBe(btc.unrealized_pnl)
    expect(btc.unrealized_pnl).toBe('-5999.81481483')
  })

  it('builds liquidation_warning only for a position at risk', () => {
    const [btc, sol] = queries.openPositionsOf(alice).positions
    const frame = liquidationWarningFrame(btc!, NOW)
    expect(messages.liquidationWarning.parse(frame)).toEqual(frame)
    expect(frame?.data).toMatchObject({ position_id: P1, market_id: BTC, health_factor: btc!.health_factor, liquidation_price: btc!.liquidation_price })
    expect(liquidationWarningFrame(sol!, NOW)).toBeUndefined()
  })

  it('builds liquidation_alert with the candidates in the order given and their count', () => {
    const candidates = queries.liquidationCandidates()
    const frame = liquidationAlertFrame(candidates, NOW)
    expect(messages.liquidationAlert.parse(frame)).toEqual(frame)
    expect(frame.count).toBe(1)
    expect(frame.candidates[0]).toEqual({
      position_id: P1,
      user_address: alice,
      market_id: BTC,
      health_factor: candidates[0]!.health_factor,
      liquidation_price: candidates[0]!.liquidation_price,
      current_price: '46000.12345678',
      potential_reward: candidates[0]!.potential_reward,
    })
  })

  it('writes timestamps as ISO 8601 UTC to the second', () => {
    expect(isoSeconds(NOW)).toBe('2024-01-15T10:00:00Z')
  })
})

describe('raw-event frames', () => {
  const cursor = '1.4-0-2'
  const blockTime = (block: number) => isoSeconds((1_732_615_200 + block * 12) * 1000)

  it('builds position_opened from the record', () => {
    const frame = positionOpenedFrame(opened, cursor)
    expect(messages.positionOpened.parse(frame)).toEqual(frame)
    expect(frame).toEqual({
      type: 'position_opened',
      data: {
        position_id: P1,
        user_address: alice,
        market_id: BTC,
        side: 'long',
        size: '1.5',
        collateral: '10000',
        leverage: '7.5',
        entry_price: '50000',
        transaction_hash: opened.chain.tx_hash,
      },
      timestamp: blockTime(2),
      cursor,
    })
  })

  it('builds position_closed and position_liquidated from their records', () => {
    const closed = positionClosed(BTC, { block: 5 }, { position_id: P1, trader: alice, exit_price: '51000', realized_pnl: '1500' })
    const closedFrame = positionClosedFrame(closed, cursor)
    expect(messages.positionClosed.parse(closedFrame)).toEqual(closedFrame)
    expect(closedFrame.data).toEqual({ position_id: P1, user_address: alice, market_id: BTC, exit_price: '51000', realized_pnl: '1500', transaction_hash: closed.chain.tx_hash })

    const liquidated = positionLiquidated(BTC, { block: 6 }, { position_id: P3, trader: alice, liquidation_price: '47500', liquidation_fee: '50.5' })
    const liquidatedFrame = positionLiquidatedFrame(liquidated, cursor)
    expect(messages.positionLiquidated.parse(liquidatedFrame)).toEqual(liquidatedFrame)
    expect(liquidatedFrame.data).toMatchObject({ liquidator_address: addressOf('liquidator'), liquidation_price: '47500', liquidation_fee: '50.5' })
    expect(liquidatedFrame.timestamp).toBe(blockTime(6))
  })

  it('builds funding_rate_update, market_listed and chain_reorg from their records', () => {
    const fundingFrame = fundingRateUpdateFrame(funding, cursor)
    expect(messages.fundingRateUpdate.parse(fundingFrame)).toEqual(fundingFrame)
    expect(fundingFrame.data).toEqual({ market_id: BTC, funding_rate: '0.0001', long_oi: '75000', short_oi: '0' })

    const listedFrame = marketListedFrame(listing[0]!, cursor)
    expect(messages.marketListed.parse(listedFrame)).toEqual(listedFrame)
    expect(listedFrame.data).toMatchObject({ market_id: BTC, symbol: 'BTC/USDC', maintenance_margin_ratio: '0.05', liquidation_fee_ratio: '0.01' })

    const reorg = chainReorg(BTC, { block: 3 }, [{ block: 4 }, { block: 5 }], { block: 6, branch: 'b' })
    const reorgFrame = chainReorgFrame(reorg, cursor, NOW)
    expect(messages.chainReorg.parse(reorgFrame)).toEqual(reorgFrame)
    expect(reorgFrame.data).toEqual({
      market_id: BTC,
      common_ancestor_block: 3,
      orphaned_blocks: [
        { block_number: 4, block_hash: reorg.data.orphaned_blocks[0]!.block_hash },
        { block_number: 5, block_hash: reorg.data.orphaned_blocks[1]!.block_hash },
      ],
    })
  })

  it('dispatches every events-topic record to the frame of its type', () => {
    const records = [listing[0]!, opened, funding]
    expect(records.map((r) => messages.rawEventFrame.parse(rawEventFrame(r, cursor, NOW)).type)).toEqual(['market_listed', 'position_opened', 'funding_rate_update'])
  })
})
