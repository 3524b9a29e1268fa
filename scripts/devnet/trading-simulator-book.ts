// The open positions of the exchange as the simulator knows them from the chain's events, and which
// of them the contract would liquidate now. Pure: the simulator feeds it the decoded logs in chain
// order and the markets' on-chain state.
import { isLiquidatable, type PositionFacts } from '../../projections/risk/risk.ts'

type Hex = `0x${string}`

export interface BookPosition {
  readonly id: Hex
  /** Lowercase. */
  readonly trader: string
  /** The on-chain bytes32 market id. */
  readonly marketId: Hex
  readonly facts: PositionFacts
}

/** A market's state as getMarket returns it: what the contract's liquidation rule reads. */
export interface MarketState {
  readonly markPrice: bigint
  readonly cumulativeFundingIndex: bigint
  readonly maintenanceMarginRatio: bigint
  readonly liquidationFeeRatio: bigint
}

export interface PositionOpenedArgs {
  readonly positionId: Hex
  readonly trader: string
  readonly marketId: Hex
  readonly isLong: boolean
  readonly size: bigint
  readonly collateral: bigint
  readonly entryPrice: bigint
  readonly entryFundingIndex: bigint
}

export interface PositionBook {
  /** PositionOpened. */
  opened(args: PositionOpenedArgs): void
  /** PositionClosed or PositionLiquidated; an unknown id is ignored. */
  removed(positionId: Hex): void
  ofTrader(trader: string): readonly BookPosition[]
  all(): readonly BookPosition[]
}

export function createPositionBook(): PositionBook {
  // Insertion order is chain order, so a trader's positions list oldest first.
  const positions = new Map<Hex, BookPosition>()
  return {
    opened(args) {
      const facts: PositionFacts = {
        side: args.isLong ? 'long' : 'short',
        size: args.size,
        collateral: args.collateral,
        entryPrice: args.entryPrice,
        entryFundingIndex: args.entryFundingIndex,
      }
      const id = args.positionId.toLowerCase() as Hex
      positions.set(id, { id, trader: args.trader.toLowerCase(), marketId: args.marketId.toLowerCase() as Hex, facts })
    },
    removed(positionId) {
      positions.delete(positionId.toLowerCase() as Hex)
    },
    ofTrader(trader) {
      const wanted = trader.toLowerCase()
      return [...positions.values()].filter((p) => p.trader === wanted)
    },
    all: () => [...positions.values()],
  }
}

/**
 * The positions the contract's liquidate() accepts now (equity below maintenance, health < 1), by
 * the same truncating WAD arithmetic; positions of markets without a state or a price are skipped.
 */
export function liquidatablePositions(
  positions: readonly BookPosition[],
  markets: ReadonlyMap<Hex, MarketState>,
): BookPosition[] {
  return positions.filter((position) => {
    const market = markets.get(position.marketId)
    if (market === undefined || market.markPrice === 0n) return false
    return isLiquidatable(position.facts, market, market.markPrice)
  })
}
