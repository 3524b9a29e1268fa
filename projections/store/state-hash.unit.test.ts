import { describe, expect, it } from 'vitest'
import { readModelTableNames, readModelTables, type RowWrite } from '../fold/read-model-rows.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { createRandom } from '../test-support/random.ts'
import { createMemoryReadModelStore } from './memory-read-model-store.ts'
import { stateHash } from './state-hash.ts'

/** Every row of a folded random history, as writes that recreate it. */
function foldedRows(): RowWrite[] {
  const history = generateChainHistory(createRandom(3), { blocks: 30, reorgChance: 0 })
  const fold = foldIntoMemory()
  fold.fold([...history.events.flat(), ...history.ticks.flat()])
  return readModelTableNames.flatMap((table) =>
    fold.store.rows(table).map((row) => ({ table, key: String(row[readModelTables[table].key as keyof typeof row]), row }) as RowWrite),
  )
}

function storeOf(writes: readonly RowWrite[]) {
  const store = createMemoryReadModelStore()
  store.commit({ writes, journalDeletes: [], journalUpserts: [], cursors: [], offsets: [] })
  return store
}

describe('state hash', () => {
  const rows = foldedRows()

  it('is a sha256 hex digest, the same for the same rows', () => {
    expect(stateHash(storeOf(rows))).toMatch(/^[0-9a-f]{64}$/)
    expect(stateHash(storeOf(rows))).toBe(stateHash(storeOf(rows)))
  })

  it('does not depend on the order the rows were written in', () => {
    expect(stateHash(storeOf([...rows].reverse()))).toBe(stateHash(storeOf(rows)))
  })

  it('changes when any column of any table changes', () => {
    const reference = stateHash(storeOf(rows))
    for (const table of readModelTableNames) {
      const index = rows.findIndex((write) => write.table === table)
      expect(index, `the history has a ${table} row`).toBeGreaterThanOrEqual(0)
      const write = rows[index]!
      for (const column of readModelTables[table].columns.filter((c) => c !== readModelTables[table].key)) {
        const changed = { ...write, row: { ...write.row, [column]: 'changed' } } as RowWrite
        const hash = stateHash(storeOf(rows.map((w, i) => (i === index ? changed : w))))
        expect(hash, `${table}.${column}`).not.toBe(reference)
      }
    }
  })

  it('leaves out the consumer offsets, the undo journal and the cursors', () => {
    const store = storeOf(rows)
    const before = stateHash(store)
    store.commit({
      writes: [],
      journalDeletes: [],
      journalUpserts: [{ block_key: 'k', market_id: 'm', block_number: 1, block_hash: '0x', record_ids: ['r'], undo: [] }],
      cursors: [{ market_id: 'm', head_block: 9, finalized_through: 3 }],
      offsets: [{ topic: 't', partition: 0, next_offset: 42 }],
    })
    expect(stateHash(store)).toBe(before)
  })

  it('covers every field of every row the fold writes', () => {
    for (const write of rows) {
      expect(Object.keys(write.row ?? {}).sort(), write.table).toEqual([...readModelTables[write.table].columns].sort())
    }
  })
})
