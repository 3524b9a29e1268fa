// A store that keeps commits in memory and hands them to the store beneath in large merged commits:
// for a file nobody reads until it is complete (a replay's fresh file, bulk mode).
//
// Why: a replay writes each position about twice (opened, then closed or liquidated) and each undo-
// journal block twice (stored, then pruned a batch later), one batch at a time. In SQLite every such
// write is a random B-tree update of a table larger than the page cache. Merged over many batches,
// a row written twice is written once, a journal block stored and pruned before a flush is never
// written at all, and the rows go down in key order, so each flush sweeps the B-trees once.
//
// What it gives up: a commit is no longer durable or atomic on its own; only the whole (after
// flush()) is. That is exactly a bulk file's contract: a fold that fails or dies leaves the file to be
// deleted, never used. Reads see every commit: a position is found in the pending writes first, and
// every other read flushes before it asks the store beneath.
import type { JournalBlock } from '../fold/fold-step.ts'
import { readModelTableNames, readModelTables, type PositionRow, type ReadModelTable, type RowWrite } from '../fold/read-model-rows.ts'
import type { ConsumerOffset, FoldCursor, ReadModelStore, StoreCommit } from './read-model-store.ts'

export interface WriteBehindStore extends ReadModelStore {
  /** Writes everything pending to the store beneath, in one commit. */
  flush(): void
  /** Row writes pending (one per row). */
  readonly pendingRows: number
}

export interface WriteBehindOptions {
  /** A commit that leaves more row writes pending than this flushes them (memory bound). */
  readonly maxPendingRows: number
  /**
   * Asked after a commit that leaves more than `minPendingRows` (default 0) row writes pending:
   * true flushes them before the bound is reached (the process is short of memory).
   */
  readonly underPressure?: () => boolean
  readonly minPendingRows?: number
}

function storedKeysOf(store: ReadModelStore, table: ReadModelTable): Set<string> {
  const at = (readModelTables[table].columns as readonly string[]).indexOf(readModelTables[table].key)
  const keys = new Set<string>()
  for (const values of store.tableRows(table)) keys.add(values[at] as string)
  return keys
}

/**
 * The store beneath is read once, at the start, for the keys it holds (every row's key and journal
 * block's): meant for a fresh or small file, as a replay's is.
 */
export function createWriteBehindStore(inner: ReadModelStore, options: WriteBehindOptions): WriteBehindStore {
  if (!Number.isSafeInteger(options.maxPendingRows) || options.maxPendingRows < 1) {
    throw new RangeError(`maxPendingRows must be a positive integer, got ${options.maxPendingRows}`)
  }
  const minPendingRows = options.minPendingRows ?? 0
  if (!Number.isSafeInteger(minPendingRows) || minPendingRows < 0) {
    throw new RangeError(`minPendingRows must be a non-negative integer, got ${minPendingRows}`)
  }
  /** Per table, the final image of each row written since the last flush (undefined: deleted). */
  let rows = new Map<ReadModelTable, Map<string, RowWrite>>()
  let rowCount = 0
  /** Per block key, the block to store, or null: delete it. */
  let journal = new Map<string, JournalBlock | null>()
  let cursors = new Map<string, FoldCursor>()
  let offsets = new Map<string, ConsumerOffset>()
  /** The journal keys the store beneath holds: a block stored and pruned between flushes needs no delete. */
  const storedJournalKeys = new Set(inner.loadJournal().map((block) => block.block_key))
  /** Per table, the keys of the rows the store beneath holds: a row is inserted or updated, never upserted. */
  const storedKeys = new Map(readModelTableNames.map((table) => [table, storedKeysOf(inner, table)]))

  function tableWrites(table: ReadModelTable): Map<string, RowWrite> {
    let writes = rows.get(table)
    if (writes === undefined) rows.set(table, (writes = new Map()))
    return writes
  }

  /** Everything pending as one commit for the store beneath, rows in key order. */
  function pendingCommit(): StoreCommit & { readonly inserts: RowWrite[]; readonly updates: RowWrite[] } {
    const inserts: RowWrite[] = []
    const updates: RowWrite[] = []
    // The default sort orders strings by UTF-16 code units (SQLite's byte order for these ASCII keys).
    for (const table of [...rows.keys()].sort()) {
      const tableRows = rows.get(table)!
      const stored = storedKeys.get(table)!
      for (const key of [...tableRows.keys()].sort()) {
        const write = tableRows.get(key)!
        if (stored.has(key)) updates.push(write)
        else if (write.row !== undefined) inserts.push(write)
      }
    }
    const journalDeletes: string[] = []
    const journalUpserts: JournalBlock[] = []
    for (const [key, block] of journal) {
      if (block !== null) journalUpserts.push(block)
      else if (storedJournalKeys.has(key)) journalDeletes.push(key)
    }
    return { writes: [], inserts, updates, journalDeletes, journalUpserts, cursors: [...cursors.values()], offsets: [...offsets.values()] }
  }

  /** Pending writes are forgotten only once the store beneath holds them: a failed flush keeps them. */
  function flush(): void {
    if (rowCount === 0 && journal.size === 0 && cursors.size === 0 && offsets.size === 0) return
    const pending = pendingCommit()
    inner.commit(pending)
    rows = new Map()
    rowCount = 0
    journal = new Map()
    cursors = new Map()
    offsets = new Map()
    for (const write of pending.inserts) storedKeys.get(write.table)!.add(write.key)
    for (const write of pending.updates) if (write.row === undefined) storedKeys.get(write.table)!.delete(write.key)
    for (const key of pending.journalDeletes) storedJournalKeys.delete(key)
    for (const block of pending.journalUpserts) storedJournalKeys.add(block.block_key)
  }

  function merge(write: RowWrite): void {
    const writes = tableWrites(write.table)
    if (!writes.has(write.key)) rowCount++
    writes.set(write.key, write)
  }

  function commit(batch: StoreCommit): void {
    batch.writes.forEach(merge)
    batch.inserts?.forEach(merge)
    batch.updates?.forEach(merge)
    // The store removes a commit's deletes before its upserts: a key in both ends up stored.
    for (const key of batch.journalDeletes) journal.set(key, null)
    for (const block of batch.journalUpserts) journal.set(block.block_key, block)
    for (const cursor of batch.cursors) cursors.set(cursor.market_id, cursor)
    for (const offset of batch.offsets) offsets.set(`${offset.topic}\u0000${offset.partition}`, offset)
    if (rowCount > options.maxPendingRows || (rowCount > minPendingRows && options.underPressure?.() === true)) flush()
  }

  function findPosition(positionId: string): PositionRow | undefined {
    const pending = rows.get('positions')?.get(positionId)
    if (pending !== undefined) return pending.row as PositionRow | undefined
    return inner.findPosition(positionId)
  }

  function flushed<R>(read: () => R): () => R {
    return () => {
      flush()
      return read()
    }
  }

  return {
    loadMarkets: flushed(() => inner.loadMarkets()),
    loadTicks: flushed(() => inner.loadTicks()),
    loadJournal: flushed(() => inner.loadJournal()),
    loadCursors: flushed(() => inner.loadCursors()),
    loadOffsets: flushed(() => inner.loadOffsets()),
    hasPositions: flushed(() => inner.hasPositions()),
    findPosition,
    commit,
    tableRows: (table) => {
      flush()
      return inner.tableRows(table)
    },
    flush,
    get pendingRows() {
      return rowCount
    },
  }
}
