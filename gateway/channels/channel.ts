// A channel serves one path kind: on open it sends the connected frame and the first snapshot (a
// client never waits an interval for its first data), and each tick it publishes a snapshot per
// subject that has sockets. The gateway owns the timers and calls tick().
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { ReadModelQueries } from '../../projections/query/read-model-queries.ts'
import type { GatewayConnection } from './connection-context.ts'
import type { ConnectionRegistry } from './connection-registry.ts'
import type { FrameSender } from './frame-sender.ts'

export type OpenResult = { readonly ok: true } | { readonly ok: false; readonly code: string; readonly message: string }

export interface Channel {
  /** Sends the connected frame and the first snapshot, or refuses (the gateway sends the error and closes). */
  open(connection: GatewayConnection): OpenResult
  close(connection: GatewayConnection): void
  tick(): void
}

export interface ChannelDeps {
  readonly queries: ReadModelQueries
  readonly sender: FrameSender
  readonly registry: ConnectionRegistry
  readonly logger: Logger
  /** Milliseconds since the epoch. */
  readonly now: () => number
}

export const accepted: OpenResult = { ok: true }

export function unknownMarket(marketId: string): OpenResult {
  return { ok: false, code: 'unknown_market', message: `no market ${JSON.stringify(marketId.slice(0, 100))} is listed` }
}
