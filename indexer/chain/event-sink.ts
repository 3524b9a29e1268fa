// Where the indexer's chain work ends: records of canonical blocks and reorg records, appended to
// perp.events.v1. The sink owns crash safety, so backfill and live tail stay free of it.
import type { ChainEventRecord } from '../records/schemas.ts'
import type { BlockRef, IndexedBlock } from './chain-types.ts'

export interface ResumePoint {
  /** The first block whose records are not known to be fully written. */
  readonly nextBlock: number
  /**
   * The written blocks above the finalized height, oldest first, as the sink last recorded them.
   * The live tail links new blocks to these by parent hash, which is how a reorg that happened while
   * the indexer was down is still detected.
   */
  readonly unfinalized: readonly BlockRef[]
}

export interface ChainReorg {
  readonly commonAncestor: BlockRef
  /** Ascending by number, all above the common ancestor; their records are to be undone. */
  readonly orphaned: readonly BlockRef[]
  readonly newHead: BlockRef
}

export interface EventSink {
  resume(): Promise<ResumePoint>
  /**
   * Appends consecutive canonical blocks in chain order (blocks without records included, so the
   * resume point advances). Safe to call again with blocks already written before a crash: a record
   * already in its partition is not written twice.
   */
  appendBlocks(blocks: readonly IndexedBlock<ChainEventRecord>[]): Promise<void>
  /** Appends one chain_reorg record per affected market key, before the new canonical blocks. */
  appendReorg(reorg: ChainReorg): Promise<void>
}
