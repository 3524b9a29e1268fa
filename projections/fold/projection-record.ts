// What the projections consume: every record of perp.events.v1 and pyth.ticks.v1, validated by the
// same zod schemas the indexer writes with. One schema for both topics lets one consumer (one group,
// one onRecords at a time) read them; recordBelongsTo still holds each type to its own topic.
import { z } from 'zod'
import type { RecordShortcut, TextShortcut } from '../../indexer/log/typed-log.ts'
import { readCanonicalTick } from '../../indexer/records/canonical-tick-text.ts'
import { fastRecordCheck } from '../../indexer/records/record-check.ts'
import { eventsTopicRecord, tickRecord, type EventsTopicRecord, type TickRecord } from '../../indexer/records/schemas.ts'
import { topics } from '../../indexer/records/topics.ts'

export const projectionRecord = z.discriminatedUnion('type', [...eventsTopicRecord.options, tickRecord])

export type ProjectionRecord = EventsTopicRecord | TickRecord

/** Chain events and ticks without zod (a replay's decoding cost); reorgs and bad records go to the schema. */
export const projectionRecordShortcut: RecordShortcut<ProjectionRecord> = fastRecordCheck

/** Ticks in the writer's canonical JSON, read without JSON.parse; every other record is parsed. */
export const projectionRecordTextShortcut: TextShortcut<ProjectionRecord> = readCanonicalTick

export interface ProjectionTopics {
  readonly events: string
  readonly ticks: string
}

export const defaultProjectionTopics: ProjectionTopics = { events: topics.events, ticks: topics.ticks }

/** Whether a record of this type may come from this topic (ticks from the ticks topic only). */
export function recordBelongsTo(record: ProjectionRecord, topic: string, names: ProjectionTopics): boolean {
  return record.type === 'price_tick' ? topic === names.ticks : topic === names.events
}
