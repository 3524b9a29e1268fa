// A deterministic hash of the read models: sha256 over every row of every read-model table, tables
// in readModelTables order, rows in primary-key order, each row the JSON array of its column values
// in readModelTables column order. Bookkeeping (consumer offsets, the undo journal, the cursors) is
// left out: it differs between a live fold and a replay of the same records without the read models
// differing. Two stores whose hashes are equal hold the same rows, byte for byte.
import { createHash } from 'node:crypto'
import { readModelTableNames } from '../fold/read-model-rows.ts'
import type { ReadModelStore } from './read-model-store.ts'

/** Names the hashed format, so a hash of another layout can never equal one of this layout. */
const FORMAT = 'perp-read-models/v1'

export function stateHash(store: Pick<ReadModelStore, 'tableRows'>): string {
  const hash = createHash('sha256')
  hash.update(`${FORMAT}\n`)
  for (const table of readModelTableNames) {
    hash.update(`#${table}\n`)
    for (const values of store.tableRows(table)) hash.update(`${JSON.stringify(values)}\n`)
  }
  return hash.digest('hex')
}
