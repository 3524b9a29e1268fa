// Liveness of an open connection. A peer that vanished without a TCP reset leaves a socket that
// looks open for minutes, and some paths are quiet for long (events, liquidations), so silence is
// first answered with a ping (the server answers pong) and only then taken as a dead connection.

export interface HeartbeatPolicy {
  /** After this long without a frame, the client sends {"type":"ping"}. */
  readonly idleMs: number
  /**
   * After this long without a frame, the connection is taken as dead and replaced; this also
   * bounds how long an opening handshake may take.
   */
  readonly timeoutMs: number
}

export const defaultHeartbeat: HeartbeatPolicy = { idleMs: 20_000, timeoutMs: 45_000 }

export interface HeartbeatActions {
  /** Sends a ping; called at most once per silence. */
  ping(): void
  /** The connection has been silent for timeoutMs; called once, after which the heartbeat stops. */
  timeout(): void
}

export interface Heartbeat {
  /** A frame arrived: the silence is over. */
  beat(): void
  stop(): void
}

export function startHeartbeat(policy: HeartbeatPolicy, actions: HeartbeatActions): Heartbeat {
  let lastFrameAt = Date.now()
  let pinged = false
  const timer = setInterval(
    () => {
      const silentMs = Date.now() - lastFrameAt
      if (silentMs >= policy.timeoutMs) {
        clearInterval(timer)
        actions.timeout()
      } else if (silentMs >= policy.idleMs && !pinged) {
        pinged = true
        actions.ping()
      }
    },
    // A quarter of the shorter period bounds how late a ping or a timeout can be.
    Math.max(5, Math.min(policy.idleMs, policy.timeoutMs) / 4),
  )
  return {
    beat() {
      lastFrameAt = Date.now()
      pinged = false
    },
    stop: () => clearInterval(timer),
  }
}
