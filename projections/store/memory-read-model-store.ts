// The read models in plain maps: the store the fold's unit tests run on. It commits exactly what the
// SQLite store commits, and lists rows in the same order, so both give the same state hash.
import type { JournalBlock } from '../fold/fold-step.ts'
import {
  readModelTableNames,
  rowValues,
  type MarketRow,
  type PositionRow,
  type ReadModelRows,
  type ReadModelTable,
  type RowWrite,
  type TickRow,
} from '../fold/read-model-rows.ts'
import { KnownRowError, type ColumnValue, type ConsumerOffset, type FoldCursor, type ReadModelStore, type StoreCommit } from './read-model-store.ts'

export interface MemoryReadModelStore extends ReadModelStore {
  /** A table's rows in primary-key order, as objects. */
  rows<T extends ReadModelTable>(table: T): ReadModelRows[T][]
}

function byKey<V>(map: ReadonlyMap<string, V>): V[] {
  return [...map.keys()].sort(compareText).map((key) => map.get(key)!)
}

/** Byte order of UTF-8, as SQLite's BINARY collation; for the ASCII keys of the read models, code-unit order. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function createMemoryReadModelStore(): MemoryReadModelStore {
  const tables = new Map<ReadModelTable, Map<string, ReadModelRows[ReadModelTable]>>(
    readModelTableNames.map((table) => [table, new Map()]),
  )
  const journal = new Map<string, JournalBlock>()
  const cursors = new Map<string, FoldCursor>()
  const offsets = new Map<string, ConsumerOffset>()

  function table<T extends ReadModelTable>(name: T): Map<string, ReadModelRows[T]> {
    return tables.get(name) as Map<string, ReadModelRows[T]>
  }

  function commit(batch: StoreCommit): void {
    const known = (write: RowWrite, stored: boolean): void => {
      if (table(write.table).has(write.key) !== stored) throw new KnownRowError(write.table, write.key, stored)
    }
    for (const write of batch.inserts ?? []) known(write, false)
    for (const write of batch.updates ?? []) known(write, true)
    for (const write of [...batch.writes, ...(batch.inserts ?? []), ...(batch.updates ?? [])]) {
      if (write.row === undefined) table(write.table).delete(write.key)
      else table(write.table).set(write.key, write.row)
    }
    for (const key of batch.journalDeletes) journal.delete(key)
    for (const block of batch.journalUpserts) journal.set(block.block_key, block)
    for (const cursor of batch.cursors) cursors.set(cursor.market_id, cursor)
    for (const offset of batch.offsets) offsets.set(`${offset.topic}\u0000${offset.partition}`, offset)
  }

  function rows<T extends ReadModelTable>(name: T): ReadModelRows[T][] {
    return byKey(table(name))
  }

  return {
    loadMarkets: (): MarketRow[] => rows('markets'),
    loadTicks: (): TickRow[] => rows('latest_ticks'),
    loadJournal: () => byKey(journal),
    loadCursors: () => [...cursors.values()],
    loadOffsets: () => [...offsets.values()],
    findPosition: (positionId): PositionRow | undefined => table('positions').get(positionId),
    hasPositions: () => table('positions').size > 0,
    commit,
    rows,
    tableRows: (name): (readonly ColumnValue[])[] => rows(name).map((row) => rowValues(name, row)),
  }
}
