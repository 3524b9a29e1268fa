// The open connections of one transport, and the caps decided from them at the upgrade: in total and
// per peer address. Counts change only when a socket opens or closes, and an address whose count
// drops to zero is forgotten, so the registry never holds more than the open sockets.
import type { WsTransportLimits } from '../transport/ws-transport.ts'

interface Peer {
  readonly ip: string
}

export interface Refusal {
  readonly status: number
  readonly body: string
}

export interface ConnectionRegistry<T extends Peer> {
  /** Why a new socket from `ip` would go over a cap, or undefined when it may open. */
  refusal(ip: string): Refusal | undefined
  add(connection: T): void
  remove(connection: T): void
  all(): readonly T[]
}

const tooMany: Refusal = { status: 503, body: 'too many connections' }
const tooManyFromPeer: Refusal = { status: 429, body: 'too many connections from this address' }

export function createConnectionRegistry<T extends Peer>(
  limits: Pick<WsTransportLimits, 'maxConnections' | 'maxConnectionsPerIp'>,
): ConnectionRegistry<T> {
  const open = new Set<T>()
  const perIp = new Map<string, number>()
  return {
    refusal(ip) {
      if (open.size >= limits.maxConnections) return tooMany
      if ((perIp.get(ip) ?? 0) >= limits.maxConnectionsPerIp) return tooManyFromPeer
      return undefined
    },
    add(connection) {
      open.add(connection)
      perIp.set(connection.ip, (perIp.get(connection.ip) ?? 0) + 1)
    },
    remove(connection) {
      if (!open.delete(connection)) return
      const left = (perIp.get(connection.ip) ?? 1) - 1
      if (left === 0) perIp.delete(connection.ip)
      else perIp.set(connection.ip, left)
    },
    all: () => [...open],
  }
}
