// Where the read models live between batches. The working set loads from a store and hands it one
// commit per batch; a commit is atomic, so the rows, the undo journal, the cursors and the consumer
// offsets it carries are stored together or not at all. Two implementations behave the same: SQLite
// (sqlite-read-model-store.ts) for the runtime, memory (memory-read-model-store.ts) for the fold's
// unit tests; an integration test compares their state hashes.
import type { JournalBlock } from '../fold/fold-step.ts'
import type { MarketRow, PositionRow, ReadModelTable, RowWrite, TickRow } from '../fold/read-model-rows.ts'

/** Undo-journal bookkeeping of one market (not part of the read models or their hash). */
export interface FoldCursor {
  readonly market_id: string
  /** The highest block number of the market's folded chain events: the finality line is this − depth. */
  readonly head_block: number
  /** Journal entries at or below this block were pruned as final (−1: none). */
  readonly finalized_through: number
}

/** The next offset to read in a partition: every record before it is in the read models. */
export interface ConsumerOffset {
  readonly topic: string
  readonly partition: number
  readonly next_offset: number
}

/** A state hash and the consumer offsets it is the state of, read together. */
export interface StateReport {
  readonly stateHash: string
  readonly offsets: ConsumerOffset[]
}

export interface StoreCommit {
  /** At most one write per row: its final image after the batch. */
  readonly writes: readonly RowWrite[]
  /**
   * Rows the committer knows the store does not hold (a bulk load tracks what it wrote): stored
   * without a conflict check. A row that is stored after all fails the commit. None is also in writes.
   */
  readonly inserts?: readonly RowWrite[]
  /** New images of rows the committer knows the store holds; a row that is not stored fails the commit. */
  readonly updates?: readonly RowWrite[]
  /** Block keys of journal blocks that were stored and are now undone or pruned; removed before the upserts. */
  readonly journalDeletes: readonly string[]
  /** Journal blocks new or grown since they were last stored. */
  readonly journalUpserts: readonly JournalBlock[]
  readonly cursors: readonly FoldCursor[]
  readonly offsets: readonly ConsumerOffset[]
}

export type ColumnValue = string | number | null

/** A commit's insert of a row that is stored, or update of one that is not: the committer's bookkeeping is wrong. */
export class KnownRowError extends Error {
  override readonly name = 'KnownRowError'
  constructor(
    readonly table: ReadModelTable,
    readonly key: string,
    readonly expectedStored: boolean,
  ) {
    super(`${table} row ${key} was committed as ${expectedStored ? 'stored' : 'new'} but is ${expectedStored ? 'not stored' : 'stored already'}`)
  }
}

export interface ReadModelStore {
  loadMarkets(): MarketRow[]
  loadTicks(): TickRow[]
  /** The whole undo journal, in block-key order (so each market's blocks are in chain order). */
  loadJournal(): JournalBlock[]
  loadCursors(): FoldCursor[]
  loadOffsets(): ConsumerOffset[]
  findPosition(positionId: string): PositionRow | undefined
  /** Whether any position is stored (a fresh file, as a replay folds into, has none). */
  hasPositions(): boolean
  /** Stores everything in the commit atomically, or throws having stored nothing. */
  commit(commit: StoreCommit): void
  /** A table's rows in primary-key order (byte order of the TEXT key), as readModelTables column values. */
  tableRows(table: ReadModelTable): Iterable<readonly ColumnValue[]>
}
