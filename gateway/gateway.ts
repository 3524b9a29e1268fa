// The gateway: the WebSocket handlers over the channels, the raw-event fanout on the projection's
// change feed, resume by cursor, the HTTP routes and the snapshot timers. The transport is built
// from the handlers by the factory it is given (uWebSockets.js in serve, a fake in unit tests).
import type { Log } from '../indexer/log/log.ts'
import type { Logger } from '../indexer/runtime/logger.ts'
import type { MetricsRegistry } from '../indexer/runtime/metrics.ts'
import type { ReadModelQueries } from '../projections/query/read-model-queries.ts'
import type { ChangeFeed } from '../projections/runtime/change-feed.ts'
import type { ConsumerOffset, StateReport } from '../projections/store/read-model-store.ts'
import type { Channel, ChannelDeps } from './channels/channel.ts'
import { createConnectionRegistry, type ConnectionRegistry } from './channels/connection-registry.ts'
import type { ConnectionContext } from './channels/connection-context.ts'
import { createEventsChannel } from './channels/events-channel.ts'
import { createFrameSender } from './channels/frame-sender.ts'
import { createLiquidationsChannel } from './channels/liquidations-channel.ts'
import { createMarketStatsChannel } from './channels/market-stats-channel.ts'
import { createPositionsChannel } from './channels/positions-channel.ts'
import { createPricesChannel } from './channels/prices-channel.ts'
import { createRawEventFanout } from './channels/raw-event-fanout.ts'
import { createRawSubscriptions } from './channels/raw-subscriptions.ts'
import type { ResumeOptions } from './channels/resume.ts'
import { createHttpRoutes, type HttpRoutes } from './http/http-routes.ts'
import { createReadiness } from './http/readiness.ts'
import type { EventPosition } from './protocol/cursor.ts'
import type { PathKind } from './protocol/messages.ts'
import { createWsHandlers } from './channels/ws-handlers.ts'
import type { WsHandlers, WsTransport } from './transport/ws-transport.ts'

export interface GatewayIntervals {
  readonly pricesMs: number
  readonly positionsMs: number
  readonly liquidationsMs: number
  readonly marketStatsMs: number
}

export interface GatewayOptions {
  readonly intervals: GatewayIntervals
  readonly warningRepeatMs: number
  readonly liquidationAlertLimit: number
  readonly resume: ResumeOptions
  /** perp.events.v1: the topic raw events and their cursors come from. */
  readonly eventsTopic: string
  /** Base of the replay consumers' group ids. */
  readonly groupId: string
  readonly dashboardDir: string
}

/** What the gateway needs of the projection runtime. */
export interface ProjectionState {
  readonly changes: ChangeFeed
  /** The committed consumer offsets. */
  offsets(): ConsumerOffset[]
  /** The committed read models' hash and the offsets it is the state of, read together. */
  stateReport(): StateReport | Promise<StateReport>
}

export interface GatewayDeps {
  readonly transport: (handlers: WsHandlers<ConnectionContext>) => WsTransport
  readonly queries: ReadModelQueries
  readonly projection: ProjectionState
  /** The log's end offsets when the process started: /readyz waits for the projection to reach them. */
  readonly readyAt: readonly ConsumerOffset[]
  readonly log: Log
  readonly options: GatewayOptions
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  readonly now?: () => number
}

export interface Gateway {
  /** Starts the timers and listens; resolves with the port bound. */
  listen(host: string, port: number): Promise<number>
  /** Stops the timers, the replays and the change-feed listener, and closes every socket. */
  stop(): Promise<void>
  /** The projection runtime's onCommit: every committed batch, changed or not. */
  onCommit(offset: ConsumerOffset): void
}

function startTimers(channels: ReadonlyMap<PathKind, Channel>, intervals: GatewayIntervals, logger: Logger): NodeJS.Timeout[] {
  const every: readonly [PathKind, number][] = [
    ['prices', intervals.pricesMs],
    ['positions', intervals.positionsMs],
    ['liquidations', intervals.liquidationsMs],
    ['market-stats', intervals.marketStatsMs],
  ]
  return every.map(([kind, ms]) => {
    const tick = (): void => {
      try {
        channels.get(kind)?.tick()
      } catch (error) {
        logger.error('snapshot tick failed', { kind, error: error instanceof Error ? error : String(error) })
      }
    }
    return setInterval(tick, ms).unref()
  })
}

function createChannels(deps: ChannelDeps, options: GatewayOptions): Map<PathKind, Channel> {
  return new Map<PathKind, Channel>([
    ['prices', createPricesChannel(deps)],
    ['positions', createPositionsChannel(deps, { warningRepeatMs: options.warningRepeatMs })],
    ['liquidations', createLiquidationsChannel(deps, { limit: options.liquidationAlertLimit })],
    ['market-stats', createMarketStatsChannel(deps)],
    ['events', createEventsChannel(deps)],
  ])
}

/** The events topic's committed next offsets, by partition (0 where none is stored). */
function committedEventPosition(offsets: readonly ConsumerOffset[], eventsTopic: string): EventPosition {
  const position: number[] = []
  for (const o of offsets) if (o.topic === eventsTopic) position[o.partition] = o.next_offset
  return Array.from(position, (o) => o ?? 0)
}

function httpRoutes(deps: GatewayDeps, registry: ConnectionRegistry): HttpRoutes {
  const { projection } = deps
  return createHttpRoutes({
    stats: registry.stats,
    readiness: createReadiness(deps.readyAt, () => projection.offsets()),
    metrics: () => deps.metrics.render(),
    stateHash: async () => {
      const report = await projection.stateReport()
      return { state_hash: report.stateHash, offsets: report.offsets }
    },
    dashboardDir: deps.options.dashboardDir,
  })
}

export function createGateway(deps: GatewayDeps): Gateway {
  const { options, metrics, projection } = deps
  const logger = deps.logger.child({ component: 'gateway' })
  const now = deps.now ?? Date.now
  const state: { transport?: WsTransport; timers: NodeJS.Timeout[] } = { timers: [] }
  const sender = createFrameSender({ metrics, publish: (topic, text) => state.transport?.publish(topic, text) })
  const registry = createConnectionRegistry(metrics)
  const channels = createChannels({ queries: deps.queries, sender, registry, logger, now }, options)
  const fanout = createRawEventFanout({
    eventsTopic: options.eventsTopic,
    initialPosition: committedEventPosition(projection.offsets(), options.eventsTopic),
    sender,
    receivers: (topic) => raw.liveCount(topic),
    logger,
    now,
  })
  const raw = createRawSubscriptions({ log: deps.log, eventsTopic: options.eventsTopic, groupId: options.groupId, fanout, sender, logger, options: options.resume })
  const unsubscribe = projection.changes.subscribe(fanout.onChange)
  const transport = deps.transport(createWsHandlers({ channels, registry, sender, raw, http: httpRoutes(deps, registry) }))
  state.transport = transport

  return {
    async listen(host, port) {
      const bound = await transport.listen(host, port)
      state.timers = startTimers(channels, options.intervals, logger)
      return bound
    },
    onCommit: fanout.onCommit,
    async stop() {
      for (const timer of state.timers) clearInterval(timer)
      state.timers = []
      unsubscribe()
      raw.cancelAll()
      await transport.close()
    },
  }
}
