// The undo journal in memory: per market, its blocks not yet final, each with the ids of its folded
// events and, per row, the row's image from before the block (a reorg orphans whole blocks, so one
// image per row and block is enough). The set of those ids is the set of applied record ids the fold
// checks redeliveries against.
//
// It is pruned at every commit: a market's blocks at or below (its newest folded block −
// finalityDepth) are final and dropped, and the line is remembered in the market's cursor. Blocks
// that become final before their batch commits are never stored at all, so a catch-up over old
// blocks writes next to no journal.
import { blockKey } from '../fold/chain-key.ts'
import type { AppliedEvent, JournalBlock, JournalChange } from '../fold/fold-step.ts'
import type { RowWrite } from '../fold/read-model-rows.ts'
import type { FoldCursor } from '../store/read-model-store.ts'

/** A chain event arrived below or beside the market's newest journal block: the log is out of chain order. */
export class JournalOrderError extends Error {
  override readonly name = 'JournalOrderError'
  constructor(
    readonly recordId: string,
    readonly blockNumber: number,
    readonly newestBlock: number,
  ) {
    super(`event ${recordId} of block ${blockNumber} follows block ${newestBlock} of another branch or later height without a reorg`)
  }
}

/** What changed since the last settle, for the store. */
export interface JournalChanges {
  readonly upserts: JournalBlock[]
  readonly deletes: string[]
  readonly cursors: FoldCursor[]
}

export interface UndoJournal {
  isApplied(recordId: string): boolean
  blocks(marketId: string): readonly JournalBlock[]
  finalizedThrough(marketId: string): number
  apply(change: JournalChange): void
  /** Prunes the touched markets below finality and hands over what the store must now hold. */
  settle(): JournalChanges
}

interface JournalSlot extends JournalBlock {
  readonly record_ids: string[]
  readonly undo: RowWrite[]
  /** imageKey of every image in undo. */
  readonly undoKeys: Set<string>
  /** Whether the store holds the slot as it is now. */
  stored: boolean
  /** Whether the store holds some version of it (so dropping it must delete it there). */
  everStored: boolean
}

export function imageKey(write: RowWrite): string {
  return `${write.table}\u0000${write.key}`
}

function openSlot(entry: AppliedEvent): JournalSlot {
  return {
    block_key: blockKey(entry.market_id, entry.block_number),
    market_id: entry.market_id,
    block_number: entry.block_number,
    block_hash: entry.block_hash,
    record_ids: [],
    undo: [],
    undoKeys: new Set(),
    stored: false,
    everStored: false,
  }
}

interface JournalState {
  readonly finalityDepth: number
  readonly slots: Map<string, JournalSlot[]>
  readonly appliedIds: Set<string>
  readonly cursors: Map<string, FoldCursor>
  /** Block keys of stored blocks dropped since the last settle. */
  deletes: string[]
  /** Markets whose journal changed since the last settle. */
  touched: Set<string>
}

function slotsOf(state: JournalState, marketId: string): JournalSlot[] {
  let slots = state.slots.get(marketId)
  if (slots === undefined) {
    slots = []
    state.slots.set(marketId, slots)
  }
  return slots
}

function cursorOf(state: JournalState, marketId: string): FoldCursor {
  return state.cursors.get(marketId) ?? { market_id: marketId, head_block: -1, finalized_through: -1 }
}

function forget(state: JournalState, slot: JournalSlot): void {
  for (const id of slot.record_ids) state.appliedIds.delete(id)
  if (slot.everStored) state.deletes.push(slot.block_key)
}

/** The block's slot, opened when the event is the first of its block. */
function slotFor(state: JournalState, entry: AppliedEvent): JournalSlot {
  const slots = slotsOf(state, entry.market_id)
  const newest = slots.at(-1)
  if (newest !== undefined && newest.block_hash === entry.block_hash) return newest
  if (newest !== undefined && entry.block_number <= newest.block_number) {
    throw new JournalOrderError(entry.record_id, entry.block_number, newest.block_number)
  }
  const slot = openSlot(entry)
  slots.push(slot)
  return slot
}

function append(state: JournalState, entry: AppliedEvent): void {
  const slot = slotFor(state, entry)
  slot.record_ids.push(entry.record_id)
  for (const image of entry.undo) {
    // The block's first image of a row is the one from before the block.
    const key = imageKey(image)
    if (slot.undoKeys.has(key)) continue
    slot.undoKeys.add(key)
    slot.undo.push(image)
  }
  slot.stored = false
  state.appliedIds.add(entry.record_id)
  // A new cursor only when the head moves (a market's first event always moves it from -1): once
  // per block, not per event.
  const cursor = cursorOf(state, entry.market_id)
  if (entry.block_number > cursor.head_block) state.cursors.set(entry.market_id, { ...cursor, head_block: entry.block_number })
  state.touched.add(entry.market_id)
}

function undo(state: JournalState, marketId: string, count: number, ancestorBlock: number): void {
  const slots = slotsOf(state, marketId)
  for (const slot of slots.splice(slots.length - count, count)) forget(state, slot)
  // Every block left is at or below the common ancestor.
  state.cursors.set(marketId, { ...cursorOf(state, marketId), head_block: ancestorBlock })
  state.touched.add(marketId)
}

/**
 * Drops the market's final blocks; adds the blocks to store to `upserts` and returns the cursor. The
 * newest block is never final, whatever the depth: more of its events may follow in the next batch.
 */
function settleMarket(state: JournalState, marketId: string, upserts: JournalBlock[]): FoldCursor {
  let cursor = cursorOf(state, marketId)
  const line = Math.min(cursor.head_block - state.finalityDepth, cursor.head_block - 1)
  const slots = slotsOf(state, marketId)
  if (line > cursor.finalized_through) {
    let final = 0
    while (final < slots.length && slots[final]!.block_number <= line) forget(state, slots[final++]!)
    slots.splice(0, final)
    cursor = { ...cursor, finalized_through: line }
    state.cursors.set(marketId, cursor)
  }
  for (const slot of slots) {
    if (slot.stored) continue
    // A copy: the slot keeps growing while the stored version must stay as committed.
    const { block_key, market_id, block_number, block_hash } = slot
    upserts.push({ block_key, market_id, block_number, block_hash, record_ids: [...slot.record_ids], undo: [...slot.undo] })
    slot.stored = true
    slot.everStored = true
  }
  return cursor
}

/** A journal holding the stored blocks and cursors. */
export function createUndoJournal(finalityDepth: number, stored: readonly JournalBlock[], cursors: readonly FoldCursor[]): UndoJournal {
  const state: JournalState = {
    finalityDepth,
    slots: new Map(),
    appliedIds: new Set(),
    cursors: new Map(cursors.map((cursor) => [cursor.market_id, cursor])),
    deletes: [],
    touched: new Set(),
  }
  for (const block of stored) {
    const undoKeys = new Set(block.undo.map(imageKey))
    slotsOf(state, block.market_id).push({ ...block, record_ids: [...block.record_ids], undo: [...block.undo], undoKeys, stored: true, everStored: true })
    for (const id of block.record_ids) state.appliedIds.add(id)
  }
  return {
    isApplied: (recordId) => state.appliedIds.has(recordId),
    blocks: (marketId) => state.slots.get(marketId) ?? [],
    finalizedThrough: (marketId) => cursorOf(state, marketId).finalized_through,
    apply: (change) => (change.kind === 'append' ? append(state, change.entry) : undo(state, change.marketId, change.count, change.ancestorBlock)),
    settle: () => {
      const upserts: JournalBlock[] = []
      const changed = [...state.touched].map((marketId) => settleMarket(state, marketId, upserts))
      const changes = { upserts, deletes: state.deletes, cursors: changed }
      state.deletes = []
      state.touched = new Set()
      return changes
    },
  }
}
