// The snapshot records of committed rows (perp.snapshots.v1): a pure mapping from the images the
// change feed carries. A snapshot holds facts of the read models only, so the same commit gives the
// same snapshots in a live fold and in a replay.
import type { MarketRow, PositionRow, TickRow } from '../fold/read-model-rows.ts'
import type { MarketImage, PositionImage, ProjectionChange } from '../runtime/change-feed.ts'
import type { MarketSnapshotRecord, PositionSnapshotRecord, SnapshotRecord } from '../../indexer/records/snapshot-records.ts'

export function positionSnapshot(row: PositionRow): PositionSnapshotRecord {
  return { v: 1, id: row.position_id, type: 'position_snapshot', market_id: row.market_id, data: { ...row } }
}

export function marketSnapshot(row: MarketRow, tick: TickRow | undefined): MarketSnapshotRecord {
  return {
    v: 1,
    id: row.market_id,
    type: 'market_snapshot',
    market_id: row.market_id,
    data: {
      ...row,
      mark_price: tick?.price ?? null,
      mark_price_confidence: tick?.confidence ?? null,
      mark_price_publish_time: tick?.publish_time ?? null,
    },
  }
}

export function positionImageSnapshot(image: PositionImage): SnapshotRecord {
  return image.row === undefined
    ? { v: 1, id: image.position_id, type: 'position_removed', market_id: image.market_id }
    : positionSnapshot(image.row)
}

export function marketImageSnapshot(image: MarketImage): SnapshotRecord {
  return image.row === undefined
    ? { v: 1, id: image.market_id, type: 'market_removed', market_id: image.market_id }
    : marketSnapshot(image.row, image.tick)
}

/** One snapshot per position and market the change wrote, markets first. */
export function snapshotsOfChange(change: Pick<ProjectionChange, 'positions' | 'markets'>): SnapshotRecord[] {
  return [...change.markets.map(marketImageSnapshot), ...change.positions.map(positionImageSnapshot)]
}
