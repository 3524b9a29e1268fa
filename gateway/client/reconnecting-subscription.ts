// One subscription to one path: a WebSocket that is reopened after every close the user did not
// ask for, with exponential backoff and jitter, resuming after the last raw event it delivered.
//
// Invariants:
// - at most one socket is current; events of a socket that is no longer current are ignored, so a
//   late close of a replaced socket cannot schedule a second reconnect;
// - the cursor is taken only from raw-event frames that were validated and then delivered, so
//   ?from=<cursor> asks for exactly what onMessage has not seen;
// - after close() nothing is delivered and nothing is scheduled;
// - a connection, from its first byte to its end, that stays silent past the heartbeat timeout is
//   replaced, whether it is a dead peer or a handshake that never completes.
import type { FrameOf, PathKind } from '../protocol/messages.ts'
import type { BackoffPolicy } from './backoff.ts'
import { reconnectDelayMs } from './backoff.ts'
import type { InvalidFrameError } from './client-errors.ts'
import type { Heartbeat, HeartbeatPolicy } from './heartbeat.ts'
import { startHeartbeat } from './heartbeat.ts'
import type { UnknownFrame } from './parse-frame.ts'
import { createFrameParser } from './parse-frame.ts'
import type { CloseEventLike, WebSocketConstructor, WebSocketLike } from './web-socket-like.ts'
import { webSocketOpen } from './web-socket-like.ts'

/** The frames handed to onMessage: `pong` answers the client's own pings and is consumed by it. */
export type ClientFrameOf<P extends PathKind> = Exclude<FrameOf<P>, { readonly type: 'pong' }>

export interface OpenEvent {
  readonly url: string
  /** The cursor the server was asked to resume after, if any. */
  readonly resumedFrom: string | undefined
}

export interface DisconnectEvent {
  /** The WebSocket close code; 4000 when the client gave up on a silent connection. */
  readonly code: number
  readonly reason: string
  /**
   * Consecutive attempts that have failed since the last successful connection, this one included.
   * A connection is successful once it delivered a frame other than an error.
   */
  readonly attempt: number
  /** When the next connection attempt starts. */
  readonly reconnectInMs: number
}

export interface SubscriptionHandlers<P extends PathKind> {
  onMessage(frame: ClientFrameOf<P>): void
  /** A frame that failed validation; it was not delivered. Never thrown. */
  onInvalid?(error: InvalidFrameError): void
  /** A frame of a type this client does not know (a newer server); ignored unless handled here. */
  onUnknown?(frame: UnknownFrame): void
  onOpen?(event: OpenEvent): void
  onDisconnect?(event: DisconnectEvent): void
}

export interface Subscription {
  /** Closes the socket for good: no further frames, no reconnect. Idempotent. */
  close(): void
  /** The cursor of the last raw-event frame delivered (or the one given as `from`). */
  cursor(): string | undefined
}

export interface ReconnectingSubscriptionDeps<P extends PathKind> {
  readonly path: P
  /** The URL to open, resuming after `cursor` when there is one. */
  readonly url: (cursor: string | undefined) => string
  readonly WebSocket: WebSocketConstructor
  readonly backoff: BackoffPolicy
  readonly heartbeat: HeartbeatPolicy | false
  readonly random: () => number
  readonly from: string | undefined
  readonly handlers: SubscriptionHandlers<P>
}

const heartbeatTimeoutCode = 4000
const userCloseCode = 1000

export function createReconnectingSubscription<P extends PathKind>(deps: ReconnectingSubscriptionDeps<P>): Subscription {
  const { handlers, heartbeat } = deps
  const parse = createFrameParser(deps.path)
  let cursor = deps.from
  let current: WebSocketLike | undefined
  let failedAttempts = 0
  let closed = false
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined
  let liveness: Heartbeat | undefined

  function receive(data: unknown): void {
    liveness?.beat()
    const parsed = parse(data)
    if (parsed.kind === 'invalid') return handlers.onInvalid?.(parsed.error)
    if (parsed.kind === 'unknown') return handlers.onUnknown?.(parsed.frame)
    const { frame } = parsed
    // The gateway refuses a request (unknown market, malformed cursor) with an error frame and a
    // close, so only a frame that is not an error proves the connection good and resets the backoff.
    if (frame.type !== 'error') failedAttempts = 0
    if (frame.type === 'pong') return
    if ('cursor' in frame) cursor = frame.cursor
    handlers.onMessage(frame as ClientFrameOf<P>)
  }

  function watch(socket: WebSocketLike, policy: HeartbeatPolicy): Heartbeat {
    return startHeartbeat(policy, {
      ping: () => {
        if (socket.readyState === webSocketOpen) socket.send(JSON.stringify({ type: 'ping' }))
      },
      timeout: () => {
        // A dead peer may never finish the closing handshake, so the socket is dropped now rather
        // than after its close event.
        drop({ code: heartbeatTimeoutCode, reason: `no frame for ${policy.timeoutMs} ms` })
        socket.close(heartbeatTimeoutCode, 'heartbeat timeout')
      },
    })
  }

  /** Forgets the current socket and schedules the next attempt. */
  function drop(event: CloseEventLike): void {
    current = undefined
    liveness?.stop()
    liveness = undefined
    if (closed) return
    const reconnectInMs = reconnectDelayMs(failedAttempts, deps.backoff, deps.random)
    failedAttempts += 1
    reconnectTimer = setTimeout(connect, reconnectInMs)
    handlers.onDisconnect?.({ code: event.code, reason: event.reason, attempt: failedAttempts, reconnectInMs })
  }

  function connect(): void {
    reconnectTimer = undefined
    if (closed) return
    const url = deps.url(cursor)
    const resumedFrom = cursor
    let socket: WebSocketLike
    try {
      socket = new deps.WebSocket(url)
    } catch (error) {
      return drop({ code: 1006, reason: error instanceof Error ? error.message : String(error) })
    }
    current = socket
    // Watched from the start, so that a handshake that never completes is given up like a silence.
    if (heartbeat !== false) liveness = watch(socket, heartbeat)
    // Errors are always followed by a close event, which is where reconnecting happens; the
    // handler stays installed because ws throws an 'error' event that has no listener.
    socket.onerror = () => {}
    socket.onopen = () => {
      if (socket !== current) return
      liveness?.beat()
      handlers.onOpen?.({ url, resumedFrom })
    }
    socket.onmessage = (event) => {
      if (socket === current && !closed) receive(event.data)
    }
    socket.onclose = (event) => {
      if (socket === current) drop(event)
    }
  }

  connect()
  return {
    close() {
      if (closed) return
      closed = true
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer)
      liveness?.stop()
      const socket = current
      current = undefined
      socket?.close(userCloseCode, 'client closed')
    },
    cursor: () => cursor,
  }
}
