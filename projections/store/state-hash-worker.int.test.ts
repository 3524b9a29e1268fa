import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoStore } from '../test-support/fold-into-memory.ts'
import { createRandom, interleave } from '../test-support/random.ts'
import { stateHash } from './state-hash.ts'
import { stateReportOfFile } from './state-hash-worker.ts'
import { openReadModelStore } from './sqlite-read-model-store.ts'

describe('state report of a read-model file, from a worker thread', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'state-hash-worker-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('gives the hash and offsets of the committed state, not of a commit in progress on another connection', async () => {
    const path = join(dir, 'read-models.db')
    const store = openReadModelStore({ path })
    const history = generateChainHistory(createRandom(5), { blocks: 30, reorgChance: 0.2 })
    const records = interleave<ProjectionRecord>([...history.events, ...history.ticks], createRandom(6))
    const fold = foldIntoStore(store)
    fold.fold(records.slice(0, records.length - 20), 17)
    store.commit({ writes: [], journalDeletes: [], journalUpserts: [], cursors: [], offsets: [{ topic: 'perp.events.v1', partition: 0, next_offset: 42 }] })
    const committed = stateHash(store)

    // A commit in progress: its rows are visible to this connection only.
    store.db.prepare('BEGIN IMMEDIATE').run()
    fold.fold(records.slice(records.length - 20))
    expect(stateHash(store)).not.toBe(committed)
    const report = await stateReportOfFile(path)
    store.db.prepare('ROLLBACK').run()
    store.close()

    expect(report.stateHash).toBe(committed)
    expect(report.offsets).toEqual([{ topic: 'perp.events.v1', partition: 0, next_offset: 42 }])
  })

  it('rejects with the path when there is no such file', async () => {
    const path = join(dir, 'missing.db')
    await expect(stateReportOfFile(path)).rejects.toThrow(path)
  })
})
