import { describe, expect, it } from 'vitest'
import type { JournalBlock } from '../fold/fold-step.ts'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import { readModelTableNames, type PositionRow, type RowWrite } from '../fold/read-model-rows.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory, foldIntoStore } from '../test-support/fold-into-memory.ts'
import { createRandom, interleave } from '../test-support/random.ts'
import { createMemoryReadModelStore, type MemoryReadModelStore } from './memory-read-model-store.ts'
import { KnownRowError, type StoreCommit } from './read-model-store.ts'
import { createWriteBehindStore } from './write-behind-store.ts'

/** A memory store that records every commit it is given. */
function recordingStore(): MemoryReadModelStore & { readonly commits: StoreCommit[] } {
  const store = createMemoryReadModelStore()
  const commits: StoreCommit[] = []
  return {
    ...store,
    commits,
    commit: (batch) => {
      commits.push(batch)
      store.commit(batch)
    },
  }
}

const position = (id: string, status: PositionRow['status'] = 'open'): PositionRow =>
  ({ position_id: id, market_id: 'btc-usdc-perp', status }) as PositionRow

const write = (id: string, status?: PositionRow['status']): RowWrite => ({
  table: 'positions',
  key: id,
  row: status === undefined ? undefined : position(id, status),
})

const block = (key: string): JournalBlock => ({ block_key: key, market_id: 'btc-usdc-perp', block_number: 1, block_hash: '0x01', record_ids: [], undo: [] })

function commitOf(parts: Partial<StoreCommit>): StoreCommit {
  return { writes: [], journalDeletes: [], journalUpserts: [], cursors: [], offsets: [], ...parts }
}

function history(seed: number): ProjectionRecord[] {
  const generated = generateChainHistory(createRandom(seed), { blocks: 60, reorgChance: 0.25 })
  return interleave<ProjectionRecord>([...generated.events, ...generated.ticks], createRandom(seed + 1))
}

describe('write-behind store', () => {
  it.each([1, 7, 50, 1_000_000])('ends a fold with reorgs in the state of the store beneath committed directly (bound %i rows)', (bound) => {
    for (const seed of [3, 4, 5]) {
      const records = history(seed)
      const direct = foldIntoMemory()
      const inner = createMemoryReadModelStore()
      const behind = foldIntoStore(createWriteBehindStore(inner, { maxPendingRows: bound }))
      direct.fold(records, 11)
      behind.fold(records, 11)
      behind.store.flush()
      for (const table of readModelTableNames) expect(inner.rows(table), table).toEqual(direct.store.rows(table))
      expect(inner.loadJournal()).toEqual(direct.store.loadJournal())
      expect(inner.loadCursors()).toEqual(direct.store.loadCursors())
      expect(behind.hash()).toBe(direct.hash())
    }
  })

  it('hands nothing to the store beneath until more rows than the bound are pending, then all of them in one commit', () => {
    const inner = recordingStore()
    const store = createWriteBehindStore(inner, { maxPendingRows: 2 })
    store.commit(commitOf({ writes: [write('0xb', 'open')] }))
    store.commit(commitOf({ writes: [write('0xa', 'open'), write('0xb', 'closed')] }))
    expect(inner.commits).toEqual([])
    expect(store.pendingRows).toBe(2)
    store.commit(commitOf({ writes: [write('0xc', 'open')] }))
    expect(inner.commits).toHaveLength(1)
    expect(store.pendingRows).toBe(0)
  })

  it('writes each row once per flush, its last image, new rows as inserts and stored rows as updates, in key order', () => {
    const inner = recordingStore()
    const store = createWriteBehindStore(inner, { maxPendingRows: 100 })
    store.commit(commitOf({ writes: [write('0xc', 'open'), write('0xa', 'open')] }))
    store.flush()
    store.commit(commitOf({ writes: [write('0xa', 'closed'), write('0xd', 'open'), write('0xb', 'open')] }))
    store.commit(commitOf({ writes: [write('0xd', 'liquidated'), write('0xc')] }))
    store.flush()
    const [first, second] = inner.commits
    expect(first).toMatchObject({ writes: [], inserts: [write('0xa', 'open'), write('0xc', 'open')], updates: [] })
    expect(second).toMatchObject({ writes: [], inserts: [write('0xb', 'open'), write('0xd', 'liquidated')], updates: [write('0xa', 'closed'), write('0xc')] })
    expect(inner.rows('positions').map((row) => [row.position_id, row.status])).toEqual([['0xa', 'closed'], ['0xb', 'open'], ['0xd', 'liquidated']])
  })

  it('drops a row created and deleted between two flushes without telling the store beneath', () => {
    const inner = recordingStore()
    const store = createWriteBehindStore(inner, { maxPendingRows: 100 })
    store.commit(commitOf({ writes: [write('0xa', 'open')] }))
    store.commit(commitOf({ writes: [write('0xa')] }))
    store.flush()
    expect(inner.commits[0]).toMatchObject({ inserts: [], updates: [] })
  })

  it('finds a position written since the last flush, and not one deleted since, before asking the store beneath', () => {
    const inner = createMemoryReadModelStore()
    inner.commit(commitOf({ writes: [write('0xa', 'open'), write('0xb', 'open')] }))
    const store = createWriteBehindStore(inner, { maxPendingRows: 100 })
    store.commit(commitOf({ writes: [write('0xa', 'closed'), write('0xb'), write('0xc', 'open')] }))
    expect(store.findPosition('0xa')?.status).toBe('closed')
    expect(store.findPosition('0xb')).toBeUndefined()
    expect(store.findPosition('0xc')?.status).toBe('open')
    expect(inner.findPosition('0xb')?.status).toBe('open')
  })

  it('deletes from the store beneath only the journal blocks it holds: a block stored and pruned between flushes never reaches it', () => {
    const inner = recordingStore()
    inner.commit(commitOf({ journalUpserts: [block('m/1')] }))
    const store = createWriteBehindStore(inner, { maxPendingRows: 100 })
    store.commit(commitOf({ journalUpserts: [block('m/2'), block('m/3')] }))
    store.commit(commitOf({ journalDeletes: ['m/1', 'm/2'] }))
    store.flush()
    expect(inner.commits.at(-1)).toMatchObject({ journalDeletes: ['m/1'], journalUpserts: [block('m/3')] })
    expect(inner.loadJournal().map((b) => b.block_key)).toEqual(['m/3'])
  })

  it('keeps a journal block that one commit both deletes and stores, as the store beneath does', () => {
    const inner = createMemoryReadModelStore()
    const store = createWriteBehindStore(inner, { maxPendingRows: 100 })
    store.commit(commitOf({ journalDeletes: ['m/1'], journalUpserts: [block('m/1')] }))
    expect(store.loadJournal()).toEqual([block('m/1')])
  })

  it('flushes before every other read, so each read sees every commit', () => {
    const inner = createMemoryReadModelStore()
    const store = createWriteBehindStore(inner, { maxPendingRows: 100 })
    const offset = { topic: 'perp.events.v1', partition: 0, next_offset: 9 }
    store.commit(commitOf({ writes: [write('0xa', 'open')], offsets: [offset], cursors: [{ market_id: 'm', head_block: 5, finalized_through: -1 }] }))
    expect(store.loadOffsets()).toEqual([offset])
    expect(store.pendingRows).toBe(0)
    expect(store.hasPositions()).toBe(true)
    expect(store.loadCursors()).toEqual([{ market_id: 'm', head_block: 5, finalized_through: -1 }])
    expect([...store.tableRows('positions')]).toHaveLength(1)
  })

  it('fails the flush when the store beneath holds a row it inserts, rather than overwriting it', () => {
    const inner = createMemoryReadModelStore()
    const store = createWriteBehindStore(inner, { maxPendingRows: 100 })
    store.commit(commitOf({ writes: [write('0xa', 'open')] }))
    inner.commit(commitOf({ writes: [write('0xa', 'closed')] }))
    expect(() => store.flush()).toThrow(KnownRowError)
  })

  it('keeps its pending writes when the store beneath fails a flush, so a later flush still writes them', () => {
    const inner = createMemoryReadModelStore()
    let failNext = true
    const failing = {
      ...inner,
      commit: (batch: StoreCommit) => {
        if (failNext) {
          failNext = false
          throw new Error('disk full')
        }
        inner.commit(batch)
      },
    }
    const store = createWriteBehindStore(failing, { maxPendingRows: 100 })
    store.commit(commitOf({ writes: [write('0xa', 'open')] }))
    expect(() => store.flush()).toThrow('disk full')
    expect(store.findPosition('0xa')?.status).toBe('open')
    store.flush()
    expect(inner.findPosition('0xa')?.status).toBe('open')
  })

  it('flushes before the bound while under memory pressure, once more than minPendingRows are pending', () => {
    const inner = recordingStore()
    let pressure = false
    const store = createWriteBehindStore(inner, { maxPendingRows: 100, minPendingRows: 1, underPressure: () => pressure })
    store.commit(commitOf({ writes: [write('0xa', 'open'), write('0xb', 'open')] }))
    expect(inner.commits).toEqual([])
    pressure = true
    store.commit(commitOf({ writes: [write('0xc', 'open')] }))
    expect(inner.commits).toHaveLength(1)
    expect(store.pendingRows).toBe(0)
    store.commit(commitOf({ writes: [write('0xd', 'open')] }))
    expect(inner.commits).toHaveLength(1)
    expect(store.pendingRows).toBe(1)
  })

  it('refuses a bound that is not a positive integer, and a negative minPendingRows', () => {
    expect(() => createWriteBehindStore(createMemoryReadModelStore(), { maxPendingRows: 0 })).toThrow(/maxPendingRows/)
    expect(() => createWriteBehindStore(createMemoryReadModelStore(), { maxPendingRows: 1, minPendingRows: -1 })).toThrow(/minPendingRows/)
  })
})
