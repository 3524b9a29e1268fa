import { describe, expect, it } from 'vitest'
import { WAD } from '../../indexer/records/decimal.ts'
import { createPositionBook, liquidatablePositions, type MarketState, type PositionOpenedArgs } from './trading-simulator-book.ts'

const btc = `0x${'62'.repeat(32)}` as const
const eth = `0x${'65'.repeat(32)}` as const
const alice = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const bob = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'

function opened(id: string, overrides: Partial<PositionOpenedArgs> = {}): PositionOpenedArgs {
  return {
    positionId: `0x${id.padStart(64, '0')}`,
    trader: alice,
    marketId: btc,
    isLong: true,
    size: WAD,
    collateral: 3_450n * WAD,
    entryPrice: 50_000n * WAD,
    entryFundingIndex: 0n,
    ...overrides,
  }
}

function market(markPrice: bigint, cumulativeFundingIndex = 0n): MarketState {
  return { markPrice, cumulativeFundingIndex, maintenanceMarginRatio: WAD / 20n, liquidationFeeRatio: WAD / 100n }
}

describe('position book', () => {
  it('holds a position from PositionOpened until its PositionClosed or PositionLiquidated', () => {
    const book = createPositionBook()
    book.opened(opened('1'))
    book.opened(opened('2', { trader: bob }))
    book.opened(opened('3'))
    expect(book.ofTrader(alice.toUpperCase().replace('0X', '0x')).map((p) => p.id)).toEqual([opened('1').positionId, opened('3').positionId])
    book.removed(opened('1').positionId)
    book.removed(opened('2').positionId.toUpperCase().replace('0X', '0x') as `0x${string}`)
    book.removed(`0x${'f'.repeat(64)}`)
    expect(book.all().map((p) => p.id)).toEqual([opened('3').positionId])
    expect(book.all()[0]).toMatchObject({ trader: alice.toLowerCase(), marketId: btc, facts: { side: 'long', size: WAD } })
  })
})

describe('liquidatable positions', () => {
  // A 1 BTC long from 50,000 with 3,450 collateral: at 49,000 equity = maintenance = 2,450.
  it('takes a long exactly when equity falls below maintenance, as the contract decides', () => {
    const book = createPositionBook()
    book.opened(opened('1'))
    expect(liquidatablePositions(book.all(), new Map([[btc, market(49_000n * WAD)]]))).toEqual([])
    expect(liquidatablePositions(book.all(), new Map([[btc, market(49_000n * WAD - 2n)]]))).toHaveLength(1)
    expect(liquidatablePositions(book.all(), new Map([[btc, market(48_000n * WAD)]]))).toHaveLength(1)
  })

  it('takes a short when the price rises, and counts the funding it owes', () => {
    const book = createPositionBook()
    // A 1 BTC short from 50,000 with 2,550 collateral: at 50,000 equity 2,550 against maintenance 2,500.
    book.opened(opened('1', { isLong: false, collateral: 2_550n * WAD }))
    expect(liquidatablePositions(book.all(), new Map([[btc, market(50_000n * WAD)]]))).toEqual([])
    expect(liquidatablePositions(book.all(), new Map([[btc, market(50_100n * WAD)]]))).toHaveLength(1)
    // The funding index fell by 100 per unit: the short owes 100, equity 2,450 < 2,500.
    expect(liquidatablePositions(book.all(), new Map([[btc, market(50_000n * WAD, -100n * WAD)]]))).toHaveLength(1)
  })

  it('skips positions of markets with no state or no price yet', () => {
    const book = createPositionBook()
    book.opened(opened('1', { marketId: eth, collateral: 1n }))
    expect(liquidatablePositions(book.all(), new Map([[btc, market(1n)]]))).toEqual([])
    expect(liquidatablePositions(book.all(), new Map([[eth, market(0n)]]))).toEqual([])
  })
})
