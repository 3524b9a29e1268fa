// A Pyth tick replaces its market's latest tick only when it is newer: the latest tick is the
// maximum of all ticks seen under the total order (publish_time, record id). A maximum is
// commutative, associative and idempotent, so the latest tick does not depend on the order ticks
// arrive in, on how they interleave with chain events, nor on redelivery. Two ticks of one feed and
// second share their id (the log keeps one), so the id only orders ticks of different feeds.
import type { TickRecord } from '../../indexer/records/schemas.ts'
import type { FoldView, SkipReason } from './fold-step.ts'
import type { RowWrite, TickRow } from './read-model-rows.ts'

function isNewer(tick: TickRecord, latest: TickRow): boolean {
  const time = tick.data.publish_time
  return time > latest.publish_time || (time === latest.publish_time && tick.id > latest.record_id)
}

export function foldTick(view: FoldView, tick: TickRecord): readonly RowWrite[] | SkipReason {
  const latest = view.tick(tick.market_id)
  if (latest !== undefined && !isNewer(tick, latest)) return 'stale-tick'
  const { data } = tick
  const row: TickRow = {
    market_id: tick.market_id,
    record_id: tick.id,
    feed_id: data.feed_id,
    price: data.price,
    confidence: data.confidence,
    expo: data.expo,
    price_raw: data.price_raw,
    conf_raw: data.conf_raw,
    publish_time: data.publish_time,
  }
  return [{ table: 'latest_ticks', key: row.market_id, row }]
}
