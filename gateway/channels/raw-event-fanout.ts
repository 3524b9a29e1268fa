// The change-feed listener: after each commit of perp.events.v1, every record that changed the read
// models becomes one raw-event frame, built once and published to each path it belongs to
// (topics.ts), with the cursor of the gateway's pushed position just after it. The pushed position
// only moves here, synchronously inside the listener, so at any moment every event below it has been
// published and none at or above it has: the line resume.ts splits replay from live at.
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { EventsTopicRecord } from '../../indexer/records/schemas.ts'
import type { ProjectionChange } from '../../projections/runtime/change-feed.ts'
import type { ConsumerOffset } from '../../projections/store/read-model-store.ts'
import { advancePosition, encodeCursor, withOffset, type EventPosition } from '../protocol/cursor.ts'
import { rawEventFrame } from '../protocol/frames.ts'
import type { FrameSender } from './frame-sender.ts'
import { rawTopicsOfRecord } from './topics.ts'

/** A raw-event frame as published: its place in the log, for the resume buffers to sort out. */
export interface PublishedFrame {
  readonly partition: number
  readonly offset: number
  readonly type: string
  readonly text: string
}

/** A socket replaying the log: it takes the live frames of its topic into a buffer meanwhile. */
export interface FrameBuffer {
  push(frame: PublishedFrame): void
}

export interface RawEventFanout {
  /** The change-feed listener. */
  onChange(change: ProjectionChange): void
  /**
   * Told of every committed batch, changed or not, just before its change (if any) is published:
   * a partition whose records the fold all skipped still moves the position on.
   */
  onCommit(offset: ConsumerOffset): void
  /** Next offset per partition after everything published so far. */
  position(): EventPosition
  /** Diverts the topic's live frames into `buffer` too, until the returned function is called. */
  buffer(topic: string, buffer: FrameBuffer): () => void
}

export interface RawEventFanoutDeps {
  readonly eventsTopic: string
  /** The projection's committed position at start: events below it were folded before this process. */
  readonly initialPosition: EventPosition
  readonly sender: FrameSender
  /** How many sockets are subscribed to a raw topic (for the sent-messages count). */
  readonly receivers: (topic: string) => number
  readonly logger: Logger
  readonly now: () => number
}

export function createRawEventFanout(deps: RawEventFanoutDeps): RawEventFanout {
  const { sender } = deps
  let position = deps.initialPosition
  const buffers = new Map<string, Set<FrameBuffer>>()

  // Every other partition's batches are published whole by now; this partition's position may
  // already be at the batch's end (onCommit runs first), so its component is the record's own.
  function publish(record: EventsTopicRecord, partition: number, offset: number): void {
    const frame = rawEventFrame(record, encodeCursor(withOffset(position, partition, offset + 1)), deps.now())
    const published: PublishedFrame = { partition, offset, type: frame.type, text: JSON.stringify(frame) }
    for (const topic of rawTopicsOfRecord(record)) {
      sender.publishText(topic, frame.type, published.text, deps.receivers(topic))
      for (const buffer of buffers.get(topic) ?? []) buffer.push(published)
    }
  }

  return {
    onChange(change) {
      if (change.topic !== deps.eventsTopic) return
      change.records.forEach((record, index) => {
        const offset = change.offsets[index]
        if (record.type === 'price_tick' || offset === undefined) {
          deps.logger.warn('change of the events topic carries a record without a frame', { type: record.type, offset })
          return
        }
        publish(record, change.partition, offset)
      })
      position = advancePosition(position, change.partition, change.nextOffset)
    },
    onCommit(offset) {
      if (offset.topic === deps.eventsTopic) position = advancePosition(position, offset.partition, offset.next_offset)
    },
    position: () => position,
    buffer(topic, buffer) {
      const set = buffers.get(topic) ?? new Set<FrameBuffer>()
      buffers.set(topic, set.add(buffer))
      return () => {
        set.delete(buffer)
        if (set.size === 0) buffers.delete(topic)
      }
    },
  }
}
