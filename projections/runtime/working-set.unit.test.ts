import { describe, expect, it } from 'vitest'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import { createMemoryReadModelStore } from '../store/memory-read-model-store.ts'
import type { ReadModelStore, StoreCommit } from '../store/read-model-store.ts'
import { stateHash } from '../store/state-hash.ts'
import { fundingUpdated, hashOf, marketListed, positionClosed, positionOpened } from '../test-support/records.ts'
import { JournalOrderError } from './undo-journal.ts'
import { createWorkingSet, type WorkingSet } from './working-set.ts'

const BTC = 'btc-usdc-perp'
const listed = marketListed(BTC, { block: 1 })
const fundingAt = (block: number) =>
  fundingUpdated(BTC, { block }, { funding_rate: '0.01', cumulative_funding_index: String(block) })

/** A memory store that records its commits and position reads, and can fail the next commit. */
function spiedStore() {
  const inner = createMemoryReadModelStore()
  const commits: StoreCommit[] = []
  const positionReads: string[] = []
  let failNext = false
  const store: ReadModelStore = {
    ...inner,
    commit: (commit) => {
      if (failNext) {
        failNext = false
        throw new Error('disk full')
      }
      commits.push(commit)
      inner.commit(commit)
    },
    findPosition: (id) => {
      positionReads.push(id)
      return inner.findPosition(id)
    },
  }
  return { inner, store, commits, positionReads, failNextCommit: () => (failNext = true) }
}

function foldBatch(workingSet: WorkingSet, store: ReadModelStore, records: readonly ProjectionRecord[]): void {
  records.forEach((record) => workingSet.fold(record))
  store.commit({ ...workingSet.takeCommit(), offsets: [] })
}

describe('working set', () => {
  it('keeps in the journal only the events above the finality line, and remembers the line', () => {
    const { inner, store } = spiedStore()
    const workingSet = createWorkingSet(store, { finalityDepth: 3 })
    for (const block of [2, 3, 4, 5, 6, 7, 8]) foldBatch(workingSet, store, block === 2 ? [listed, fundingAt(2)] : [fundingAt(block)])
    expect(inner.loadJournal().map((b) => b.block_number)).toEqual([6, 7, 8])
    expect(inner.loadCursors()).toEqual([{ market_id: BTC, head_block: 8, finalized_through: 5 }])
    expect(workingSet.journal(BTC).map((b) => b.block_number)).toEqual([6, 7, 8])
  })

  it('keeps one journal entry per block: the ids of its events and each row as it was before the block', () => {
    const { inner, store } = spiedStore()
    const workingSet = createWorkingSet(store, { finalityDepth: 64 })
    const opens = [0, 1, 2].map((logIndex) =>
      positionOpened(BTC, { block: 2, logIndex }, { position_id: hashOf(`p${logIndex}`), side: 'long', size: '1', collateral: '1', entry_price: '1' }),
    )
    foldBatch(workingSet, store, [listed])
    const marketBefore = inner.rows('markets')[0]
    // Block 2 spans two batches: its stored entry grows with the second.
    foldBatch(workingSet, store, [opens[0]!])
    foldBatch(workingSet, store, opens.slice(1))
    const [, block2] = inner.loadJournal()
    expect(block2!.record_ids).toEqual(opens.map((r) => r.id))
    expect(block2!.undo).toEqual([
      { table: 'positions', key: hashOf('p0'), row: undefined },
      { table: 'markets', key: BTC, row: marketBefore },
      { table: 'positions', key: hashOf('p1'), row: undefined },
      { table: 'positions', key: hashOf('p2'), row: undefined },
    ])
  })

  it('refuses an event of an older block than the newest one folded: the log is out of chain order', () => {
    const { store } = spiedStore()
    const workingSet = createWorkingSet(store, { finalityDepth: 64 })
    foldBatch(workingSet, store, [listed, fundingAt(5)])
    expect(() => workingSet.fold(fundingAt(4))).toThrow(JournalOrderError)
  })

  it('never stores journal entries that became final before their batch committed', () => {
    const { store, commits } = spiedStore()
    const workingSet = createWorkingSet(store, { finalityDepth: 2 })
    foldBatch(workingSet, store, [listed, ...[2, 3, 4, 5, 6, 7, 8, 9, 10].map(fundingAt)])
    expect(commits[0]!.journalUpserts.map((b) => b.block_number)).toEqual([9, 10])
    expect(commits[0]!.writes).toHaveLength(1 + 9)
  })

  it('writes a row changed several times in a batch once, with its final image', () => {
    const { store, commits } = spiedStore()
    const workingSet = createWorkingSet(store, { finalityDepth: 64 })
    foldBatch(workingSet, store, [listed, fundingAt(2), fundingAt(3), fundingAt(4)])
    const marketWrites = commits[0]!.writes.filter((w) => w.table === 'markets')
    expect(marketWrites).toHaveLength(1)
    expect(marketWrites[0]!.row).toMatchObject({ cumulative_funding_index: '4' })
  })

  it('lets go of a closed position after the commit and reads it back from the store when needed', () => {
    const { store, positionReads } = spiedStore()
    const workingSet = createWorkingSet(store, { finalityDepth: 64 })
    const id = hashOf('p')
    foldBatch(workingSet, store, [
      listed,
      positionOpened(BTC, { block: 2 }, { position_id: id, side: 'long', size: '1', collateral: '1', entry_price: '1' }),
    ])
    expect(positionReads).toEqual([])
    foldBatch(workingSet, store, [positionClosed(BTC, { block: 3 }, { position_id: id, exit_price: '2' })])
    expect(positionReads).toEqual([])
    expect(workingSet.position(id)).toMatchObject({ status: 'closed' })
    expect(positionReads).toEqual([id])
  })

  it('knows an opened position is new without reading the store when the store started empty, and reads back evicted ones', () => {
    const { store, positionReads } = spiedStore()
    const workingSet = createWorkingSet(store, { finalityDepth: 64, maxCachedPositions: 1 })
    const [a, b, c] = ['a', 'b', 'c'].map(hashOf) as [string, string, string]
    const open = (id: string, block: number) => positionOpened(BTC, { block }, { position_id: id, side: 'long', size: '1', collateral: '1', entry_price: '1' })
    foldBatch(workingSet, store, [listed, open(a, 2)])
    foldBatch(workingSet, store, [open(b, 3), open(c, 4)])
    expect(positionReads).toEqual([])
    foldBatch(workingSet, store, [positionClosed(BTC, { block: 5 }, { position_id: a, exit_price: '2' })])
    expect(positionReads).toEqual([a])
    expect(workingSet.position(hashOf('never opened'))).toBeUndefined()
    expect(positionReads).toEqual([a])
  })

  it('reads every position missing from its cache from a store that held positions when it was loaded', () => {
    const { store, positionReads } = spiedStore()
    const first = createWorkingSet(store, { finalityDepth: 64 })
    const id = hashOf('p')
    foldBatch(first, store, [listed, positionOpened(BTC, { block: 2 }, { position_id: id, side: 'long', size: '1', collateral: '1', entry_price: '1' })])
    const restarted = createWorkingSet(store, { finalityDepth: 64 })
    expect(restarted.position(hashOf('other'))).toBeUndefined()
    expect(restarted.position(id)).toMatchObject({ status: 'open' })
    expect(positionReads).toEqual([hashOf('other'), id])
  })

  it('after a failed commit, reloads from the store, and folding the batch again gives the state of no failure', () => {
    const batches: ProjectionRecord[][] = [[listed, fundingAt(2)], [fundingAt(3), fundingAt(4)]]
    const clean = spiedStore()
    const cleanSet = createWorkingSet(clean.store, { finalityDepth: 64 })
    batches.forEach((batch) => foldBatch(cleanSet, clean.store, batch))

    const failing = spiedStore()
    const workingSet = createWorkingSet(failing.store, { finalityDepth: 64 })
    foldBatch(workingSet, failing.store, batches[0]!)
    failing.failNextCommit()
    expect(() => foldBatch(workingSet, failing.store, batches[1]!)).toThrow('disk full')
    workingSet.reset()
    expect(workingSet.market(BTC)).toMatchObject({ cumulative_funding_index: '2' })
    expect(workingSet.isApplied(batches[1]![0]!.id)).toBe(false)
    foldBatch(workingSet, failing.store, batches[1]!)
    expect(stateHash(failing.inner)).toBe(stateHash(clean.inner))
    expect(failing.inner.loadJournal()).toEqual(clean.inner.loadJournal())
  })
})
