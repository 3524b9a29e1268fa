// The `projections` command: the projection runtime over the log (Kafka or the embedded file) into
// the read-model file, the snapshot publisher on its change feed, and /metrics, /healthz and
// /state-hash. SIGINT or SIGTERM stops it after the batch in flight; a second signal exits at once.
// Exit codes: 0 stopped, 1 failed, 2 bad configuration.
import type { Log } from '../indexer/log/log.ts'
import { topics } from '../indexer/records/topics.ts'
import { commandMain } from '../indexer/runtime/command-main.ts'
import { startHttpEndpoint, type HttpEndpoint } from '../indexer/runtime/http-endpoint.ts'
import { createLogger, type Logger } from '../indexer/runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from '../indexer/runtime/metrics.ts'
import { parseProjectionsConfig, type ProjectionsConfig } from './config.ts'
import { openConfiguredLog, readModelPathOf } from '../indexer/log/open-log.ts'
import { createProjectionRuntime } from './runtime/projection-runtime.ts'
import { createSnapshotPublisher, type SnapshotPublisher } from './snapshots/snapshot-publisher.ts'
import { openReadModelStore, type SqliteReadModelStore } from './store/sqlite-read-model-store.ts'
import { stateReportOfFile } from './store/state-hash-worker.ts'

const RESYNC_PAGE = 5_000

interface Parts {
  readonly log: Log
  readonly store: SqliteReadModelStore
  readonly logger: Logger
  readonly metrics: MetricsRegistry
}

/** The publisher on the compacted snapshots topic, after its resync; undefined when not publishing. */
async function startPublisher(config: ProjectionsConfig, parts: Parts): Promise<SnapshotPublisher | undefined> {
  if (!config.publishSnapshots) return undefined
  const { log, store, logger, metrics } = parts
  await log.ensureTopics([{ name: topics.snapshots, partitions: config.topicPartitions, compacted: true }])
  const publisher = createSnapshotPublisher({ log, logger, metrics })
  if (config.snapshotResync) {
    const ticks = new Map(store.loadTicks().map((tick) => [tick.market_id, tick]))
    const markets = store.loadMarkets().map((row) => ({ market_id: row.market_id, row, tick: ticks.get(row.market_id) }))
    await publisher.resync({ markets, positionPages: store.positionPages(RESYNC_PAGE) })
  }
  return publisher
}

async function run(config: ProjectionsConfig, logger: Logger): Promise<number> {
  const metrics = createMetricsRegistry()
  const log = openConfiguredLog(config, 'perp-projections', logger)
  let store: SqliteReadModelStore | undefined
  let publisher: SnapshotPublisher | undefined
  let endpoint: HttpEndpoint | undefined
  let stopRequested = false
  let stopRuntime = (): void => undefined
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) process.exit(1)
    logger.info('stopping', { signal })
    stopRequested = true
    stopRuntime()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    store = openReadModelStore({ path: readModelPathOf(config) })
    if (config.deadLetterTopic !== undefined) await log.ensureTopics([{ name: config.deadLetterTopic, partitions: 1 }])
    publisher = await startPublisher(config, { log, store, logger, metrics })
    const runtime = createProjectionRuntime({
      ...{ log, store, groupId: config.groupId, logger, metrics },
      ...{ finalityDepth: config.finalityDepth, maxBatchRecords: config.maxBatchRecords, maxCachedPositions: config.maxCachedPositions },
      ...(config.deadLetterTopic === undefined ? {} : { deadLetterTopic: config.deadLetterTopic }),
      ...(publisher === undefined ? {} : { beforeBatch: publisher.ready }),
    })
    if (publisher !== undefined) runtime.changes.subscribe(publisher.onChange)
    // Off the fold's thread: hashing every row takes seconds on a large file (state-hash-worker.ts).
    const routes = { '/state-hash': () => stateReportOfFile(readModelPathOf(config)) }
    endpoint = await startHttpEndpoint({ host: config.metricsHost, port: config.metricsPort, metrics, routes })
    logger.info('metrics endpoint listening', { port: endpoint.port })
    stopRuntime = () => void runtime.stop()
    if (stopRequested) return 0
    await runtime.run()
    return 0
  } catch (error) {
    logger.error('projections failed', { error: error instanceof Error ? error : new Error(String(error)) })
    return 1
  } finally {
    await publisher?.stop()
    await endpoint?.close()
    store?.close()
    await log.close()
    logger.info('projections stopped')
  }
}

commandMain('projections', () => parseProjectionsConfig(), (config) => run(config, createLogger({ level: config.logLevel, fields: { component: 'projections' } })))
