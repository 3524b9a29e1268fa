// The SQLite layout of the embedded log. A `topics` table names each topic with its partition
// count; each topic-partition is a table of its own whose `offset INTEGER PRIMARY KEY` is the rowid,
// so an append is the cheapest b-tree insert there is (always at the right edge) and a read from an
// offset is a rowid range scan. Offsets are assigned explicitly as max(offset)+1 inside the write
// transaction, so they are dense from 0 even when several processes share the file; compaction
// always keeps the newest record of the partition, so max(offset) never moves backwards.

import { statfsSync } from 'node:fs'
import { dirname } from 'node:path'
import type Database from 'better-sqlite3'
import type { StoredRecord } from './log.ts'
import { InvalidTopicNameError, LogFullError } from './log-errors.ts'
import { mayHaveReplacedBytes, StoredTextRecord } from './stored-text-record.ts'

type Headers = Readonly<Record<string, string>>

export interface TopicMeta {
  readonly partitions: number
  readonly compacted: boolean
}

/** One topic-partition table, its statements prepared once per connection. */
export interface PartitionTable {
  /** The offset the next record gets: one past the newest, 0 when empty. */
  nextOffset(): number
  /** Inserts rows whose offsets the caller assigned (dense, ascending), all stamped `timestamp`. */
  insert(rows: readonly NewRow[], timestamp: number): void
  /** Up to maxRecords records from offset `from` on, fewer once maxBytes of values are read. */
  read(from: number, maxRecords: number, maxBytes: number): StoredRecord[]
  /** Deletes all but the newest record per key; returns the number deleted. */
  compact(): number
}

export interface EmbeddedLogStore {
  /** The committed metadata of a topic, cached once seen (a partition count never changes). */
  topicMeta(topic: string): TopicMeta | undefined
  /** The metadata as this connection sees it now, uncommitted rows included; never cached. */
  readTopicMeta(topic: string): TopicMeta | undefined
  /** Creates the topic's row and partition tables; the caller runs it inside a transaction. */
  createTopic(topic: string, meta: TopicMeta): void
  /** A partition of an existing topic. */
  partition(topic: string, partition: number): PartitionTable
  /** Changes whenever another connection commits to the file (PRAGMA data_version). */
  dataVersion(): number
}

export interface NewRow {
  readonly offset: number
  readonly key: string
  readonly value: Uint8Array
  readonly headers: string | null
}

/** A stored row as better-sqlite3 returns it in raw mode: offset, key, value as text, headers, ts. */
type PartitionRow = [offset: number, key: string, text: string, headers: string | null, ts: number]

// Kafka's legal topic names. The check also keeps names safe inside a quoted SQL identifier.
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

export function assertTopicName(topic: string): void {
  if (!TOPIC_NAME.test(topic)) throw new InvalidTopicNameError(topic)
}

function tableName(topic: string, partition: number): string {
  assertTopicName(topic)
  return `"records/${topic}/${partition}"`
}

// Rows go in by multi-row INSERTs: one statement per 64 rows instead of one per row makes an
// append about 1.5x cheaper in CPU.
const ROWS_PER_INSERT = 64
const READ_CHUNK_ROWS = 512
const COLUMNS_PER_ROW = 5

function prepareInsert(db: Database.Database, table: string): (rows: readonly NewRow[], timestamp: number) => void {
  const sql = (count: number): string =>
    `INSERT INTO ${table} ("offset", key, value, headers, ts) VALUES ${Array(count).fill('(?, ?, ?, ?, ?)').join(', ')}`
  const insertOne = db.prepare<[number, string, Uint8Array, string | null, number]>(sql(1))
  const insertChunk = db.prepare<unknown[]>(sql(ROWS_PER_INSERT))
  const chunk = new Array<unknown>(ROWS_PER_INSERT * COLUMNS_PER_ROW)
  return (rows, timestamp) => {
    let i = 0
    for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
      for (let j = 0; j < ROWS_PER_INSERT; j++) {
        const row = rows[i + j]!
        const at = j * COLUMNS_PER_ROW
        chunk[at] = row.offset
        chunk[at + 1] = row.key
        chunk[at + 2] = row.value
        chunk[at + 3] = row.headers
        chunk[at + 4] = timestamp
      }
      // Spread, not the array: better-sqlite3 reads each element of an array argument through a
      // V8 API call, and arguments straight off the call (0.80-0.85x the CPU for a record,
      // `npm run bench -- sqlite-binding`).
      insertChunk.run(...chunk)
    }
    for (; i < rows.length; i++) {
      const row = rows[i]!
      insertOne.run(row.offset, row.key, row.value, row.headers, timestamp)
    }
  }
}

function preparePartitionTable(db: Database.Database, topic: string, partition: number): PartitionTable {
  const table = tableName(topic, partition)
  const insert = prepareInsert(db, table)
  const lastOffset = db.prepare<[], number>(`SELECT "offset" FROM ${table} ORDER BY "offset" DESC LIMIT 1`).pluck()
  // Raw (array) rows: building a named-column object per row would double the cost of a read. The
  // value comes as text (stored-text-record.ts); its bytes are read apart only when the text shows
  // that decoding replaced some.
  const readFrom = db
    .prepare<[number, number], PartitionRow>(
      `SELECT "offset", key, CAST(value AS TEXT), headers, ts FROM ${table} WHERE "offset" >= ? ORDER BY "offset" LIMIT ?`,
    )
    .raw()
  const readBytes = db.prepare<[number], Buffer>(`SELECT value FROM ${table} WHERE "offset" = ?`).pluck()
  const compact = db.prepare<[]>(
    `DELETE FROM ${table} WHERE "offset" NOT IN (SELECT max("offset") FROM ${table} GROUP BY key)`,
  )
  return {
    nextOffset: () => (lastOffset.get() ?? -1) + 1,
    insert,
    // Rows come READ_CHUNK_ROWS at a time through all(): one native call per chunk rather than per
    // row as iterate() makes, while at most one chunk is read past maxBytes.
    read: (from, maxRecords, maxBytes) => {
      const records: StoredRecord[] = []
      const decodeHeaders = createHeaderDecoder()
      let bytes = 0
      for (let next = from; records.length < maxRecords && bytes < maxBytes; ) {
        const rows = readFrom.all(next, Math.min(READ_CHUNK_ROWS, maxRecords - records.length))
        for (const [offset, key, text, headers, timestamp] of rows) {
          if (bytes >= maxBytes) break
          const stored = mayHaveReplacedBytes(text) ? readBytes.get(offset) : undefined
          records.push(new StoredTextRecord(topic, partition, offset, key, text, decodeHeaders(headers), timestamp, stored))
          // Characters, not bytes: the bound is approximate (and never exceeded by more than 3x).
          bytes += text.length
        }
        const last = rows.at(-1)
        if (last === undefined || rows.length < READ_CHUNK_ROWS) break
        next = last[0] + 1
      }
      return records
    },
    compact: () => compact.run().changes,
  }
}

export function createEmbeddedLogStore(db: Database.Database): EmbeddedLogStore {
  db.exec(`CREATE TABLE IF NOT EXISTS topics (
    name TEXT PRIMARY KEY,
    partitions INTEGER NOT NULL,
    compacted INTEGER NOT NULL
  ) STRICT`)
  const selectTopic = db.prepare<[string], { partitions: number; compacted: number }>(
    'SELECT partitions, compacted FROM topics WHERE name = ?',
  )
  const insertTopic = db.prepare<[string, number, number]>(
    'INSERT INTO topics (name, partitions, compacted) VALUES (?, ?, ?)',
  )
  const dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck()
  // Only committed metadata enters the cache: ensureTopics reads through readTopicMeta, so a topic
  // created by a transaction that then rolls back is never remembered.
  const topics = new Map<string, TopicMeta>()
  const tables = new Map<string, PartitionTable[]>()

  function readTopicMeta(topic: string): TopicMeta | undefined {
    const row = selectTopic.get(topic)
    return row === undefined ? undefined : { partitions: row.partitions, compacted: row.compacted === 1 }
  }

  function topicMeta(topic: string): TopicMeta | undefined {
    const cached = topics.get(topic)
    if (cached !== undefined) return cached
    const meta = readTopicMeta(topic)
    if (meta !== undefined) topics.set(topic, meta)
    return meta
  }

  function createTopic(topic: string, meta: TopicMeta): void {
    insertTopic.run(topic, meta.partitions, meta.compacted ? 1 : 0)
    for (let partition = 0; partition < meta.partitions; partition++) {
      db.exec(`CREATE TABLE IF NOT EXISTS ${tableName(topic, partition)} (
        "offset" INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        headers TEXT,
        ts INTEGER NOT NULL
      ) STRICT`)
    }
  }

  function partition(topic: string, partition: number): PartitionTable {
    let topicTables = tables.get(topic)
    if (topicTables === undefined) {
      topicTables = []
      tables.set(topic, topicTables)
    }
    return (topicTables[partition] ??= preparePartitionTable(db, topic, partition))
  }

  return {
    topicMeta,
    readTopicMeta,
    createTopic,
    partition,
    dataVersion: () => dataVersion.get() ?? 0,
  }
}

const NO_HEADERS: Headers = Object.freeze({})

/** Consecutive records mostly carry the same headers: equal JSON yields one shared, frozen object. */
function createHeaderDecoder(): (json: string | null) => Headers {
  let previousJson: string | null = null
  let previous: Headers = NO_HEADERS
  return (json) => {
    if (json === null) return NO_HEADERS
    if (json !== previousJson) {
      previousJson = json
      previous = Object.freeze(JSON.parse(json) as Record<string, string>)
    }
    return previous
  }
}

/**
 * Headers are stored as JSON, or NULL when there are none. Producers share one headers object among
 * consecutive records of a kind, so an object equal (by identity) to the previous one is not
 * encoded again.
 */
export function createHeaderEncoder(): (headers: Headers | undefined) => string | null {
  let previous: Headers | undefined
  let previousJson: string | null = null
  return (headers) => {
    if (headers === undefined) return null
    if (headers !== previous) {
      previous = headers
      previousJson = Object.keys(headers).length === 0 ? null : JSON.stringify(headers)
    }
    return previousJson
  }
}

// SQLite reports a full disk as SQLITE_FULL from ordinary writes, but as one of these I/O errors
// when growing the file through ftruncate or a size hint, or growing the WAL index; those codes
// also cover real I/O failures, so they count as "full" only when the file system has no room.
const GROWTH_IO_ERRORS = new Set(['SQLITE_IOERR_WRITE', 'SQLITE_IOERR_TRUNCATE', 'SQLITE_IOERR_SHMSIZE'])
const NEARLY_FULL_BYTES = 1024 * 1024

function sqliteCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined
  return typeof error.code === 'string' ? error.code : undefined
}

function fileSystemIsFull(file: string): boolean {
  try {
    const stats = statfsSync(dirname(file))
    return stats.bavail * stats.bsize < NEARLY_FULL_BYTES
  } catch {
    return false
  }
}

/** A LogFullError when the error means the disk (or the file's size cap) is full, else the error. */
export function translateWriteError(error: unknown, file: string): unknown {
  const code = sqliteCode(error)
  if (code === 'SQLITE_FULL') return new LogFullError(file, { cause: error })
  if (code !== undefined && GROWTH_IO_ERRORS.has(code) && fileSystemIsFull(file)) {
    return new LogFullError(file, { cause: error })
  }
  return error
}
