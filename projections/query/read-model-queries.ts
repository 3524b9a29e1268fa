// The reads the gateway needs, over the read-model connection: prepared statements, plain rows out
// of SQLite, derived values from projections/risk. better-sqlite3 is synchronous and the fold
// commits whole batches, so each query sees the state after some batch, never half of one.
import type Database from 'better-sqlite3'
import { formatDecimal, parseDecimal } from '../../indexer/records/decimal.ts'
import type { FundingRow, LiquidationRow, MarketRow, PositionRow, TickRow } from '../fold/read-model-rows.ts'
import { assessPosition } from '../risk/risk.ts'
import { marketView, type MarketView, type OpenPositionCounts } from './market-view.ts'
import { marketRiskParameters, positionFacts, positionView, type PositionView } from './position-view.ts'

export interface TraderPositions {
  readonly trader: string
  /** Oldest first. */
  readonly positions: readonly PositionView[]
  /** Σ unrealized PnL over the positions that have a price. */
  readonly total_unrealized_pnl: string
}

export interface CandidateOptions {
  readonly marketId?: string
  /** At most this many, the least healthy first. */
  readonly limit?: number
}

export interface ReadModelQueries {
  markets(): MarketView[]
  market(marketId: string): MarketView | undefined
  /** A position's stored facts, whatever its status. */
  position(positionId: string): PositionRow | undefined
  openPositionsOf(trader: string): TraderPositions
  /**
   * Open positions at risk (health below 1.2) at their market's latest price, the least healthy
   * first. A full scan of the open positions for now.
   */
  liquidationCandidates(options?: CandidateOptions): PositionView[]
  /** The newest liquidations first. */
  recentLiquidations(limit: number): LiquidationRow[]
  /** The market's newest funding updates first. */
  fundingHistory(marketId: string, limit: number): FundingRow[]
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
    openAll: db.prepare("SELECT * FROM positions WHERE status = 'open'"),
    openInMarket: db.prepare("SELECT * FROM positions WHERE market_id = ? AND status = 'open'"),
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

/** Least healthy first; no health factor (a zero maintenance margin at risk: negative equity) first of all. */
function byHealth(a: { health: bigint | undefined }, b: { health: bigint | undefined }): number {
  if (a.health === b.health) return 0
  if (a.health === undefined) return -1
  if (b.health === undefined) return 1
  return a.health < b.health ? -1 : 1
}

function liquidationCandidates(statements: Statements, options: CandidateOptions): PositionView[] {
  const markets = marketsById(statements)
  const latest = latestTicks(statements)
  const rows = (options.marketId === undefined ? statements.openAll.iterate() : statements.openInMarket.iterate(options.marketId)) as IterableIterator<PositionRow>
  const candidates: { row: PositionRow; health: bigint | undefined }[] = []
  for (const row of rows) {
    const market = markets.get(row.market_id)
    const tick = latest.get(row.market_id)
    if (market === undefined || tick === undefined) continue
    const risk = assessPosition(positionFacts(row), marketRiskParameters(market), parseDecimal(tick.price))
    if (risk.isAtRisk) candidates.push({ row, health: risk.healthFactor })
  }
  return candidates
    .sort(byHealth)
    .slice(0, options.limit ?? candidates.length)
    .map(({ row }) => positionView(row, markets.get(row.market_id), latest.get(row.market_id)))
}

export function createReadModelQueries(db: Database.Database): ReadModelQueries {
  const statements = prepareStatements(db)
  return {
    markets: () => marketViews(statements, statements.markets.all() as MarketRow[]),
    market: (marketId) => {
      const row = statements.market.get(marketId) as MarketRow | undefined
      return row === undefined ? undefined : marketViews(statements, [row])[0]
    },
    position: (positionId) => statements.position.get(positionId) as PositionRow | undefined,
    openPositionsOf: (trader) => openPositionsOf(statements, trader),
    liquidationCandidates: (options = {}) => liquidationCandidates(statements, options),
    recentLiquidations: (limit) => statements.liquidations.all(limit) as LiquidationRow[],
    fundingHistory: (marketId, limit) => statements.funding.all(`${marketId}:`, `${marketId};`, limit) as FundingRow[],
  }
}
