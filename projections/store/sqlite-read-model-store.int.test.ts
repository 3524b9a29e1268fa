import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import { readModelTableNames, readModelTables, type PositionRow, type RowWrite } from '../fold/read-model-rows.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory, foldIntoStore } from '../test-support/fold-into-memory.ts'
import { createRandom, interleave } from '../test-support/random.ts'
import { ReadModelSchemaError } from './read-model-schema.ts'
import { KnownRowError, type StoreCommit } from './read-model-store.ts'
import { openReadModelStore, type SqliteReadModelStore } from './sqlite-read-model-store.ts'

describe('SQLite read-model store', () => {
  let dir: string
  let path: string
  const opened: SqliteReadModelStore[] = []
  const open = () => {
    const store = openReadModelStore({ path })
    opened.push(store)
    return store
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'read-models-'))
    path = join(dir, 'nested', 'read-models.db')
  })

  afterEach(async () => {
    for (const store of opened.splice(0)) if (store.db.open) store.close()
    await rm(dir, { recursive: true, force: true })
  })

  function history(seed: number): { live: ProjectionRecord[]; canonical: ProjectionRecord[] } {
    const generated = generateChainHistory(createRandom(seed), { blocks: 40, reorgChance: 0.2 })
    return {
      live: interleave<ProjectionRecord>([...generated.events, ...generated.ticks], createRandom(seed + 1)),
      canonical: interleave<ProjectionRecord>([...generated.canonical, ...generated.ticks], createRandom(seed + 1)),
    }
  }

  it('creates a WAL file with every read-model table, its columns in readModelTables order', () => {
    const { db } = open()
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    for (const table of readModelTableNames) {
      const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]
      expect(columns.map((c) => c.name), table).toEqual(readModelTables[table].columns)
    }
  })

  it('holds the same rows as the memory store after the same fold, so both hash the same', () => {
    const { live } = history(11)
    const sqlite = foldIntoStore(open())
    const memory = foldIntoMemory()
    sqlite.fold(live, 13)
    memory.fold(live, 13)
    expect(sqlite.hash()).toBe(memory.hash())
    expect(sqlite.store.loadMarkets()).toEqual(memory.store.rows('markets'))
    expect(sqlite.store.loadJournal()).toEqual(memory.store.loadJournal())
  })

  it('stores no amount as a float: every column holds TEXT, INTEGER or NULL', () => {
    foldIntoStore(open()).fold(history(12).live)
    const { db } = opened[0]!
    for (const table of readModelTableNames) {
      for (const column of readModelTables[table].columns) {
        const types = db.prepare(`SELECT DISTINCT typeof(${column}) AS t FROM ${table}`).all() as { t: string }[]
        for (const { t } of types) expect(['text', 'integer', 'null'], `${table}.${column}`).toContain(t)
      }
    }
    const amounts = db.prepare('SELECT DISTINCT typeof(size) AS a, typeof(long_open_interest) AS b FROM positions, markets').all()
    expect(amounts).toEqual([{ a: 'text', b: 'text' }])
  })

  it('keeps the undo journal across a reopen, so a reorg after a restart is still undone', () => {
    const generated = generateChainHistory(createRandom(5), { blocks: 40, reorgChance: 0.25 })
    const live = generated.events.flat()
    const firstReorg = live.findIndex((record) => record.type === 'chain_reorg')
    expect(firstReorg).toBeGreaterThan(0)
    const before = foldIntoStore(open())
    before.fold(live.slice(0, firstReorg))
    before.store.close()
    const after = foldIntoStore(open())
    after.fold(live.slice(firstReorg))
    const canonical = foldIntoMemory()
    canonical.fold(generated.canonical.flat())
    expect(after.hash()).toBe(canonical.hash())
  })

  it('commits all of a batch or none of it', () => {
    const store = open()
    const fold = foldIntoStore(store)
    fold.fold(history(13).live.slice(0, 30))
    const before = fold.hash()
    const offsetsBefore = store.loadOffsets()
    const position = store.db.prepare('SELECT * FROM positions LIMIT 1').get() as PositionRow
    const failing: StoreCommit = {
      writes: [
        { table: 'latest_ticks', key: 'sol-usdc-perp', row: undefined },
        // Refused by the CHECK on side, after the tick was deleted.
        { table: 'positions', key: 'bad', row: { ...position, position_id: 'bad', side: 'sideways' as 'long' } },
      ],
      journalDeletes: store.loadJournal().map((block) => block.block_key),
      journalUpserts: [],
      cursors: [],
      offsets: [{ topic: 'perp.events.v1', partition: 0, next_offset: 99 }],
    }
    const journalBefore = store.loadJournal()
    expect(() => store.commit(failing)).toThrow(/CHECK/)
    expect(store.loadJournal()).toEqual(journalBefore)
    expect(fold.hash()).toBe(before)
    expect(store.loadOffsets()).toEqual(offsetsBefore)
  })

  it('loads in bulk with its rollback journal in memory, building the secondary indexes once at the end, to the same rows', () => {
    const { live } = history(12)
    const indexes = (db: Database.Database): string[] =>
      (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").pluck().all() as string[])
    const normal = foldIntoStore(open())
    const bulkStore = openReadModelStore({ path: join(dir, 'bulk.db'), bulk: true })
    opened.push(bulkStore)
    expect(bulkStore.db.pragma('journal_mode', { simple: true })).toBe('memory')
    expect(indexes(bulkStore.db)).toEqual([])

    const bulk = foldIntoStore(bulkStore)
    normal.fold(live, 13)
    bulk.fold(live, 13)
    bulkStore.buildDeferredIndexes()
    expect(indexes(bulkStore.db)).toEqual(indexes(normal.store.db))
    expect(indexes(bulkStore.db).length).toBeGreaterThan(0)
    expect(bulk.hash()).toBe(normal.hash())
  })

  it('inserts rows committed as new and updates rows committed as stored, failing the whole commit when either is wrong', () => {
    const store = open()
    const folded = foldIntoMemory()
    folded.fold(history(12).live)
    const template = folded.store.rows('positions')[0]!
    const row = (id: string, status: PositionRow['status']): PositionRow => ({ ...template, position_id: id, status })
    const commit = (parts: Partial<StoreCommit>): void =>
      store.commit({ writes: [], journalDeletes: [], journalUpserts: [], cursors: [], offsets: [], ...parts })
    commit({ inserts: [{ table: 'positions', key: '0xa', row: row('0xa', 'open') }, { table: 'positions', key: '0xb', row: row('0xb', 'open') }] })
    commit({ updates: [{ table: 'positions', key: '0xa', row: row('0xa', 'closed') }, { table: 'positions', key: '0xb', row: undefined }] })
    expect(store.findPosition('0xa')?.status).toBe('closed')
    expect(store.findPosition('0xb')).toBeUndefined()

    const offsets = [{ topic: 'perp.events.v1', partition: 0, next_offset: 5 }]
    expect(() => commit({ offsets, inserts: [{ table: 'positions', key: '0xa', row: row('0xa', 'open') }] })).toThrow(KnownRowError)
    expect(() => commit({ offsets, updates: [{ table: 'positions', key: '0xc', row: row('0xc', 'closed') }] })).toThrow(KnownRowError)
    expect(store.findPosition('0xa')?.status).toBe('closed')
    expect(store.findPosition('0xc')).toBeUndefined()
    expect(store.loadOffsets()).toEqual([])
  })

  it('inserts many new rows of several tables in multi-row statements and names the row whose key is stored already', () => {
    const store = open()
    const folded = foldIntoMemory()
    folded.fold(history(12).live)
    const template = folded.store.rows('positions')[0]!
    const id = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`
    const position = (n: number): RowWrite => ({ table: 'positions', key: id(n), row: { ...template, position_id: id(n), status: 'open' } })
    const market = folded.store.rows('markets')[0]!
    const commit = (parts: Partial<StoreCommit>): void =>
      store.commit({ writes: [], journalDeletes: [], journalUpserts: [], cursors: [], offsets: [], ...parts })
    // 37 positions: two whole chunks and five single rows, then a market of another table.
    const first = Array.from({ length: 37 }, (_, n) => position(n))
    commit({ inserts: [...first, { table: 'markets', key: market.market_id, row: market }] })
    expect(store.db.prepare('SELECT position_id FROM positions ORDER BY position_id').pluck().all()).toEqual(first.map((w) => w.key))
    expect(store.loadMarkets()).toEqual([market])

    // Key 0x0022 (34) is stored: a chunk holding it fails, and the error names that row.
    const offsets = [{ topic: 'perp.events.v1', partition: 0, next_offset: 9 }]
    const again = [...Array.from({ length: 20 }, (_, n) => position(100 + n)), position(34), ...Array.from({ length: 11 }, (_, n) => position(200 + n))]
    let error: unknown
    try {
      commit({ offsets, inserts: again })
    } catch (thrown) {
      error = thrown
    }
    expect(error).toBeInstanceOf(KnownRowError)
    expect((error as KnownRowError).key).toBe(id(34))
    expect(store.findPosition(id(100))).toBeUndefined()
    expect(store.db.prepare('SELECT count(*) FROM positions').pluck().get()).toBe(37)
    expect(store.loadOffsets()).toEqual([])
  })

  it('writes a bulk load after 10k pending rows by default, and holds up to bulkHeldRows in memory while its RSS is under the budget', () => {
    const folded = foldIntoMemory()
    folded.fold(history(12).live)
    const template = folded.store.rows('positions')[0]!
    const id = (n: number): string => `0x${n.toString(16).padStart(6, '0')}`
    const writes = Array.from({ length: 12_000 }, (_, n): RowWrite => ({ table: 'positions', key: id(n), row: { ...template, position_id: id(n), status: 'open' } }))
    const stored = (store: SqliteReadModelStore): unknown => store.db.prepare('SELECT count(*) FROM positions').pluck().get()
    const bulk = (name: string, held?: { bulkHeldRows: number; bulkRssBudgetBytes: number }): SqliteReadModelStore => {
      const store = openReadModelStore({ path: join(dir, name), bulk: true, ...held })
      opened.push(store)
      store.commit({ writes, journalDeletes: [], journalUpserts: [], cursors: [], offsets: [] })
      return store
    }
    expect(stored(bulk('default.db'))).toBe(12_000)
    const holding = bulk('holding.db', { bulkHeldRows: 20_000, bulkRssBudgetBytes: Number.MAX_SAFE_INTEGER })
    expect(stored(holding)).toBe(0)
    expect(holding.findPosition(id(11_999))?.status).toBe('open')
    holding.loadOffsets()
    expect(stored(holding)).toBe(12_000)
    expect(stored(bulk('over-budget.db', { bulkHeldRows: 20_000, bulkRssBudgetBytes: 0 }))).toBe(12_000)
  })

  it('gives a file whose bulk load stopped before its indexes were built the missing indexes when opened', () => {
    openReadModelStore({ path, bulk: true }).close()
    const store = open()
    const names = store.db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL").pluck().all()
    expect(names).toContain('positions_open_by_trader')
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
  })

  it('refuses a file written with another schema version', () => {
    const db = new Database(join(dir, 'other.db'))
    db.pragma('user_version = 7')
    db.close()
    expect(() => openReadModelStore({ path: join(dir, 'other.db') })).toThrow(ReadModelSchemaError)
  })
})
