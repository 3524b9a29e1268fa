// The reads the gateway needs, over the read-model connection: prepared statements, plain rows out
// of SQLite, derived values from projections/risk. better-sqlite3 is synchronous and the fold
// commits whole batches, so each query sees the state after some batch, never half of one.
import type Database from 'better-sqlite3'
import { formatDecimal, parseDecimal } from '../../indexer/records/decimal.ts'
import type { FundingRow, LiquidationRow, MarketRow, PositionRow, TickRow } from '../fold/read-model-rows.ts'
import type { ChangeFeed } from '../runtime/change-feed.ts'
import { createLiquidationCandidates, createLiquidationScan, type CandidateOptions } from './liquidation-candidates.ts'
import { marketView, type MarketView, type OpenPositionCounts } from './market-view.ts'
import { positionView, type PositionView } from './position-view.ts'

export type { CandidateOptions } from './liquidation-candidates.ts'

export interface TraderPositions {
  readonly trader: string
  /** Oldest first. */
  readonly positions: readonly PositionView[]
  /** Σ unrealized PnL over the positions that have a price. */
  readonly total_unrealized_pnl: string
}

export interface ReadModelQueries {
  markets(): MarketView[]
  market(marketId: string): MarketView | undefined
  /** A position's stored facts, whatever its status. */
  position(positionId: string): PositionRow | undefined
  openPositionsOf(trader: string): TraderPositions
  /**
   * Open positions at risk (health below 1.2) at their market's latest price, the least healthy
   * first (ties by position id). From the liquidation index when the queries follow a change feed,
   * by a full scan otherwise.
   */
  liquidationCandidates(options?: CandidateOptions): PositionView[]
  /** The newest liquidations first. */
  recentLiquidations(limit: number): LiquidationRow[]
  /** The market's newest funding updates first. */
  fundingHistory(marketId: string, limit: number): FundingRow[]
  /** Stops following the change feed. */
  close(): void
}

function prepareStatements(db: Database.Database) {
  return {
    markets: db.prepare('SELECT * FROM markets ORDER BY market_id'),
    market: db.prepare('SELECT * FROM markets WHERE market_id = ?'),
    ticks: db.prepare('SELECT * FROM latest_ticks'),
    openCounts: db.prepare("SELECT market_id, side, count(*) AS n FROM positions WHERE status = 'open' GROUP BY market_id, side"),
    position: db.prepare('SELECT * FROM positions WHERE position_id = ?'),
    openOfTrader: db.prepare(
      "SELECT * FROM positions WHERE trader = ? AND status = 'open' ORDER BY opened_block_number, opened_log_index",
    ),
    liquidations: db.prepare('SELECT * FROM liquidations ORDER BY block_number DESC, log_index DESC LIMIT ?'),
    // A market's chain keys are "<market_id>:…", and ';' is the character after ':'.
    funding: db.prepare('SELECT * FROM funding_history WHERE chain_key > ? AND chain_key < ? ORDER BY chain_key DESC LIMIT ?'),
  }
}

type Statements = ReturnType<typeof prepareStatements>

function latestTicks(statements: Statements): Map<string, TickRow> {
  return new Map((statements.ticks.all() as TickRow[]).map((tick) => [tick.market_id, tick]))
}

function marketsById(statements: Statements): Map<string, MarketRow> {
  return new Map((statements.markets.all() as MarketRow[]).map((market) => [market.market_id, market]))
}

function openCounts(statements: Statements): Map<string, OpenPositionCounts> {
  const counts = new Map<string, { long: number; short: number }>()
  for (const row of statements.openCounts.all() as { market_id: string; side: 'long' | 'short'; n: number }[]) {
    const entry = counts.get(row.market_id) ?? { long: 0, short: 0 }
    entry[row.side] = row.n
    counts.set(row.market_id, entry)
  }
  return counts
}

function marketViews(statements: Statements, rows: readonly MarketRow[]): MarketView[] {
  const latest = latestTicks(statements)
  const counts = openCounts(statements)
  return rows.map((row) => marketView(row, latest.get(row.market_id), counts.get(row.market_id) ?? { long: 0, short: 0 }))
}

function openPositionsOf(statements: Statements, trader: string): TraderPositions {
  const markets = marketsById(statements)
  const latest = latestTicks(statements)
  const positions = (statements.openOfTrader.all(trader) as PositionRow[]).map((row) =>
    positionView(row, markets.get(row.market_id), latest.get(row.market_id)),
  )
  const total = positions.reduce((sum, p) => sum + (p.unrealized_pnl === null ? 0n : parseDecimal(p.unrealized_pnl)), 0n)
  return { trader, positions, total_unrealized_pnl: formatDecimal(total) }
}

/**
 * The queries over `db`. Given the change feed of the runtime that folds into it, liquidation
 * candidates come from an index that the feed keeps current (subscribed here: create the queries
 * before subscribing a listener that uses them); without one, from a full scan of the open positions.
 */
export function createReadModelQueries(db: Database.Database, changes?: ChangeFeed): ReadModelQueries {
  const statements = prepareStatements(db)
  const candidates = changes === undefined ? createLiquidationScan(db) : createLiquidationCandidates(db, changes)
  return {
    markets: () => marketViews(statements, statements.markets.all() as MarketRow[]),
    market: (marketId) => {
      const row = statements.market.get(marketId) as MarketRow | undefined
      return row === undefined ? undefined : marketViews(statements, [row])[0]
    },
    position: (positionId) => statements.position.get(positionId) as PositionRow | undefined,
    openPositionsOf: (trader) => openPositionsOf(statements, trader),
    liquidationCandidates: (options = {}) => candidates.find(options),
    recentLiquidations: (limit) => statements.liquidations.all(limit) as LiquidationRow[],
    fundingHistory: (marketId, limit) => statements.funding.all(`${marketId}:`, `${marketId};`, limit) as FundingRow[],
    close: () => candidates.close(),
  }
}
