// The read models in a SQLite file (better-sqlite3, WAL). A batch is one transaction holding its
// row writes, its undo-journal changes, the cursors and the consumer offsets: offsets commit in the
// same transaction as the rows, so a crash can neither lose nor double-apply a record.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { JournalBlock } from '../fold/fold-step.ts'
import {
  readModelTableNames,
  readModelTables,
  rowFromValues,
  rowValues,
  type MarketRow,
  type PositionRow,
  type ReadModelTable,
  type RowWrite,
  type TickRow,
} from '../fold/read-model-rows.ts'
import { createSecondaryIndexes, ensureReadModelSchema } from './read-model-schema.ts'
import { KnownRowError, type ColumnValue, type ConsumerOffset, type FoldCursor, type ReadModelStore, type StoreCommit } from './read-model-store.ts'
import { createWriteBehindStore, type WriteBehindStore } from './write-behind-store.ts'

export interface SqliteReadModelStore extends ReadModelStore {
  /** The connection, for read-only queries in the same process (projections/query). */
  readonly db: Database.Database
  /**
   * Every position in key order, a page at a time. Each page is one query, so the connection is
   * free between pages (an open iterator would keep commits off it).
   */
  positionPages(pageSize: number): Iterable<PositionRow[]>
  /** Builds the indexes a bulk load left out; a file opened otherwise has them already. */
  buildDeferredIndexes(): void
  close(): void
}

export interface ReadModelStoreOptions {
  /** The SQLite file; created with its tables when missing. ':memory:' for a throwaway store. */
  readonly path: string
  /**
   * A file nobody reads until it is complete (a replay's fresh file): the rollback journal in memory
   * (a failed commit still rolls back), no WAL and no fsync per commit, since a fold that dies leaves
   * the file to be deleted, never used. The caller fsyncs the closed file before putting it to use.
   * The secondary indexes are left out until buildDeferredIndexes. Commits are merged in memory and
   * written in large sorted flushes (write-behind-store.ts); every read flushes first, and so does
   * buildDeferredIndexes, but close() does not: a bulk file is complete once its indexes are built.
   */
  readonly bulk?: boolean
  /**
   * How many row writes a bulk load holds in memory before writing them (default 10k), while the
   * process's RSS stays under bulkRssBudgetBytes (default 450 MB). More rows, fewer writes: see
   * BULK_HELD_ROWS.
   */
  readonly bulkHeldRows?: number
  readonly bulkRssBudgetBytes?: number
}

// synchronous=NORMAL: an OS crash may lose the last commits, but the offsets go with them, so their
// records are read and folded again; exactly-once needs atomic commits, which WAL gives at NORMAL.
// A 32 MB page cache keeps the positions' key index in memory; 64 MB bought no CPU in a 1M-record
// replay but 40 MB more peak RSS. A bulk load (a replay) gets 16 MB: its writes hit the newest pages
// and the key index, and 16 MB less RSS leaves room for the replay's second thread, at no measured cost. Checkpointing every 10k pages instead of 1k writes each hot page
// back to the file less often during a catch-up.
function openDatabase(path: string, bulk: boolean): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const db = new Database(path)
  try {
    db.pragma(bulk ? 'journal_mode = MEMORY' : 'journal_mode = WAL')
    db.pragma(bulk ? 'synchronous = OFF' : 'synchronous = NORMAL')
    if (bulk) db.pragma('locking_mode = EXCLUSIVE')
    db.pragma(bulk ? 'cache_size = -16384' : 'cache_size = -32768')
    db.pragma('wal_autocheckpoint = 10000')
    ensureReadModelSchema(db, { deferIndexes: bulk })
    return db
  } catch (error) {
    db.close()
    throw error
  }
}

/** An undo_journal row: the block's record ids and undo images as JSON text. */
type JournalRow = Omit<JournalBlock, 'record_ids' | 'undo'> & { readonly record_ids: string; readonly undo: string }

type UndoImage = readonly [ReadModelTable, string, readonly ColumnValue[] | null]

/** The journal's undo images as compact JSON: [table, key, column values or null for "absent"]. */
function encodeUndo(undo: readonly RowWrite[]): string {
  const images: UndoImage[] = undo.map((w) => [w.table, w.key, w.row === undefined ? null : rowValues(w.table, w.row)])
  return JSON.stringify(images)
}

function decodeUndo(text: string): RowWrite[] {
  return (JSON.parse(text) as UndoImage[]).map(
    ([table, key, values]) => ({ table, key, row: values === null ? undefined : rowFromValues(table, values) }) as RowWrite,
  )
}

/** Row values with the key moved to the end, for updateSql. */
function keyLast(table: ReadModelTable, values: ColumnValue[]): ColumnValue[] {
  const { key, columns } = readModelTables[table]
  const [value] = values.splice((columns as readonly string[]).indexOf(key), 1)
  values.push(value!)
  return values
}

function insertSql(table: ReadModelTable, rows = 1): string {
  const { columns } = readModelTables[table]
  const tuple = `(${columns.map(() => '?').join(', ')})`
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array<string>(rows).fill(tuple).join(', ')}`
}

// New rows of a table go in by multi-row INSERTs of this many: about a sixth less CPU per position
// row than one statement per row (measured on real rows, 10k per transaction in key order).
const ROWS_PER_INSERT = 16

function upsertSql(table: ReadModelTable): string {
  const { key, columns } = readModelTables[table]
  const updates = columns.filter((column) => column !== key).map((column) => `${column} = excluded.${column}`)
  return `${insertSql(table)} ON CONFLICT (${key}) DO UPDATE SET ${updates.join(', ')}`
}

/** An UPDATE of every column but the key, with the key as the last parameter (rowValues order rotated). */
function updateSql(table: ReadModelTable): string {
  const { key, columns } = readModelTables[table]
  return `UPDATE ${table} SET ${columns.filter((column) => column !== key).map((column) => `${column} = ?`).join(', ')} WHERE ${key} = ?`
}

function createTableStatements(db: Database.Database) {
  const statements = new Map(
    readModelTableNames.map((table) => {
      const { key, columns } = readModelTables[table]
      return [
        table,
        {
          upsert: db.prepare(upsertSql(table)),
          insert: db.prepare(insertSql(table)),
          insertChunk: db.prepare(insertSql(table, ROWS_PER_INSERT)),
          /** The chunk's parameters, reused from chunk to chunk. */
          chunkValues: new Array<ColumnValue>(ROWS_PER_INSERT * columns.length),
          update: db.prepare(updateSql(table)),
          delete: db.prepare(`DELETE FROM ${table} WHERE ${key} = ?`),
          all: db.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${key}`).raw(true),
        },
      ] as const
    }),
  )
  return (table: ReadModelTable) => statements.get(table)!
}

export function createSqliteReadModelStore(db: Database.Database): ReadModelStore {
  const tableStatements = createTableStatements(db)
  const findPosition = db.prepare('SELECT * FROM positions WHERE position_id = ?')
  const anyPosition = db.prepare('SELECT 1 FROM positions LIMIT 1').pluck()
  const upsertJournal = db.prepare(
    'INSERT OR REPLACE INTO undo_journal (block_key, market_id, block_number, block_hash, record_ids, undo) VALUES (?, ?, ?, ?, ?, ?)',
  )
  const deleteJournal = db.prepare('DELETE FROM undo_journal WHERE block_key = ?')
  const upsertCursor = db.prepare(
    'INSERT INTO fold_cursors (market_id, head_block, finalized_through) VALUES (?, ?, ?) ON CONFLICT (market_id) DO UPDATE SET head_block = excluded.head_block, finalized_through = excluded.finalized_through',
  )
  const upsertOffset = db.prepare(
    'INSERT INTO consumer_offsets (topic, partition, next_offset) VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset',
  )

  function insertRow(write: RowWrite): void {
    if (write.row === undefined) throw new KnownRowError(write.table, write.key, false)
    try {
      tableStatements(write.table).insert.run(...rowValues(write.table, write.row))
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new KnownRowError(write.table, write.key, false)
      throw error
    }
  }

  /**
   * Inserts ROWS_PER_INSERT writes of one table from `at` by one statement. False, with nothing
   * inserted, when one of them is a delete or its key is stored already: the caller then inserts
   * them one by one, which names the row at fault.
   */
  function insertChunk(writes: readonly RowWrite[], at: number): boolean {
    const { table } = writes[at]!
    const statements = tableStatements(table)
    const values = statements.chunkValues
    let n = 0
    for (let i = at; i < at + ROWS_PER_INSERT; i++) {
      const row = writes[i]!.row
      if (row === undefined) return false
      for (const value of rowValues(table, row)) values[n++] = value
    }
    try {
      // Spread, not the array: better-sqlite3 reads each element of an array argument through a V8
      // API call, and arguments straight off the call (0.78-0.81x the CPU for a position row,
      // `npm run bench -- sqlite-binding`).
      statements.insertChunk.run(...values)
      return true
    } catch (error) {
      // A failed statement inserts none of its rows.
      if (error instanceof Database.SqliteError && error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return false
      throw error
    }
  }

  /** Inserts the writes (a table's writes next to each other) in chunks, the rest row by row. */
  function insertRows(writes: readonly RowWrite[]): void {
    let i = 0
    while (i < writes.length) {
      const { table } = writes[i]!
      let end = i + 1
      while (end < writes.length && writes[end]!.table === table) end++
      for (; i + ROWS_PER_INSERT <= end; i += ROWS_PER_INSERT) {
        if (!insertChunk(writes, i)) for (let k = i; k < i + ROWS_PER_INSERT; k++) insertRow(writes[k]!)
      }
      for (; i < end; i++) insertRow(writes[i]!)
    }
  }

  function updateRow(write: RowWrite): void {
    const statements = tableStatements(write.table)
    const { changes } = write.row === undefined ? statements.delete.run(write.key) : statements.update.run(...keyLast(write.table, rowValues(write.table, write.row)))
    if (changes !== 1) throw new KnownRowError(write.table, write.key, true)
  }

  const commit = db.transaction((batch: StoreCommit) => {
    for (const write of batch.writes) {
      const statements = tableStatements(write.table)
      if (write.row === undefined) statements.delete.run(write.key)
      else statements.upsert.run(...rowValues(write.table, write.row))
    }
    insertRows(batch.inserts ?? [])
    for (const write of batch.updates ?? []) updateRow(write)
    for (const key of batch.journalDeletes) deleteJournal.run(key)
    for (const b of batch.journalUpserts) {
      upsertJournal.run(b.block_key, b.market_id, b.block_number, b.block_hash, JSON.stringify(b.record_ids), encodeUndo(b.undo))
    }
    for (const c of batch.cursors) upsertCursor.run(c.market_id, c.head_block, c.finalized_through)
    for (const o of batch.offsets) upsertOffset.run(o.topic, o.partition, o.next_offset)
  })

  const all = <Row>(sql: string): Row[] => db.prepare(sql).all() as Row[]

  return {
    loadMarkets: () => all<MarketRow>('SELECT * FROM markets ORDER BY market_id'),
    loadTicks: () => all<TickRow>('SELECT * FROM latest_ticks ORDER BY market_id'),
    loadJournal: () =>
      all<JournalRow>('SELECT * FROM undo_journal ORDER BY block_key').map(
        (row): JournalBlock => ({ ...row, record_ids: JSON.parse(row.record_ids) as string[], undo: decodeUndo(row.undo) }),
      ),
    loadCursors: () => all<FoldCursor>('SELECT market_id, head_block, finalized_through FROM fold_cursors'),
    loadOffsets: () => all<ConsumerOffset>('SELECT topic, partition, next_offset FROM consumer_offsets'),
    findPosition: (positionId) => findPosition.get(positionId) as PositionRow | undefined,
    hasPositions: () => anyPosition.get() !== undefined,
    // IMMEDIATE takes the write lock at BEGIN, so a commit never fails half-way on a busy upgrade.
    commit: (batch) => commit.immediate(batch),
    tableRows: (table) => tableStatements(table).all.iterate() as IterableIterator<ColumnValue[]>,
  }
}

function* positionPages(db: Database.Database, pageSize: number): Generator<PositionRow[]> {
  const page = db.prepare<[string, number], PositionRow>('SELECT * FROM positions WHERE position_id > ? ORDER BY position_id LIMIT ?')
  for (let after = ''; ; ) {
    const rows = page.all(after, pageSize)
    if (rows.length === 0) return
    yield rows
    after = rows.at(-1)!.position_id
  }
}

// A bulk load's commits are merged in memory, by default up to this many row writes (under 1 KB
// each), before they go to SQLite (write-behind-store.ts).
const BULK_PENDING_ROWS = 10_000
/**
 * Enough rows for a 1M-record replay's 173k to go down once, at the end: a position is then
 * inserted as it ends up, never inserted open and updated closed (an update cost about twice an
 * insert: a random page of a table larger than the cache), and a closed position is found in
 * memory, not read back. Against 10k: about 15% less CPU on the chain-event thread (median of
 * alternating runs) for about 30 MB more peak RSS. Worth it only where the fold is what a replay
 * waits for: from Kafka, which reads slower than the fold runs, the rate stayed the same (80k
 * records/s) and peak RSS rose from 469 to 540-556 MB, so a replay holds rows from the embedded
 * log only.
 */
export const BULK_HELD_ROWS = 200_000
// Rows beyond the default are held only while the process's RSS stays under this budget; above it,
// every commit that leaves more than BULK_PENDING_ROWS pending flushes them.
const BULK_RSS_BUDGET_BYTES = 450 * 2 ** 20

function bulkWriteBehind(db: Database.Database, options: ReadModelStoreOptions): WriteBehindStore {
  const budget = options.bulkRssBudgetBytes ?? BULK_RSS_BUDGET_BYTES
  return createWriteBehindStore(createSqliteReadModelStore(db), {
    maxPendingRows: Math.max(options.bulkHeldRows ?? BULK_PENDING_ROWS, BULK_PENDING_ROWS),
    minPendingRows: BULK_PENDING_ROWS,
    underPressure: () => process.memoryUsage.rss() > budget,
  })
}

export function openReadModelStore(options: ReadModelStoreOptions): SqliteReadModelStore {
  const db = openDatabase(options.path, options.bulk === true)
  const behind = options.bulk === true ? bulkWriteBehind(db, options) : undefined
  const store = behind ?? createSqliteReadModelStore(db)
  const flush = (): void => behind?.flush()
  return {
    ...store,
    db,
    positionPages: (pageSize) => {
      flush()
      return positionPages(db, pageSize)
    },
    buildDeferredIndexes: () => {
      flush()
      createSecondaryIndexes(db)
    },
    close: () => db.close(),
  }
}
