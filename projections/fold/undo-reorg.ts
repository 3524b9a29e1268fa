// A chain_reorg undoes, for its market, every chain event folded from its orphaned blocks: the
// journal holds the row images from before each such block, so the rows go back to what they were
// after the last canonical block, exactly, and the ids of the undone events are forgotten (a
// transaction of the orphaned branch is often mined again in the new one, with the same id).
import type { ChainReorgRecord } from '../../indexer/records/schemas.ts'
import { skipped, type FoldStep, type FoldView, type JournalBlock } from './fold-step.ts'
import type { RowWrite } from './read-model-rows.ts'

/** The reorg reaches below the events already pruned as final: the read models cannot be undone. */
export class ReorgBeyondFinalityError extends Error {
  override readonly name = 'ReorgBeyondFinalityError'
  constructor(
    readonly recordId: string,
    readonly firstOrphanedBlock: number,
    readonly finalizedThrough: number,
  ) {
    super(
      `reorg ${recordId} orphans block ${firstOrphanedBlock}, but events through block ${finalizedThrough} were pruned as final; rebuild the read models with replay`,
    )
  }
}

/** A folded block above the common ancestor is not orphaned, though a newer one is, or the reverse. */
export class ReorgMismatchError extends Error {
  override readonly name = 'ReorgMismatchError'
  constructor(
    readonly recordId: string,
    readonly blockHash: string,
  ) {
    super(`reorg ${recordId} does not match the folded chain at block ${blockHash}: orphaned and canonical blocks interleave`)
  }
}

/**
 * How many of the newest journal blocks are orphaned. They must be the newest: a reorg arrives
 * before any event of the new branch, and a redelivered reorg (after the new branch) matches no
 * block at all, since block hashes tell the branches apart.
 */
function orphanedSuffix(record: ChainReorgRecord, blocks: readonly JournalBlock[]): number {
  const orphaned = new Set(record.data.orphaned_blocks.map((block) => block.block_hash))
  let start = blocks.length
  while (start > 0 && orphaned.has(blocks[start - 1]!.block_hash)) start--
  const ancestor = record.data.common_ancestor.block_number
  for (let i = start - 1; i >= 0 && blocks[i]!.block_number > ancestor; i--) {
    const block = blocks[i]!
    if (orphaned.has(block.block_hash) || start < blocks.length) throw new ReorgMismatchError(record.id, block.block_hash)
  }
  return blocks.length - start
}

/** The images that restore every row the undone blocks wrote: per row, its image before the oldest of them. */
function restoredRows(undone: readonly JournalBlock[]): RowWrite[] {
  const restored = new Map<string, RowWrite>()
  for (let i = undone.length - 1; i >= 0; i--) {
    const { undo } = undone[i]!
    for (let j = undo.length - 1; j >= 0; j--) {
      const image = undo[j]!
      restored.set(`${image.table}\u0000${image.key}`, image)
    }
  }
  return [...restored.values()]
}

export function undoReorg(view: FoldView, record: ChainReorgRecord): FoldStep {
  const marketId = record.market_id
  const firstOrphaned = record.data.orphaned_blocks[0]!.block_number
  const finalizedThrough = view.finalizedThrough(marketId)
  if (firstOrphaned <= finalizedThrough) throw new ReorgBeyondFinalityError(record.id, firstOrphaned, finalizedThrough)
  const blocks = view.journal(marketId)
  const count = orphanedSuffix(record, blocks)
  if (count === 0) return skipped(record, 'nothing-to-undo')
  return {
    outcome: 'applied',
    record,
    writes: restoredRows(blocks.slice(blocks.length - count)),
    journal: { kind: 'undo', marketId, count, ancestorBlock: record.data.common_ancestor.block_number },
  }
}
