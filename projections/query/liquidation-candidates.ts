// The liquidation candidates over the read-model connection: open positions at risk at their
// market's latest price, the least healthy first, as PositionViews.
//
// createLiquidationCandidates answers from the liquidation index (liquidation-index.ts), loaded from
// the open positions in SQLite when it is created and kept current by the change feed: after each
// commit, the positions the change names are read again (open: indexed with their facts; closed,
// liquidated, or undone by a reorg: dropped). Market parameters, funding indices and latest prices
// are read at query time, so a funding update or a tick needs nothing from the index, and a new
// maintenance ratio re-keys its market at the next query. Change listeners run in the order they
// subscribed: create this before subscribing a listener that queries it, or that listener may see a
// commit before the index does.
//
// createLiquidationScan answers the same by assessing every open position: the reference the index
// is tested and benchmarked against, and the way to read a file that no change feed follows.
import type Database from 'better-sqlite3'
import { parseDecimal } from '../../indexer/records/decimal.ts'
import type { MarketRow, PositionRow, TickRow } from '../fold/read-model-rows.ts'
import type { ChangeFeed } from '../runtime/change-feed.ts'
import { assessPosition } from '../risk/risk.ts'
import { leastHealthyFirst, type AtRiskPosition, type IndexedPosition } from './at-risk-position.ts'
import { createLiquidationIndex } from './liquidation-index.ts'
import { marketRiskParameters, positionFacts, positionView, type PositionView } from './position-view.ts'

export interface CandidateOptions {
  readonly marketId?: string
  /** At most this many, the least healthy first. */
  readonly limit?: number
}

export interface LiquidationCandidates {
  /** Open positions at risk (health below 1.2) at their market's latest price, the least healthy first. */
  find(options?: CandidateOptions): PositionView[]
  /** Stops following the change feed (a scan has nothing to stop). */
  close(): void
}

/** The index holds a position that the read models do not have open: it missed a change. */
export class StaleLiquidationIndexError extends Error {
  override readonly name = 'StaleLiquidationIndexError'
  constructor(readonly positionId: string) {
    super(`liquidation index holds position ${positionId}, which is not open in the read models; it must subscribe before any listener that queries it`)
  }
}

type OpenFactsRow = Pick<PositionRow, 'position_id' | 'market_id' | 'side' | 'size' | 'collateral' | 'entry_price' | 'entry_funding_index'>

function prepareStatements(db: Database.Database) {
  return {
    markets: db.prepare<[], MarketRow>('SELECT * FROM markets'),
    ticks: db.prepare<[], TickRow>('SELECT * FROM latest_ticks'),
    position: db.prepare<[string], PositionRow>('SELECT * FROM positions WHERE position_id = ?'),
    openFacts: db.prepare<[], OpenFactsRow>(
      "SELECT position_id, market_id, side, size, collateral, entry_price, entry_funding_index FROM positions WHERE status = 'open'",
    ),
    openAll: db.prepare<[], PositionRow>("SELECT * FROM positions WHERE status = 'open'"),
    openInMarket: db.prepare<[string], PositionRow>("SELECT * FROM positions WHERE market_id = ? AND status = 'open'"),
  }
}

type Statements = ReturnType<typeof prepareStatements>

function indexedPosition(row: OpenFactsRow): IndexedPosition {
  return { positionId: row.position_id, marketId: row.market_id, facts: positionFacts(row) }
}

/** The markets that can have candidates: listed and priced. */
function pricedMarkets(statements: Statements): Map<string, { market: MarketRow; tick: TickRow }> {
  const ticks = new Map(statements.ticks.all().map((tick) => [tick.market_id, tick]))
  const priced = new Map<string, { market: MarketRow; tick: TickRow }>()
  for (const market of statements.markets.all()) {
    const tick = ticks.get(market.market_id)
    if (tick !== undefined) priced.set(market.market_id, { market, tick })
  }
  return priced
}

function views(
  ranked: readonly AtRiskPosition[],
  limit: number | undefined,
  markets: ReadonlyMap<string, { market: MarketRow; tick: TickRow }>,
  rowOf: (positionId: string) => PositionRow,
): PositionView[] {
  return ranked.slice(0, limit ?? ranked.length).map(({ positionId, marketId }) => {
    const priced = markets.get(marketId)
    return positionView(rowOf(positionId), priced?.market, priced?.tick)
  })
}

export function createLiquidationCandidates(db: Database.Database, changes: ChangeFeed): LiquidationCandidates {
  const statements = prepareStatements(db)
  const index = createLiquidationIndex()
  const ratios = new Map(statements.markets.all().map((m) => [m.market_id, parseDecimal(m.maintenance_margin_ratio)]))
  index.load(Array.from(statements.openFacts.iterate(), indexedPosition), ratios)
  const unsubscribe = changes.subscribe((change) => {
    for (const positionId of change.positionIds) {
      const row = statements.position.get(positionId)
      if (row === undefined || row.status !== 'open') index.remove(positionId)
      else index.upsert(indexedPosition(row))
    }
  })

  function rowOf(positionId: string): PositionRow {
    const row = statements.position.get(positionId)
    if (row === undefined || row.status !== 'open') throw new StaleLiquidationIndexError(positionId)
    return row
  }

  return {
    find(options = {}) {
      const markets = pricedMarkets(statements)
      let ranked: AtRiskPosition[] = []
      for (const [marketId, { market, tick }] of markets) {
        if (options.marketId !== undefined && marketId !== options.marketId) continue
        ranked = ranked.concat(index.atRisk(marketId, marketRiskParameters(market), parseDecimal(tick.price)))
      }
      // Each market's list is sorted already: the sort merges them.
      return views(ranked.sort(leastHealthyFirst), options.limit, markets, rowOf)
    },
    close: unsubscribe,
  }
}

export function createLiquidationScan(db: Database.Database): LiquidationCandidates {
  const statements = prepareStatements(db)
  return {
    find(options = {}) {
      const markets = pricedMarkets(statements)
      const rows = new Map<string, PositionRow>()
      const ranked: AtRiskPosition[] = []
      const open = options.marketId === undefined ? statements.openAll.iterate() : statements.openInMarket.iterate(options.marketId)
      for (const row of open) {
        const priced = markets.get(row.market_id)
        if (priced === undefined) continue
        const risk = assessPosition(positionFacts(row), marketRiskParameters(priced.market), parseDecimal(priced.tick.price))
        if (!risk.isAtRisk) continue
        rows.set(row.position_id, row)
        ranked.push({ positionId: row.position_id, marketId: row.market_id, healthFactor: risk.healthFactor })
      }
      return views(ranked.sort(leastHealthyFirst), options.limit, markets, (id) => rows.get(id)!)
    },
    close: () => undefined,
  }
}
