// The fold's in-memory working set over a store. Markets, latest ticks, the undo journal and the
// cursors are small and held whole; positions are loaded on first use and kept while open (up to a
// bound). Each fold step is applied here at once, so the next record of the batch sees it; the rows
// it wrote are only collected, and takeCommit hands the store one write per changed row per batch.
//
// The journal of what undoes each block is kept by undo-journal.ts.
import { foldRecord } from '../fold/fold-record.ts'
import type { FoldStep, FoldView } from '../fold/fold-step.ts'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import type { MarketRow, PositionRow, RowWrite, TickRow } from '../fold/read-model-rows.ts'
import type { ReadModelStore, StoreCommit } from '../store/read-model-store.ts'
import { createUndoJournal, type UndoJournal } from './undo-journal.ts'

export interface WorkingSetOptions {
  /** The deepest reorg undone: a market's blocks more than this far below its newest folded block are final. */
  readonly finalityDepth: number
  /** Open positions kept in memory between batches (default 20k); the rest are read back on use. */
  readonly maxCachedPositions?: number
}

export type PendingCommit = Omit<StoreCommit, 'offsets'>

export interface WorkingSet extends FoldView {
  /** Folds one record and applies what it writes to the working set. */
  fold(record: ProjectionRecord): FoldStep
  /** Everything changed since the last call, pruned below finality, for one atomic store commit. */
  takeCommit(): PendingCommit
  /** Forgets everything not committed and reloads from the store (after a failed commit). */
  reset(): void
}

// The fold reads a position again only when it is closed or liquidated, a random one of the open
// positions, so caching all of them saves few reads (about 10 µs each from SQLite) for a lot of
// memory: a replay of 100k open positions peaked at 546 MB with 200k cached and at 350 to 470 MB
// with 20k, at the same CPU per record.
const DEFAULT_MAX_CACHED_POSITIONS = 20_000

// Past this many, the ids of the stored positions are no longer tracked (about 100 bytes each).
const MAX_TRACKED_POSITION_IDS = 2_000_000

/**
 * Closed and absent positions of the batch are not kept: they are rarely read again. Then, over
 * the bound, the positions cached first go first.
 */
function evictPositions(positions: Map<string, PositionRow | null>, batch: ReadonlySet<string>, max: number): void {
  for (const id of batch) {
    const row = positions.get(id)
    if (row === null || row?.status !== 'open') positions.delete(id)
  }
  for (const id of positions.keys()) {
    if (positions.size <= max) break
    positions.delete(id)
  }
}

export function createWorkingSet(store: ReadModelStore, options: WorkingSetOptions): WorkingSet {
  const { finalityDepth } = options
  if (!Number.isSafeInteger(finalityDepth) || finalityDepth < 0) {
    throw new RangeError(`finalityDepth must be a non-negative integer, got ${finalityDepth}`)
  }
  const maxCachedPositions = options.maxCachedPositions ?? DEFAULT_MAX_CACHED_POSITIONS
  let markets = new Map<string, MarketRow>()
  let ticks = new Map<string, TickRow>()
  /** null: the store has no such position. */
  let positions = new Map<string, PositionRow | null>()
  let journal: UndoJournal = createUndoJournal(finalityDepth, [], [])
  /** Per table, per key, the row's last write since the last commit. */
  let dirty = new Map<RowWrite['table'], Map<string, RowWrite>>()
  /** Positions read or written since the last commit: the only ones eviction needs to look at. */
  let batchPositions = new Set<string>()
  /**
   * Every position id the store holds or will once this batch commits, while that is known (the
   * store had none at load, as in a replay): an opened position is then known new without a read
   * from the store. undefined: not known, so a position missing from the cache is read.
   */
  let positionIds: Set<string> | undefined

  function load(): void {
    markets = new Map(store.loadMarkets().map((row) => [row.market_id, row]))
    ticks = new Map(store.loadTicks().map((row) => [row.market_id, row]))
    positions = new Map()
    journal = createUndoJournal(finalityDepth, store.loadJournal(), store.loadCursors())
    dirty = new Map()
    batchPositions = new Set()
    positionIds = store.hasPositions() ? undefined : new Set()
  }

  function trackPosition(write: RowWrite & { readonly table: 'positions' }): void {
    if (positionIds === undefined) return
    if (write.row === undefined) positionIds.delete(write.key)
    else positionIds.add(write.key)
    if (positionIds.size > MAX_TRACKED_POSITION_IDS) positionIds = undefined
  }

  function applyWrite(write: RowWrite): void {
    let tableWrites = dirty.get(write.table)
    if (tableWrites === undefined) dirty.set(write.table, (tableWrites = new Map()))
    tableWrites.set(write.key, write)
    if (write.table === 'markets') {
      if (write.row === undefined) markets.delete(write.key)
      else markets.set(write.key, write.row)
    } else if (write.table === 'latest_ticks') {
      if (write.row === undefined) ticks.delete(write.key)
      else ticks.set(write.key, write.row)
    } else if (write.table === 'positions') {
      positions.set(write.key, write.row ?? null)
      batchPositions.add(write.key)
      trackPosition(write)
    }
  }

  function position(positionId: string): PositionRow | undefined {
    const cached = positions.get(positionId)
    if (cached !== undefined) return cached ?? undefined
    const stored = positionIds === undefined || positionIds.has(positionId) ? store.findPosition(positionId) : undefined
    positions.set(positionId, stored ?? null)
    batchPositions.add(positionId)
    return stored
  }

  function takeCommit(): PendingCommit {
    const { upserts, deletes, cursors } = journal.settle()
    const writes: RowWrite[] = []
    for (const tableWrites of dirty.values()) for (const write of tableWrites.values()) writes.push(write)
    const pending = { writes, journalDeletes: deletes, journalUpserts: upserts, cursors }
    dirty = new Map()
    evictPositions(positions, batchPositions, maxCachedPositions)
    batchPositions = new Set()
    return pending
  }

  const workingSet: WorkingSet = {
    market: (marketId) => markets.get(marketId),
    position,
    tick: (marketId) => ticks.get(marketId),
    isApplied: (recordId) => journal.isApplied(recordId),
    journal: (marketId) => journal.blocks(marketId),
    finalizedThrough: (marketId) => journal.finalizedThrough(marketId),
    fold: (record) => {
      const step = foldRecord(workingSet, record)
      if (step.outcome === 'applied') {
        step.writes.forEach(applyWrite)
        if (step.journal !== undefined) journal.apply(step.journal)
      }
      return step
    },
    takeCommit,
    reset: load,
  }
  load()
  return workingSet
}
