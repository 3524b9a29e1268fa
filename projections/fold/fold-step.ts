// The vocabulary of the fold: what it reads (FoldView), what it returns (FoldStep), and what each
// chain event leaves in the undo journal, so that a chain_reorg can restore the rows.
import type { ProjectionRecord } from './projection-record.ts'
import type { MarketRow, PositionRow, RowWrite, TickRow } from './read-model-rows.ts'

/**
 * What folding one chain event wrote, as the row images from before it (undefined row: the row did
 * not exist), in write order: writing them back in reverse order undoes the event.
 */
export interface AppliedEvent {
  readonly market_id: string
  readonly block_number: number
  readonly block_hash: string
  readonly record_id: string
  readonly undo: readonly RowWrite[]
}

/**
 * The undo journal's entry for one block of one market, while the block is not final. A reorg
 * orphans whole blocks, so the events of a block are only ever undone together: the entry keeps the
 * ids of the block's folded events (the applied record ids the fold checks redeliveries against)
 * and, per row, only its image from before the block's first event that wrote it.
 */
export interface JournalBlock {
  /** blockKey(market_id, block_number). */
  readonly block_key: string
  readonly market_id: string
  readonly block_number: number
  readonly block_hash: string
  readonly record_ids: readonly string[]
  readonly undo: readonly RowWrite[]
}

/** The state the fold reads. Implementations may load lazily; the fold never writes through it. */
export interface FoldView {
  market(marketId: string): MarketRow | undefined
  position(positionId: string): PositionRow | undefined
  tick(marketId: string): TickRow | undefined
  /** Whether a chain event with this id is in the undo journal (folded and not undone). */
  isApplied(recordId: string): boolean
  /** The market's blocks not yet final, in chain order. */
  journal(marketId: string): readonly JournalBlock[]
  /**
   * The highest block number whose events of this market have been pruned from the journal as
   * final (−1 when none): the fold can no longer undo them, nor tell their ids apart.
   */
  finalizedThrough(marketId: string): number
}

/** Why a record changed nothing. Every reason is a deterministic function of the view and the record. */
export type SkipReason =
  /** The record id was folded already (in the unfinalized window). */
  | 'redelivered'
  /** A chain event at or below the market's finality line: folded already, its id since pruned. */
  | 'finalized'
  /** A tick not newer than the market's latest one. */
  | 'stale-tick'
  /** A position_opened for a position id that exists already. */
  | 'duplicate-position'
  /** A close or liquidation of a position the log never opened (indexing began after it). */
  | 'unknown-position'
  /** A close or liquidation of a position that is not open. */
  | 'position-not-open'
  /** A close or liquidation whose market differs from the position's. */
  | 'market-mismatch'
  /** A chain_reorg none of whose orphaned blocks this market has folded. */
  | 'nothing-to-undo'

export type JournalChange =
  | { readonly kind: 'append'; readonly entry: AppliedEvent }
  /** The market's newest `count` journal blocks are undone and forgotten. */
  | { readonly kind: 'undo'; readonly marketId: string; readonly count: number; readonly ancestorBlock: number }

export type FoldStep =
  | {
      readonly outcome: 'applied'
      readonly record: ProjectionRecord
      /** The new row images, at most one per row. */
      readonly writes: readonly RowWrite[]
      /** Chain events and reorgs change the journal; ticks do not. */
      readonly journal: JournalChange | undefined
    }
  | { readonly outcome: 'skipped'; readonly reason: SkipReason; readonly record: ProjectionRecord }

export function skipped(record: ProjectionRecord, reason: SkipReason): FoldStep {
  return { outcome: 'skipped', reason, record }
}
