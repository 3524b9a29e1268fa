// What each socket carries for its life, decided at the upgrade from the path and the query.
import type { WsConnection } from '../transport/ws-transport.ts'
import type { EventPosition } from '../protocol/cursor.ts'
import type { Route } from '../protocol/paths.ts'

export interface ConnectionContext {
  readonly route: Route
  /** The parsed ?from= cursor: replay from there before going live. Undefined: live only. */
  readonly resumeFrom: EventPosition | undefined
  /** Why ?from= was refused; open() then sends an error frame and closes with 1008. */
  readonly cursorError: string | undefined
}

export type GatewayConnection = WsConnection<ConnectionContext>
