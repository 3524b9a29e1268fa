// liquidations: connected, then liquidation_alert every interval (the first at once): the open
// positions at risk, least healthy first, at most `limit` of them.
import { liquidationAlertFrame, liquidationsConnectedFrame } from '../protocol/frames.ts'
import { accepted, type Channel, type ChannelDeps } from './channel.ts'
import { snapshotTopic } from './topics.ts'

export interface LiquidationsChannelOptions {
  /** Most candidates in one alert. */
  readonly limit: number
}

const TOPIC = snapshotTopic('liquidations', '')

export function createLiquidationsChannel(deps: ChannelDeps, options: LiquidationsChannelOptions): Channel {
  const { queries, sender, registry, now } = deps
  const alert = () => liquidationAlertFrame(queries.liquidationCandidates({ limit: options.limit }), now())
  return {
    open(connection) {
      sender.send(connection, liquidationsConnectedFrame())
      sender.send(connection, alert())
      connection.subscribe(TOPIC)
      return accepted
    },
    close: () => undefined,
    tick() {
      const sockets = registry.count('liquidations', '')
      if (sockets > 0) sender.publish(TOPIC, alert(), sockets)
    },
  }
}
