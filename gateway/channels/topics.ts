// The transport's pub/sub topics. Snapshots and raw events of one subject have topics of their own,
// because a resuming socket must get the subject's snapshots at once but its raw events only after
// the replay (see resume.ts).
import type { EventsTopicRecord } from '../../indexer/records/schemas.ts'
import type { Route } from '../protocol/paths.ts'

export type SnapshotKind = 'prices' | 'positions' | 'liquidations' | 'market-stats'

export function snapshotTopic(kind: SnapshotKind, subject: string): string {
  return `snapshot:${kind}/${subject}`
}

export const EVENTS_RAW_TOPIC = 'raw:events'

export function positionsRawTopic(userAddress: string): string {
  return `raw:positions/${userAddress}`
}

export function marketStatsRawTopic(marketId: string): string {
  return `raw:market-stats/${marketId}`
}

/** The raw-event topic of a route; undefined for the paths that carry no raw events. */
export function rawTopicOf(route: Route): string | undefined {
  switch (route.kind) {
    case 'events':
      return EVENTS_RAW_TOPIC
    case 'positions':
      return positionsRawTopic(route.userAddress)
    case 'market-stats':
      return marketStatsRawTopic(route.marketId)
    case 'prices':
    case 'liquidations':
      return undefined
  }
}

/**
 * Where a record's frame goes: every record to the events path, a position's events to its
 * trader's positions path, a funding update to its market's market-stats path.
 */
export function rawTopicsOfRecord(record: EventsTopicRecord): string[] {
  switch (record.type) {
    case 'position_opened':
    case 'position_closed':
    case 'position_liquidated':
      return [EVENTS_RAW_TOPIC, positionsRawTopic(record.data.trader)]
    case 'funding_updated':
      return [EVENTS_RAW_TOPIC, marketStatsRawTopic(record.market_id)]
    case 'market_listed':
    case 'chain_reorg':
      return [EVENTS_RAW_TOPIC]
    default: {
      const unknown: never = record
      throw new Error(`no topic for record ${JSON.stringify(unknown)}`)
    }
  }
}
