// The replay half of a resume (resume.ts): which records of perp.events.v1 a resuming socket gets
// again, and with which cursors. It reads [from, live) per partition, sends the records of its
// topic, and tells when every partition has reached the live position.
import type { RecordBatch } from '../../indexer/log/log.ts'
import { decodeRecord } from '../../indexer/log/typed-log.ts'
import { eventsTopicRecord } from '../../indexer/records/schemas.ts'
import { advancePosition, encodeCursor, offsetIn, replayRanges, type EventPosition, type ReplayRange } from '../protocol/cursor.ts'
import { rawEventFrame } from '../protocol/frames.ts'
import type { GatewayConnection } from './connection-context.ts'
import type { FrameSender } from './frame-sender.ts'
import { rawTopicsOfRecord } from './topics.ts'

export interface ReplaySpec {
  readonly connection: GatewayConnection
  readonly topic: string
  /** The client's cursor. */
  readonly from: EventPosition
  /** The fanout's pushed position when the socket opened: from here on, frames arrive live. */
  readonly live: EventPosition
  readonly sender: FrameSender
}

export interface Replay {
  /** Where the log consumer starts each partition. */
  startOffset(topic: string, partition: number): number
  /** Sends the batch's records that belong to the socket; true once every partition is replayed. */
  take(batch: RecordBatch): boolean
  isDone(): boolean
}

export function createReplay(spec: ReplaySpec): Replay {
  const { connection, topic, from, live, sender } = spec
  const pending = new Map<number, ReplayRange>(replayRanges(from, live).map((range) => [range.partition, range]))
  const seen = new Set<string>()
  let replayed = from

  function send(batch: RecordBatch, range: ReplayRange): void {
    for (const stored of batch.records) {
      if (stored.offset >= range.to) {
        pending.delete(batch.partition)
        return
      }
      if (stored.offset < range.from) continue
      replayed = advancePosition(replayed, batch.partition, stored.offset + 1)
      const decoded = decodeRecord(eventsTopicRecord, stored)
      // An unreadable record never reached the read models, so it was never live either.
      if (!decoded.ok || seen.has(decoded.value.id) || !rawTopicsOfRecord(decoded.value).includes(topic)) continue
      seen.add(decoded.value.id)
      sender.send(connection, rawEventFrame(decoded.value, encodeCursor(replayed), stored.timestamp))
    }
    if (offsetIn(replayed, batch.partition) >= range.to) pending.delete(batch.partition)
  }

  return {
    // A partition with nothing to replay starts where its live frames begin: nothing is read there.
    startOffset: (_topic, partition) => pending.get(partition)?.from ?? Math.max(offsetIn(from, partition), offsetIn(live, partition)),
    take(batch) {
      const range = pending.get(batch.partition)
      if (range !== undefined) send(batch, range)
      return pending.size === 0
    },
    isDone: () => pending.size === 0,
  }
}
