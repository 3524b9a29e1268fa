// The fold: evolve(state, record) as a pure function from the current rows (a FoldView) and one
// record to the rows it writes (a FoldStep). It imports no I/O; the runtime applies the step to its
// working set and commits the writes with the offsets.
//
// Idempotence. A chain event whose id is in the undo journal, or whose block is at or below the
// market's pruned finality line, was folded already and changes nothing. A tick changes nothing
// unless it is newer than the latest (fold-tick.ts). A redelivered chain_reorg matches no folded
// block (undo-reorg.ts). So a redelivered record, whenever it comes, changes nothing.
//
// Order independence: the result does not depend on how the records of the two topics, or of the
// partitions of one topic, interleave; only each partition's own order matters. Because:
// 1. The state falls apart into disjoint pieces, each written by one ordered stream only:
//    - a market's chain events (one partition of perp.events.v1, in chain order) write only that
//      market's row, its positions, liquidations and funding history, and its undo journal, and
//      read only those rows: a close filed under another market than its position's is skipped,
//      and position ids are unique across markets (the contract derives them from one nonce);
//    - ticks write only the latest_ticks row of their market, and chain events never read it.
//    Interleaving two streams that write disjoint rows and read nothing of each other does not
//    change what either writes.
// 2. Within the ticks, the latest tick is a maximum (fold-tick.ts): even ticks out of publish order
//    give the same row.
// 3. Nothing derived from both topics is stored: PnL, health, liquidation price and reward are
//    computed at read time from the stored facts and the latest tick (projections/risk).
// 4. Nothing else enters a row: no clock, no offset, no arrival order, no random key.
// order-independence.unit.test.ts folds the same records in many interleavings and compares state hashes.
import type { ChainEventRecord } from '../../indexer/records/schemas.ts'
import {
  foldFundingUpdated,
  foldMarketListed,
  foldPositionClosed,
  foldPositionLiquidated,
  foldPositionOpened,
  type ChainEventFold,
} from './fold-chain-event.ts'
import { skipped, type AppliedEvent, type FoldStep, type FoldView } from './fold-step.ts'
import { foldTick } from './fold-tick.ts'
import type { ProjectionRecord } from './projection-record.ts'
import type { RowWrite } from './read-model-rows.ts'
import { undoReorg } from './undo-reorg.ts'

/** A record type the fold does not know: unreachable while the switch is exhaustive. */
export class UnknownRecordTypeError extends Error {
  override readonly name = 'UnknownRecordTypeError'
  constructor(readonly record: never) {
    super(`the fold does not know record type ${JSON.stringify((record as { type?: unknown }).type)}`)
  }
}

/**
 * The row as it was before a write. Liquidations and funding rows are only ever inserted under a
 * key no folded row has (a position is liquidated once; a chain key belongs to one event), and
 * deleted again only by an undo, so their image before is always "absent".
 */
function imageBefore(view: FoldView, write: RowWrite): RowWrite {
  switch (write.table) {
    case 'markets':
      return { table: write.table, key: write.key, row: view.market(write.key) }
    case 'positions':
      return { table: write.table, key: write.key, row: view.position(write.key) }
    case 'latest_ticks':
      return { table: write.table, key: write.key, row: view.tick(write.key) }
    case 'liquidations':
    case 'funding_history':
      return { table: write.table, key: write.key, row: undefined }
  }
}

function appliedEvent(view: FoldView, record: ChainEventRecord, writes: readonly RowWrite[]): AppliedEvent {
  const { chain } = record
  return {
    market_id: record.market_id,
    block_number: chain.block_number,
    block_hash: chain.block_hash,
    record_id: record.id,
    undo: writes.map((write) => imageBefore(view, write)),
  }
}

function foldChainEvent<R extends ChainEventRecord>(
  view: FoldView,
  record: R,
  fold: (view: FoldView, record: R) => ChainEventFold,
): FoldStep {
  if (view.isApplied(record.id)) return skipped(record, 'redelivered')
  if (record.chain.block_number <= view.finalizedThrough(record.market_id)) return skipped(record, 'finalized')
  const writes = fold(view, record)
  if (typeof writes === 'string') return skipped(record, writes)
  return { outcome: 'applied', record, writes, journal: { kind: 'append', entry: appliedEvent(view, record, writes) } }
}

/** evolve: the rows one record writes, given the current rows. */
export function foldRecord(view: FoldView, record: ProjectionRecord): FoldStep {
  switch (record.type) {
    case 'market_listed':
      return foldChainEvent(view, record, foldMarketListed)
    case 'position_opened':
      return foldChainEvent(view, record, foldPositionOpened)
    case 'position_closed':
      return foldChainEvent(view, record, foldPositionClosed)
    case 'position_liquidated':
      return foldChainEvent(view, record, foldPositionLiquidated)
    case 'funding_updated':
      return foldChainEvent(view, record, foldFundingUpdated)
    case 'chain_reorg':
      return undoReorg(view, record)
    case 'price_tick': {
      const writes = foldTick(view, record)
      return typeof writes === 'string'
        ? skipped(record, writes)
        : { outcome: 'applied', record, writes, journal: undefined }
    }
    default:
      throw new UnknownRecordTypeError(record)
  }
}
