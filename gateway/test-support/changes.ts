// ProjectionChange values as the runtime publishes them after a commit of perp.events.v1, for the
// channels' unit tests: the records fold into the harness's read models first, as they would have
// been committed before the feed is told.
import type { EventsTopicRecord } from '../../indexer/records/schemas.ts'
import type { ProjectionChange } from '../../projections/runtime/change-feed.ts'
import type { GatewayHarness } from './gateway-harness.ts'

/** Folds `records` and publishes them as one change of `partition`, at offsets from `firstOffset` on. */
export function commitEvents(harness: GatewayHarness, partition: number, firstOffset: number, records: readonly EventsTopicRecord[]): ProjectionChange {
  harness.queries.fold(records)
  const change: ProjectionChange = {
    topic: 'perp.events.v1',
    partition,
    nextOffset: firstOffset + records.length,
    records,
    offsets: records.map((_, i) => firstOffset + i),
    positionIds: [],
    marketIds: [...new Set(records.map((r) => r.market_id))],
    positions: [],
    markets: [],
  }
  harness.gateway.onCommit({ topic: change.topic, partition, next_offset: change.nextOffset })
  harness.changes.publish(change)
  return change
}
