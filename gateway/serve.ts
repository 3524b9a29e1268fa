// The `serve` composition: the log (Kafka or the embedded file), this replica's read-model file, the
// projection runtime folding the log into it, and the gateway serving the WebSocket API from it, in
// one process. The gateway subscribes to the change feed before the fold starts, so it misses no
// commit; stop() closes the sockets first, then stops the fold after its batch in flight, then
// closes the log and the file.
import type { Log } from '../indexer/log/log.ts'
import { topics } from '../indexer/records/topics.ts'
import type { Logger } from '../indexer/runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from '../indexer/runtime/metrics.ts'
import { createReadModelQueries } from '../projections/query/read-model-queries.ts'
import { createProjectionRuntime } from '../projections/runtime/projection-runtime.ts'
import type { ConsumerOffset } from '../projections/store/read-model-store.ts'
import { openReadModelStore } from '../projections/store/sqlite-read-model-store.ts'
import { stateReportOfFile } from '../projections/store/state-hash-worker.ts'
import type { ConnectionContext } from './channels/connection-context.ts'
import type { ServeConfig } from './config.ts'
import { createGateway, type Gateway, type GatewayOptions } from './gateway.ts'
import { defaultDashboardDir } from './http/dashboard-files.ts'
import type { WsHandlers, WsTransport, WsTransportLimits } from './transport/ws-transport.ts'
import { createUwsTransport } from './uws/uws-transport.ts'
import { openConfiguredLog } from '../indexer/log/open-log.ts'

export interface ServeDeps {
  readonly logger: Logger
  readonly metrics?: MetricsRegistry
  /** Default: uWebSockets.js with the configured limits. */
  readonly transport?: (handlers: WsHandlers<ConnectionContext>, limits: WsTransportLimits) => WsTransport
  readonly now?: () => number
  /**
   * A log opened by the caller, closed by the caller: one embedded log shared with an indexer in the
   * same process wakes this consumer on each append instead of at its next poll of the file.
   */
  readonly log?: Log
}

export interface Serve {
  /** Listens, then folds until stop(); rejects when the fold stops on an error. */
  run(): Promise<void>
  /** Safe to call more than once, and before run(). */
  stop(): Promise<void>
  /** The port bound; 0 before run() has started listening. */
  port(): number
}

/** The port is taken (or another listen failure) before the fold started. */
export class ServeListenError extends Error {
  override readonly name = 'ServeListenError'
  constructor(host: string, port: number, options?: ErrorOptions) {
    super(`cannot listen on ${host}:${port}`, options)
  }
}

export function transportLimits(config: ServeConfig): WsTransportLimits {
  return {
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxPayloadBytes: config.maxPayloadBytes,
    maxBackpressureBytes: config.maxBackpressureBytes,
    idleTimeoutSeconds: config.idleTimeoutSeconds,
    maxClientFramesPerWindow: config.maxClientFramesPerWindow,
    floodWindowMs: config.floodWindowMs,
  }
}

export function gatewayOptions(config: ServeConfig): GatewayOptions {
  return {
    intervals: {
      pricesMs: config.pricesIntervalMs,
      positionsMs: config.positionsIntervalMs,
      liquidationsMs: config.liquidationsIntervalMs,
      marketStatsMs: config.marketStatsIntervalMs,
    },
    warningRepeatMs: config.warningRepeatSeconds * 1000,
    liquidationAlertLimit: config.liquidationAlertLimit,
    resume: { bufferFrames: config.replayBufferFrames, timeoutMs: config.replayTimeoutMs, highWaterBytes: Math.floor(config.maxBackpressureBytes / 2) },
    eventsTopic: topics.events,
    groupId: config.groupId,
    dashboardDir: defaultDashboardDir,
  }
}

/** Every partition's end offset of the topics that exist now: what /readyz waits for. */
async function endOffsetsNow(log: Log, names: readonly string[]): Promise<ConsumerOffset[]> {
  const targets: ConsumerOffset[] = []
  for (const topic of names) {
    if ((await log.partitionCount(topic)) === undefined) continue
    const ends = await log.endOffsets(topic)
    ends.forEach((next_offset, partition) => targets.push({ topic, partition, next_offset }))
  }
  return targets
}

export function createServe(config: ServeConfig, deps: ServeDeps): Serve {
  const logger = deps.logger.child({ component: 'serve' })
  const metrics = deps.metrics ?? createMetricsRegistry()
  const log = deps.log ?? openConfiguredLog(config, `perp-serve-${config.groupId}`, logger)
  const store = openReadModelStore({ path: config.readModelPath })
  const state: { gateway?: Gateway; port: number; running?: Promise<void>; stopped?: Promise<void> } = { port: 0 }
  const onCommit = (offset: ConsumerOffset): void => state.gateway?.onCommit(offset)
  const runtime = createProjectionRuntime({ log, store, groupId: config.groupId, logger, metrics, onCommit })
  // Before the gateway subscribes to the feed: the candidates' index must be current when it reads.
  const queries = createReadModelQueries(store.db, runtime.changes)
  const makeTransport = deps.transport ?? ((handlers, limits) => createUwsTransport(handlers, limits, { logger, metrics }))

  function startGateway(readyAt: readonly ConsumerOffset[]): Gateway {
    return createGateway({
      transport: (handlers) => makeTransport(handlers, transportLimits(config)),
      queries,
      // The hash is computed off this thread, which serves the sockets (state-hash-worker.ts).
      projection: { changes: runtime.changes, offsets: () => runtime.offsets(), stateReport: () => stateReportOfFile(config.readModelPath) },
      readyAt,
      log,
      logger,
      metrics,
      ...(deps.now === undefined ? {} : { now: deps.now }),
      options: gatewayOptions(config),
    })
  }

  async function run(): Promise<void> {
    if (state.stopped !== undefined) return
    const readyAt = await endOffsetsNow(log, [topics.events, topics.ticks])
    if (state.stopped !== undefined) return
    const gateway = startGateway(readyAt)
    state.gateway = gateway
    try {
      state.port = await gateway.listen(config.host, config.port)
    } catch (error) {
      throw new ServeListenError(config.host, config.port, { cause: error })
    }
    logger.info('serving', { host: config.host, port: state.port, readModelPath: config.readModelPath, log: log.backend })
    if (state.stopped !== undefined) return
    state.running = runtime.run()
    await state.running
  }

  async function stop(): Promise<void> {
    state.stopped ??= (async () => {
      await state.gateway?.stop()
      await runtime.stop()
      await state.running?.catch(() => undefined)
      queries.close()
      if (deps.log === undefined) await log.close()
      store.close()
    })()
    await state.stopped
  }

  return { run, stop, port: () => state.port }
}
