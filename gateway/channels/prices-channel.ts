// prices/{market_id}: connected, then price_update every interval (the first at once). A market
// without a tick yet gets no price_update until its first one: no price is ever made up.
import { priceConnectedFrame, priceUpdateFrame } from '../protocol/frames.ts'
import { accepted, unknownMarket, type Channel, type ChannelDeps } from './channel.ts'
import { snapshotTopic } from './topics.ts'

export function createPricesChannel(deps: ChannelDeps): Channel {
  const { queries, sender, registry, now } = deps
  return {
    open(connection) {
      const { route } = connection.context
      if (route.kind !== 'prices') throw new TypeError(`prices channel got a ${route.kind} socket`)
      const market = queries.market(route.marketId)
      if (market === undefined) return unknownMarket(route.marketId)
      sender.send(connection, priceConnectedFrame(market))
      const update = priceUpdateFrame(market, now())
      if (update !== undefined) sender.send(connection, update)
      connection.subscribe(snapshotTopic('prices', route.marketId))
      return accepted
    },
    close: () => undefined,
    tick() {
      const subjects = registry.subjects('prices')
      if (subjects.size === 0) return
      const at = now()
      for (const market of queries.markets()) {
        const sockets = subjects.get(market.market_id)?.size ?? 0
        const update = sockets === 0 ? undefined : priceUpdateFrame(market, at)
        if (update !== undefined) sender.publish(snapshotTopic('prices', market.market_id), update, sockets)
      }
    },
  }
}
