// Resume by cursor: a socket that connects with ?from=<cursor> first gets the raw events it missed,
// read again from perp.events.v1, then goes live, with no gap and no duplicate:
//
// 1. At open, the fanout's pushed position L is taken and the socket's live frames start going into
//    a buffer (synchronously, so no frame falls between the two).
// 2. [cursor, L) is replayed from the log per partition, filtered to the path's subject. Every
//    replayed frame carries the replay's own position as its cursor, so a socket dropped mid-replay
//    resumes from where the replay had got to.
// 3. Once every partition reached L, the buffer is flushed and the socket subscribes to the live
//    topic, in one synchronous step (live-handover.ts, which also handles a cursor ahead of L).
//
// The replay sends what the log holds for the subject. A record the fold skipped as inapplicable (a
// close of a position the log never opened) is replayed although it was never live; a record the
// log holds twice is replayed once (by record id).
import type { Log, LogConsumer, RecordBatch } from '../../indexer/log/log.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { EventPosition } from '../protocol/cursor.ts'
import { errorFrame } from '../protocol/frames.ts'
import type { GatewayConnection } from './connection-context.ts'
import type { FrameSender } from './frame-sender.ts'
import { createLiveHandover } from './live-handover.ts'
import type { RawEventFanout } from './raw-event-fanout.ts'
import { createReplay } from './replay.ts'

export interface ResumeOptions {
  /** Live frames held for one socket during its replay; more closes it (1013: reconnect later). */
  readonly bufferFrames: number
  /** A replay not done by then closes the socket (1013). */
  readonly timeoutMs: number
  /** The replay waits while the socket has more than this buffered. */
  readonly highWaterBytes: number
}

export interface ResumeDeps {
  readonly log: Log
  readonly eventsTopic: string
  /** Base of the replay consumers' groups; each replay has a group of its own. */
  readonly groupId: string
  readonly fanout: RawEventFanout
  readonly sender: FrameSender
  readonly logger: Logger
  readonly options: ResumeOptions
}

export interface Resume {
  /** Stops the replay (the socket closed); nothing more is sent. */
  cancel(): void
}

const CLOSE_TRY_AGAIN_LATER = 1013
const CLOSE_INTERNAL = 1011

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

/**
 * Starts replaying [from, live) of `topic` to the socket; `onLive` runs once it is subscribed live.
 * The caller has already sent the path's connected frame and first snapshot.
 */
export function startResume(connection: GatewayConnection, topic: string, from: EventPosition, deps: ResumeDeps, onLive: () => void): Resume {
  const { sender, options } = deps
  const replay = createReplay({ connection, topic, from, live: deps.fanout.position(), sender })
  const handover = createLiveHandover({ connection, topic, from, fanout: deps.fanout, sender, bufferFrames: options.bufferFrames, onLive })
  const state = { replaying: true, consumer: undefined as LogConsumer | undefined }
  const timer = setTimeout(() => abort('replay_timeout', 'the replay took too long; reconnect with the last cursor', CLOSE_TRY_AGAIN_LATER), options.timeoutMs).unref()

  function stopReplay(): void {
    state.replaying = false
    clearTimeout(timer)
    void state.consumer?.stop().catch(() => undefined)
  }

  function end(): void {
    stopReplay()
    handover.release()
  }

  function abort(code: string, message: string, closeCode: number): void {
    end()
    if (!connection.isOpen()) return
    sender.send(connection, errorFrame(code, message))
    connection.close(closeCode, code)
  }

  function goLive(): void {
    stopReplay()
    if (!handover.open()) abort('replay_overflow', 'too many events arrived during the replay; reconnect with the last cursor', CLOSE_TRY_AGAIN_LATER)
  }

  async function onBatch(batch: RecordBatch): Promise<void> {
    if (!state.replaying) return
    if (!connection.isOpen()) return end()
    if (replay.take(batch)) return goLive()
    while (state.replaying && connection.isOpen() && connection.bufferedAmount() > options.highWaterBytes) await sleep(10)
  }

  if (replay.isDone()) {
    goLive()
    return { cancel: end }
  }
  state.consumer = deps.log.consume({
    topics: [deps.eventsTopic],
    groupId: `${deps.groupId}.replay.${connection.id}.${Date.now()}`,
    from: replay.startOffset,
    onBatch,
  })
  state.consumer.done.catch((error: unknown) => {
    if (!state.replaying) return
    deps.logger.warn('replay failed', { connection: connection.id, error: error instanceof Error ? error : String(error) })
    abort('replay_failed', 'the events could not be read again; reconnect with the last cursor', CLOSE_INTERNAL)
  })
  return { cancel: end }
}
