// What the projections consume: every record of perp.events.v1 and pyth.ticks.v1, validated by the
// same zod schemas the indexer writes with. One schema for both topics lets one consumer (one group,
// one onRecords at a time) read them; recordBelongsTo still holds each type to its own topic.
import { z } from 'zod'
import { eventsTopicRecord, tickRecord, type EventsTopicRecord, type TickRecord } from '../../indexer/records/schemas.ts'
import { topics } from '../../indexer/records/topics.ts'

export const projectionRecord = z.discriminatedUnion('type', [...eventsTopicRecord.options, tickRecord])

export type ProjectionRecord = EventsTopicRecord | TickRecord

export interface ProjectionTopics {
  readonly events: string
  readonly ticks: string
}

export const defaultProjectionTopics: ProjectionTopics = { events: topics.events, ticks: topics.ticks }

/** Whether a record of this type may come from this topic (ticks from the ticks topic only). */
export function recordBelongsTo(record: ProjectionRecord, topic: string, names: ProjectionTopics): boolean {
  return record.type === 'price_tick' ? topic === names.ticks : topic === names.events
}
