// The live half of a resume (resume.ts): the socket's live frames are held while its replay runs,
// then flushed, and the socket subscribes to its topic in the same synchronous step, so no frame
// falls between the replay and the subscription, and none comes twice. A cursor ahead of this
// replica's position (from a replica further along) keeps the socket here, its live frames below the
// cursor skipped, until the position passes the cursor; only then does it subscribe.
import { maxPosition, offsetIn, withOffset, type EventPosition } from '../protocol/cursor.ts'
import type { GatewayConnection } from './connection-context.ts'
import type { FrameSender } from './frame-sender.ts'
import type { PublishedFrame, RawEventFanout } from './raw-event-fanout.ts'

export interface LiveHandoverSpec {
  readonly connection: GatewayConnection
  readonly topic: string
  /** The client's cursor. */
  readonly from: EventPosition
  readonly fanout: RawEventFanout
  readonly sender: FrameSender
  /** Most frames held; one more makes open() fail. */
  readonly bufferFrames: number
  /** Runs once the socket is subscribed to its topic. */
  readonly onLive: () => void
}

export interface LiveHandover {
  /** Sends the held frames and goes live; false (nothing sent) when more arrived than could be held. */
  open(): boolean
  /** Stops holding or forwarding frames (the socket closed, or went live). */
  release(): void
}

/**
 * Whether the socket has caught up with its cursor: the pushed position, or, while a frame is being
 * published, the position just after that frame (its cursor's: the fanout may already count the
 * rest of the frame's batch), reaches the cursor in every partition.
 */
function reached(position: EventPosition, cursor: EventPosition, frame?: PublishedFrame): boolean {
  const at = frame === undefined ? position : withOffset(position, frame.partition, frame.offset + 1)
  return cursor.every((offset, partition) => offsetIn(at, partition) >= offset)
}

/** Starts holding the topic's live frames now: call it in the same synchronous step as reading the live position. */
export function createLiveHandover(spec: LiveHandoverSpec): LiveHandover {
  const { connection, topic, from, fanout, sender } = spec
  // Where the client stands once the replay is done: a frame below it was delivered already.
  const delivered = maxPosition(from, fanout.position())
  const state = { holding: true, overflow: false, held: [] as PublishedFrame[] }

  const send = (frame: PublishedFrame): void => {
    if (frame.offset >= offsetIn(delivered, frame.partition)) sender.sendText(connection, frame.type, frame.text)
  }
  const subscribe = (): void => {
    release()
    connection.subscribe(topic)
    spec.onLive()
  }
  const release = fanout.buffer(topic, {
    push(frame) {
      if (!state.holding) {
        send(frame)
        if (reached(fanout.position(), from, frame)) subscribe()
      } else if (state.held.length < spec.bufferFrames) state.held.push(frame)
      else state.overflow = true
    },
  })

  return {
    open() {
      if (state.overflow) return false
      state.holding = false
      for (const frame of state.held.splice(0)) send(frame)
      if (reached(fanout.position(), from)) subscribe()
      return true
    },
    release,
  }
}
