// positions/{user_address}: connected, then positions_update every interval (the first at once),
// liquidation_warning for each position at risk (at most once per repeat interval per position and
// socket), and the user's position events as they are folded (raw-event-fanout.ts).
//
// A position whose market has no price yet (or no listing) has no PnL, health or liquidation
// price: it is left out of positions_update, and out of its total, until its market's first tick.
import type { TraderPositions } from '../../projections/query/read-model-queries.ts'
import { liquidationWarningFrame, positionsConnectedFrame, positionsUpdateFrame } from '../protocol/frames.ts'
import { accepted, type Channel, type ChannelDeps } from './channel.ts'
import type { GatewayConnection } from './connection-context.ts'
import { snapshotTopic } from './topics.ts'
import { createWarningThrottle } from './warning-throttle.ts'

export interface PositionsChannelOptions {
  /** Least time between two warnings about one position on one socket. */
  readonly warningRepeatMs: number
}

function userOf(connection: GatewayConnection): string {
  const { route } = connection.context
  if (route.kind !== 'positions') throw new TypeError(`positions channel got a ${route.kind} socket`)
  return route.userAddress
}

export function createPositionsChannel(deps: ChannelDeps, options: PositionsChannelOptions): Channel {
  const { queries, sender, registry, now } = deps
  const throttle = createWarningThrottle(options.warningRepeatMs)

  function warn(connection: GatewayConnection, positions: TraderPositions, at: number): void {
    for (const view of positions.positions) {
      const warning = liquidationWarningFrame(view, at)
      if (warning !== undefined && throttle.allow(connection.id, view.position_id, at)) sender.send(connection, warning)
    }
  }

  return {
    open(connection) {
      const user = userOf(connection)
      const at = now()
      const positions = queries.openPositionsOf(user)
      sender.send(connection, positionsConnectedFrame(user))
      sender.send(connection, positionsUpdateFrame(user, positions, at))
      warn(connection, positions, at)
      connection.subscribe(snapshotTopic('positions', user))
      return accepted
    },
    close(connection) {
      throttle.forget(connection.id)
    },
    tick() {
      const at = now()
      for (const [user, sockets] of registry.subjects('positions')) {
        const positions = queries.openPositionsOf(user)
        sender.publish(snapshotTopic('positions', user), positionsUpdateFrame(user, positions, at), sockets.size)
        for (const connection of sockets) warn(connection, positions, at)
      }
    },
  }
}
