// market-stats/{market_id}: connected, then market_stats every interval (the first at once), and
// funding_rate_update as each is folded (raw-event-fanout.ts). market_stats needs a price and a
// funding update time; before the market has both, only the raw events flow.
import { marketStatsConnectedFrame, marketStatsFrame } from '../protocol/frames.ts'
import { accepted, unknownMarket, type Channel, type ChannelDeps } from './channel.ts'
import { snapshotTopic } from './topics.ts'

export function createMarketStatsChannel(deps: ChannelDeps): Channel {
  const { queries, sender, registry, now } = deps
  return {
    open(connection) {
      const { route } = connection.context
      if (route.kind !== 'market-stats') throw new TypeError(`market-stats channel got a ${route.kind} socket`)
      const market = queries.market(route.marketId)
      if (market === undefined) return unknownMarket(route.marketId)
      sender.send(connection, marketStatsConnectedFrame(market))
      const stats = marketStatsFrame(market, now())
      if (stats !== undefined) sender.send(connection, stats)
      connection.subscribe(snapshotTopic('market-stats', route.marketId))
      return accepted
    },
    close: () => undefined,
    tick() {
      const subjects = registry.subjects('market-stats')
      if (subjects.size === 0) return
      const at = now()
      for (const market of queries.markets()) {
        const sockets = subjects.get(market.market_id)?.size ?? 0
        const stats = sockets === 0 ? undefined : marketStatsFrame(market, at)
        if (stats !== undefined) sender.publish(snapshotTopic('market-stats', market.market_id), stats, sockets)
      }
    },
  }
}
