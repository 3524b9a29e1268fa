// The record schemas of the log, by topic. The log layer validates every record it appends and
// every record it hands to a consumer with these; docs/schemas/ holds their JSON Schema form.
import { z } from 'zod'
import {
  fundingUpdatedRecord,
  marketListedRecord,
  positionClosedRecord,
  positionLiquidatedRecord,
  positionOpenedRecord,
} from './chain-event-records.ts'
import { chainReorgRecord } from './reorg-record.ts'

export * from './chain-event-records.ts'
export { chainReorgRecord, type ChainReorgRecord } from './reorg-record.ts'
export { tickRecord, type TickRecord } from './tick-record.ts'
export { recordSchemaVersion } from './record-fields.ts'

const chainEventRecords = [
  marketListedRecord,
  positionOpenedRecord,
  positionClosedRecord,
  positionLiquidatedRecord,
  fundingUpdatedRecord,
] as const

/** A decoded event of the perp contract. */
export const chainEventRecord = z.discriminatedUnion('type', [...chainEventRecords])

/** Any record of perp.events.v1: a chain event or a reorg. */
export const eventsTopicRecord = z.discriminatedUnion('type', [...chainEventRecords, chainReorgRecord])

export type ChainEventRecord = z.infer<typeof chainEventRecord>
export type EventsTopicRecord = z.infer<typeof eventsTopicRecord>
export type RecordType = EventsTopicRecord['type'] | 'price_tick'
