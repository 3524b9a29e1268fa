// ReadModelQueries over the fold's memory store, for the channels' unit tests: records are folded
// by the projections' own fold (projections/test-support), and the views come from the same pure
// marketView/positionView the SQLite queries use, so the derived values are the real ones.
import { formatDecimal, parseDecimal } from '../../indexer/records/decimal.ts'
import type { ProjectionRecord } from '../../projections/fold/projection-record.ts'
import type { MarketRow, PositionRow, TickRow } from '../../projections/fold/read-model-rows.ts'
import { marketView } from '../../projections/query/market-view.ts'
import { positionView, type PositionView } from '../../projections/query/position-view.ts'
import type { ReadModelQueries } from '../../projections/query/read-model-queries.ts'
import { foldIntoMemory } from '../../projections/test-support/fold-into-memory.ts'

export interface MemoryQueries extends ReadModelQueries {
  /** Folds more records into the read models. */
  fold(records: readonly ProjectionRecord[]): void
}

/** Least healthy first, as the SQLite queries order them (no health factor first of all). */
function byHealth(a: PositionView, b: PositionView): number {
  const [ha, hb] = [a.health_factor, b.health_factor].map((h) => (h === null ? undefined : parseDecimal(h)))
  if (ha === hb) return 0
  if (ha === undefined) return -1
  if (hb === undefined) return 1
  return ha < hb ? -1 : 1
}

export function createMemoryQueries(records: readonly ProjectionRecord[] = []): MemoryQueries {
  const folded = foldIntoMemory()
  folded.fold(records)
  const { store } = folded
  const markets = () => new Map(store.rows('markets').map((m): [string, MarketRow] => [m.market_id, m]))
  const ticks = () => new Map(store.rows('latest_ticks').map((t): [string, TickRow] => [t.market_id, t]))
  const open = (): PositionRow[] => store.rows('positions').filter((p) => p.status === 'open')
  const views = (rows: readonly PositionRow[]) => {
    const [m, t] = [markets(), ticks()]
    return rows.map((row) => positionView(row, m.get(row.market_id), t.get(row.market_id)))
  }
  const marketViews = () =>
    store.rows('markets').map((row) => {
      const positions = open().filter((p) => p.market_id === row.market_id)
      const counts = { long: positions.filter((p) => p.side === 'long').length, short: positions.filter((p) => p.side === 'short').length }
      return marketView(row, ticks().get(row.market_id), counts)
    })
  return {
    fold: (more) => void folded.fold(more),
    markets: marketViews,
    market: (marketId) => marketViews().find((m) => m.market_id === marketId),
    position: (positionId) => store.rows('positions').find((p) => p.position_id === positionId),
    openPositionsOf(trader) {
      const positions = views(open().filter((p) => p.trader === trader).sort((a, b) => a.opened_block_number - b.opened_block_number || a.opened_log_index - b.opened_log_index))
      const total = positions.reduce((sum, p) => sum + (p.unrealized_pnl === null ? 0n : parseDecimal(p.unrealized_pnl)), 0n)
      return { trader, positions, total_unrealized_pnl: formatDecimal(total) }
    },
    liquidationCandidates(options = {}) {
      const candidates = views(open().filter((p) => options.marketId === undefined || p.market_id === options.marketId)).filter((v) => v.is_at_risk === true)
      return candidates.sort(byHealth).slice(0, options.limit ?? candidates.length)
    },
    recentLiquidations: (limit) => store.rows('liquidations').slice(0, limit),
    fundingHistory: (marketId, limit) => store.rows('funding_history').filter((f) => f.market_id === marketId).slice(0, limit),
    close: () => undefined,
  }
}
