// The open sockets the channels serve, by path kind and subject: what the timers iterate, what
// /api/v1/ws/stats counts, and the connections gauge of /metrics.
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { PathKind, StatsResponse } from '../protocol/messages.ts'
import { subjectOf } from '../protocol/paths.ts'
import type { GatewayConnection } from './connection-context.ts'

export interface ConnectionRegistry {
  add(connection: GatewayConnection): void
  /** Removes the connection if it was added; false otherwise. */
  remove(connection: GatewayConnection): boolean
  /** The subjects of a kind with their open sockets ("" for the paths without a subject). */
  subjects(kind: PathKind): ReadonlyMap<string, ReadonlySet<GatewayConnection>>
  /** Sockets on one subject. */
  count(kind: PathKind, subject: string): number
  stats(): StatsResponse
}

const kinds: readonly PathKind[] = ['prices', 'positions', 'liquidations', 'market-stats', 'events']

export function createConnectionRegistry(metrics: MetricsRegistry): ConnectionRegistry {
  const gauge = metrics.gauge('gateway_connections', 'Open WebSocket connections served by a channel, by path type')
  const byKind = new Map<PathKind, Map<string, Set<GatewayConnection>>>(kinds.map((k) => [k, new Map()]))
  const members = new Set<GatewayConnection>()
  const tableOf = (kind: PathKind): Map<string, Set<GatewayConnection>> => byKind.get(kind) ?? new Map()
  const sizeOf = (kind: PathKind): number => [...tableOf(kind).values()].reduce((n, set) => n + set.size, 0)

  return {
    add(connection) {
      if (members.has(connection)) return
      const { route } = connection.context
      const table = tableOf(route.kind)
      const subject = subjectOf(route) ?? ''
      table.set(subject, (table.get(subject) ?? new Set()).add(connection))
      members.add(connection)
      gauge.inc({ type: route.kind })
    },
    remove(connection) {
      if (!members.delete(connection)) return false
      const { route } = connection.context
      const table = tableOf(route.kind)
      const subject = subjectOf(route) ?? ''
      const set = table.get(subject)
      set?.delete(connection)
      if (set?.size === 0) table.delete(subject)
      gauge.dec({ type: route.kind })
      return true
    },
    subjects: tableOf,
    count: (kind, subject) => tableOf(kind).get(subject)?.size ?? 0,
    // user_connections and market_connections count distinct users and markets followed, beside
    // by_type's sockets: several tabs of one user are one user.
    stats: () => ({
      success: true,
      data: {
        total_connections: members.size,
        by_type: {
          prices: sizeOf('prices'),
          positions: sizeOf('positions'),
          liquidations: sizeOf('liquidations'),
          events: sizeOf('events'),
          'market-stats': sizeOf('market-stats'),
        },
        user_connections: tableOf('positions').size,
        market_connections: new Set([...tableOf('prices').keys(), ...tableOf('market-stats').keys()]).size,
      },
    }),
  }
}
