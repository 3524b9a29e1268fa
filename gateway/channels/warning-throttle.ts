// Liquidation warnings repeat at most once per interval per position and socket: a position that
// stays at risk is announced on connect and then every `repeatMs`, not on every positions tick.
export interface WarningThrottle {
  /** True (and remembered) when this socket may be warned about this position at `nowMs`. */
  allow(connectionId: number, positionId: string, nowMs: number): boolean
  forget(connectionId: number): void
}

export function createWarningThrottle(repeatMs: number): WarningThrottle {
  const lastWarned = new Map<number, Map<string, number>>()
  return {
    allow(connectionId, positionId, nowMs) {
      const positions = lastWarned.get(connectionId) ?? new Map<string, number>()
      const last = positions.get(positionId)
      if (last !== undefined && nowMs - last < repeatMs) return false
      positions.set(positionId, nowMs)
      lastWarned.set(connectionId, positions)
      return true
    },
    forget(connectionId) {
      lastWarned.delete(connectionId)
    },
  }
}
