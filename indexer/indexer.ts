// The indexer's composition: the log (Kafka or the embedded file), the event sink on it, the
// backfill up to the final blocks, then the live tail from there, Pyth ticks for the listed markets,
// and the /metrics endpoint. stop() ends each part in turn and closes the log last.
import type { Hex } from 'viem'
import { perpExchangeAbi } from '../contracts-abi/perp-exchange.abi.ts'
import { createBackfill, backfillTarget } from './chain/backfill.ts'
import type { ChainRpc } from './chain/chain-rpc.ts'
import { createEventDecoder } from './chain/event-decoder.ts'
import { createChainRpc } from './chain/json-rpc.ts'
import { createLiveTail, type LiveTail } from './chain/live-tail.ts'
import { createLogEventSink, type LogEventSink } from './chain/log-event-sink.ts'
import { createLogToRecord, type LogToRecord } from './chain/log-to-record.ts'
import { withRetry } from './chain/rpc-retry.ts'
import type { IndexerConfig } from './config.ts'
import type { Log } from './log/log.ts'
import { createRecordWriter } from './log/typed-log.ts'
import { createHermesTickSource } from './pyth/hermes-tick-source.ts'
import { createPriceServiceTickSource } from './pyth/price-service-tick-source.ts'
import { followListedFeeds, type ListedFeedTicks } from './pyth/listed-feed-ticks.ts'
import { createTickIngest } from './pyth/tick-ingest.ts'
import { tickRecord } from './records/schemas.ts'
import { topics } from './records/topics.ts'
import { startHttpEndpoint, type HttpEndpoint } from './runtime/http-endpoint.ts'
import type { Logger } from './runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from './runtime/metrics.ts'
import { openConfiguredLog } from './log/open-log.ts'

export interface IndexerDeps {
  readonly logger: Logger
  readonly metrics?: MetricsRegistry
  /** A log opened by the caller (e.g. one embedded log shared with `serve` in one process); closed by the caller. */
  readonly log?: Log
}

export interface Indexer {
  /** Runs until stop() or a fatal error (a reorg beyond the finality depth, a failed append). */
  run(): Promise<void>
  /** Stops every part and closes the log; safe to call more than once. */
  stop(): Promise<void>
}

/** The RPC serves another chain than CHAIN_ID says. */
export class ChainMismatchError extends Error {
  override readonly name = 'ChainMismatchError'
  constructor(expected: number, actual: number) {
    super(`CHAIN_ID is ${expected} but the RPC serves chain ${actual}`)
  }
}

/** Backfill passes after the first, for the blocks mined during the previous one. */
const MAX_BACKFILL_PASSES = 5
const STARTUP_RETRY = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 5_000 }

interface Parts {
  log: Log
  rpc: ChainRpc
  endpoint?: HttpEndpoint
  sink?: LogEventSink
  liveTail?: LiveTail
  ticks?: ListedFeedTicks | undefined
}

export function createIndexer(config: IndexerConfig, deps: IndexerDeps): Indexer {
  const { logger } = deps
  const metrics = deps.metrics ?? createMetricsRegistry()
  const stopping = new AbortController()
  const parts: Parts = {
    log: deps.log ?? openConfiguredLog(config, 'perp-indexer', logger),
    rpc: createChainRpc({ url: config.rpcUrl, timeoutMs: config.rpcTimeoutMs, maxResponseBytes: config.rpcMaxResponseBytes, logger, metrics }),
  }
  let running: Promise<void> | undefined
  let stopped: Promise<void> | undefined

  async function run(): Promise<void> {
    const routes = { '/markets': () => Object.fromEntries(parts.sink?.markets() ?? []) }
    parts.endpoint = await startHttpEndpoint({ host: config.metricsHost, port: config.metricsPort, metrics, routes })
    logger.info('metrics endpoint listening', { port: parts.endpoint.port })
    const chainId = await checkedChainId(config, parts.rpc, stopping.signal)
    const contract = config.contractAddress as Hex
    const toRecord = createLogToRecord({ chainId, contract, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) })
    const sink = createSink(config, parts.log, chainId, logger, metrics)
    parts.sink = sink
    await sink.resume()
    await backfillToFinal({ config, rpc: parts.rpc, sink, toRecord, logger, metrics, signal: stopping.signal })
    if (stopping.signal.aborted) return
    // A fatal source error (a refused API key) stops the indexer rather than leaving it silently priceless.
    parts.ticks = startTicks(config, parts.log, sink, logger, metrics, (error) => {
      logger.error('price ticks stopped', { error })
      void stop()
    })
    parts.liveTail = createLiveTail({
      ...{ rpc: parts.rpc, sink, toRecord, contract, metrics, logger: logger.child({ component: 'live-tail' }) },
      ...{ finalityDepth: config.finalityDepth, confirmations: config.confirmations, pollIntervalMs: config.pollIntervalMs },
      headMode: config.headMode === 'ws' ? 'subscribe' : 'poll',
    })
    if (!stopping.signal.aborted) await parts.liveTail.run()
  }

  async function stop(): Promise<void> {
    stopped ??= (async () => {
      stopping.abort(new Error('indexer stopping'))
      await parts.liveTail?.stop()
      await parts.ticks?.stop().catch(() => undefined)
      await running?.catch(() => undefined)
      await parts.endpoint?.close()
      await parts.rpc.close()
      if (deps.log === undefined) await parts.log.close()
      logger.info('indexer stopped')
    })()
    await stopped
  }

  return {
    // After stop() the run resolves, whatever the part that was running threw on its way out.
    run: () => (running ??= run().catch((error: unknown) => {
      if (!stopping.signal.aborted) throw error
    })),
    stop,
  }
}

async function checkedChainId(config: IndexerConfig, rpc: ChainRpc, signal: AbortSignal): Promise<number> {
  const actual = await withRetry(() => rpc.chainId(), { ...STARTUP_RETRY, signal })
  if (config.chainId !== undefined && config.chainId !== actual) throw new ChainMismatchError(config.chainId, actual)
  return actual
}

function createSink(config: IndexerConfig, log: Log, chainId: number, logger: Logger, metrics: MetricsRegistry): LogEventSink {
  return createLogEventSink({
    log,
    chainId,
    contract: config.contractAddress as Hex,
    startBlock: config.startBlock,
    partitions: config.topicPartitions,
    finalityDepth: config.finalityDepth,
    logger: logger.child({ component: 'event-sink' }),
    metrics,
  })
}

interface BackfillParts {
  readonly config: IndexerConfig
  readonly rpc: ChainRpc
  readonly sink: LogEventSink
  readonly toRecord: LogToRecord
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  readonly signal: AbortSignal
}

/** Backfills to the final blocks, again while the head moved on past them during the previous pass. */
async function backfillToFinal(parts: BackfillParts): Promise<void> {
  const { config, rpc, sink, signal } = parts
  const logger = parts.logger.child({ component: 'backfill' })
  const backfill = createBackfill({
    rpc,
    sink,
    toRecord: parts.toRecord,
    contract: config.contractAddress as Hex,
    concurrency: config.backfillConcurrency,
    maxRange: config.backfillMaxRange,
    logger,
    metrics: parts.metrics,
  })
  for (let pass = 0; pass < MAX_BACKFILL_PASSES && !signal.aborted; pass++) {
    const head = await withRetry(() => rpc.blockNumber(), { ...STARTUP_RETRY, signal })
    const target = backfillTarget(head, config.confirmations, config.finalityDepth)
    const { nextBlock } = await sink.resume()
    if (target < nextBlock) return
    logger.info('backfill starting', { from: nextBlock, to: target, head, pass })
    await backfill.run({ from: nextBlock, to: target, head, signal })
  }
}

/** Pyth ticks for the markets whose MarketListed is on the log, as they are listed; undefined without HERMES_URL. */
function startTicks(
  config: IndexerConfig,
  log: Log,
  sink: LogEventSink,
  logger: Logger,
  metrics: MetricsRegistry,
  onFatal: (error: Error) => void,
): ListedFeedTicks | undefined {
  const hermesUrl = config.hermesUrl
  if (hermesUrl === undefined) return undefined
  const sourceLogger = logger.child({ component: 'pyth' })
  const writer = createRecordWriter({ log, topic: topics.ticks, schema: tickRecord, keyOf: (tick) => tick.market_id })
  return followListedFeeds({
    logger: sourceLogger,
    onFatal,
    listedFeeds: () => {
      const feeds: Record<string, string> = {}
      for (const [market, feed] of sink.markets()) if (feed !== undefined) feeds[feed] = market
      return feeds
    },
    startIngest: async (feeds) => {
      await log.ensureTopics([{ name: topics.ticks, partitions: config.topicPartitions }])
      const source =
        config.hermesClient === 'hermes'
          ? createHermesTickSource({ endpoint: hermesUrl, feeds, logger: sourceLogger, metrics, ...(config.hermesApiKey === undefined ? {} : { apiKey: config.hermesApiKey }) })
          : createPriceServiceTickSource({ endpoint: hermesUrl, feeds, logger: sourceLogger, metrics })
      const ingest = createTickIngest({ source, writer, logger: sourceLogger, metrics, resumeFrom: { log, topic: topics.ticks } })
      await ingest.start()
      return ingest
    },
  })
}
