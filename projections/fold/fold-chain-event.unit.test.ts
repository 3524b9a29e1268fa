import { describe, expect, it } from 'vitest'
import { given } from '../test-support/given.ts'
import {
  CHAIN_ID,
  CONTRACT,
  GENESIS_TIME,
  addressOf,
  blockHash,
  fundingUpdated,
  hashOf,
  marketListed,
  positionClosed,
  positionLiquidated,
  positionOpened,
} from '../test-support/records.ts'
import { chainKey } from './chain-key.ts'
import type { MarketRow, PositionRow } from './read-model-rows.ts'

const BTC = 'btc-usdc-perp'
const P1 = hashOf('position:1')
const P2 = hashOf('position:2')

const listed = marketListed(BTC, { block: 1 })
// Long 1.5 at 50000: entry notional 75000.
const openedLong = positionOpened(BTC, { block: 2 }, {
  position_id: P1,
  side: 'long',
  size: '1.5',
  collateral: '10000',
  entry_price: '50000',
  entry_funding_index: '12.5',
})
// Short 0.8 at 50000.5: entry notional 40000.4.
const openedShort = positionOpened(BTC, { block: 2, logIndex: 1 }, {
  position_id: P2,
  side: 'short',
  size: '0.8',
  collateral: '5000',
  entry_price: '50000.5',
})

const listedMarket: MarketRow = {
  market_id: BTC,
  symbol: 'BTC/USDC',
  pyth_feed_id: hashOf(`feed:${BTC}`),
  maintenance_margin_ratio: '0.05',
  liquidation_fee_ratio: '0.01',
  chain_id: CHAIN_ID,
  contract: CONTRACT,
  listed_block_number: 1,
  listed_block_hash: blockHash(1),
  listed_tx_hash: listed.chain.tx_hash,
  listed_log_index: 0,
  listed_at: GENESIS_TIME + 12,
  funding_rate: '0',
  cumulative_funding_index: '0',
  long_open_interest: '0',
  short_open_interest: '0',
  last_funding_update: null,
}

const openLong: PositionRow = {
  position_id: P1,
  market_id: BTC,
  trader: addressOf('trader'),
  side: 'long',
  size: '1.5',
  collateral: '10000',
  leverage: '7.5',
  entry_price: '50000',
  entry_funding_index: '12.5',
  status: 'open',
  opened_block_number: 2,
  opened_block_hash: blockHash(2),
  opened_tx_hash: openedLong.chain.tx_hash,
  opened_log_index: 0,
  opened_at: GENESIS_TIME + 24,
  exit_price: null,
  realized_pnl: null,
  funding_paid: null,
  liquidator: null,
  liquidation_fee: null,
  closed_block_number: null,
  closed_block_hash: null,
  closed_tx_hash: null,
  closed_log_index: null,
  closed_at: null,
}

describe('market_listed', () => {
  it('creates the market with its parameters and listing position, and no funding or open interest yet', () => {
    const result = given().when(listed)
    expect(result.step.outcome).toBe('applied')
    expect(result.rows('markets')).toEqual([listedMarket])
  })
})

describe('position_opened', () => {
  it('stores every fact of the opening as an open position, with its chain position', () => {
    expect(given(listed).when(openedLong).rows('positions')).toEqual([openLong])
  })

  it("adds the entry notional (size · entry price) to its side's open interest", () => {
    const afterLong = given(listed).when(openedLong).rows('markets')[0]
    expect(afterLong).toMatchObject({ long_open_interest: '75000', short_open_interest: '0' })
    const afterShort = given(listed, openedLong).when(openedShort).rows('markets')[0]
    expect(afterShort).toMatchObject({ long_open_interest: '75000', short_open_interest: '40000.4' })
  })

  it('stores a position of a market the log never listed, without inventing a market row', () => {
    const result = given().when(openedLong)
    expect(result.rows('positions')).toEqual([openLong])
    expect(result.rows('markets')).toEqual([])
  })

  it('skips a second opening of an existing position id', () => {
    const again = positionOpened(BTC, { block: 3 }, { position_id: P1, side: 'short', size: '9', collateral: '1', entry_price: '1' })
    const result = given(listed, openedLong).when(again)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'duplicate-position' })
    expect(result.hashAfter).toBe(result.hashBefore)
  })
})

describe('position_closed', () => {
  const closed = positionClosed(BTC, { block: 5, logIndex: 3 }, {
    position_id: P1,
    exit_price: '52000.5',
    realized_pnl: '3000',
    funding_paid: '0.75',
  })

  it('records the exit price, realized PnL, funding paid and the closing chain position', () => {
    expect(given(listed, openedLong).when(closed).rows('positions')).toEqual([
      {
        ...openLong,
        status: 'closed',
        exit_price: '52000.5',
        realized_pnl: '3000',
        funding_paid: '0.75',
        closed_block_number: 5,
        closed_block_hash: blockHash(5),
        closed_tx_hash: closed.chain.tx_hash,
        closed_log_index: 3,
        closed_at: GENESIS_TIME + 60,
      },
    ])
  })

  it("takes the entry notional off its side's open interest", () => {
    const market = given(listed, openedLong, openedShort).when(closed).rows('markets')[0]
    expect(market).toMatchObject({ long_open_interest: '0', short_open_interest: '40000.4' })
  })

  it('skips a close of a position the log never opened', () => {
    const result = given(listed).when(closed)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'unknown-position' })
    expect(result.hashAfter).toBe(result.hashBefore)
  })

  it('skips a close of a position that is closed already', () => {
    const again = positionClosed(BTC, { block: 6 }, { position_id: P1, exit_price: '1' })
    const result = given(listed, openedLong, closed).when(again)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'position-not-open' })
    expect(result.hashAfter).toBe(result.hashBefore)
  })

  it("skips a close filed under another market than the position's", () => {
    const elsewhere = positionClosed('eth-usdc-perp', { block: 6 }, { position_id: P1, exit_price: '1' })
    const result = given(listed, openedLong).when(elsewhere)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'market-mismatch' })
    expect(result.hashAfter).toBe(result.hashBefore)
  })
})

describe('position_liquidated', () => {
  const liquidated = positionLiquidated(BTC, { block: 7, logIndex: 2 }, {
    position_id: P2,
    liquidator: addressOf('keeper'),
    liquidation_price: '55900',
    liquidation_fee: '447.2',
    realized_pnl: '-5000',
  })

  it('records the liquidator, fee, price and PnL on the position, and the liquidation itself', () => {
    const result = given(listed, openedLong, openedShort).when(liquidated)
    expect(result.rows('positions').find((p) => p.position_id === P2)).toMatchObject({
      status: 'liquidated',
      exit_price: '55900',
      realized_pnl: '-5000',
      funding_paid: null,
      liquidator: addressOf('keeper'),
      liquidation_fee: '447.2',
      closed_block_number: 7,
      closed_log_index: 2,
      closed_at: GENESIS_TIME + 84,
    })
    expect(result.rows('liquidations')).toEqual([
      {
        position_id: P2,
        record_id: liquidated.id,
        market_id: BTC,
        trader: addressOf('trader'),
        liquidator: addressOf('keeper'),
        liquidation_price: '55900',
        liquidation_fee: '447.2',
        realized_pnl: '-5000',
        block_number: 7,
        block_hash: blockHash(7),
        tx_hash: liquidated.chain.tx_hash,
        log_index: 2,
        block_timestamp: GENESIS_TIME + 84,
      },
    ])
    expect(result.rows('markets')[0]).toMatchObject({ long_open_interest: '75000', short_open_interest: '0' })
  })

  it('skips a liquidation of a position that is not open', () => {
    const result = given(listed, openedLong, openedShort, liquidated).when(
      positionLiquidated(BTC, { block: 8 }, { position_id: P2, liquidation_price: '1' }),
    )
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'position-not-open' })
    expect(result.hashAfter).toBe(result.hashBefore)
  })
})

describe('funding_updated', () => {
  const funding = fundingUpdated(BTC, { block: 9, logIndex: 4 }, {
    funding_rate: '0.0000125',
    cumulative_funding_index: '13',
    long_open_interest: '75000',
    short_open_interest: '40000.4',
    timestamp: GENESIS_TIME + 100,
  })

  it("sets the market's rate, cumulative index, the contract's open interest and the funding time", () => {
    expect(given(listed).when(funding).rows('markets')).toEqual([
      {
        ...listedMarket,
        funding_rate: '0.0000125',
        cumulative_funding_index: '13',
        long_open_interest: '75000',
        short_open_interest: '40000.4',
        last_funding_update: GENESIS_TIME + 100,
      },
    ])
  })

  it('appends the update to the funding history under its chain key', () => {
    expect(given(listed).when(funding).rows('funding_history')).toEqual([
      {
        chain_key: chainKey(BTC, 9, 4),
        record_id: funding.id,
        market_id: BTC,
        funding_rate: '0.0000125',
        cumulative_funding_index: '13',
        long_open_interest: '75000',
        short_open_interest: '40000.4',
        funding_time: GENESIS_TIME + 100,
        block_number: 9,
        block_hash: blockHash(9),
        tx_hash: funding.chain.tx_hash,
        log_index: 4,
        block_timestamp: GENESIS_TIME + 108,
      },
    ])
  })

  it('keeps the history of a market the log never listed, without a market row', () => {
    const result = given().when(funding)
    expect(result.rows('funding_history')).toHaveLength(1)
    expect(result.rows('markets')).toEqual([])
  })
})
