// The whole system for the end-to-end tests, each part real and in this process: anvil with the perp
// contract deployed and its markets listed and priced, the local Hermes server, `serve` (projections
// and gateway) and the indexer, on the embedded log or on Kafka.
//
// The indexer and serve each open the log themselves (the factories take a configuration, not a log):
// on the embedded backend they share one SQLite file through two connections, as two processes would.
// On Kafka the stack starts a broker of its own, because both write and read the fixed topic names
// (perp.events.v1, …) that another test of the run's shared broker requires to be absent.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseServeConfig, resolveServeConfig } from '../../gateway/config.ts'
import { createServe, type Serve } from '../../gateway/serve.ts'
import { parseIndexerConfig } from '../../indexer/config.ts'
import { createIndexer, type Indexer } from '../../indexer/indexer.ts'
import { createEmbeddedLog } from '../../indexer/log/embedded-log.ts'
import { createKafkaLog } from '../../indexer/log/kafka-log.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { devnetFeeds, startHermesServer, type HermesServer } from '../../scripts/devnet/hermes-server.ts'
import { startAnvil, type Anvil } from './anvil.ts'
import { deployPerpChain, type PerpChain } from './e2e-chain.ts'
import { startKafkaBroker, type KafkaBroker } from './kafka-broker.ts'

export type E2eBackend = 'embedded' | 'kafka'

export interface E2eStackOptions {
  readonly backend: E2eBackend
  /** Every snapshot interval of the gateway (default 200 ms). */
  readonly snapshotIntervalMs?: number
  /** Extra serve environment, e.g. PORT. */
  readonly serveEnv?: Readonly<Record<string, string>>
  /** poll (default): eth_getBlockByNumber over HTTP; ws: newHeads over anvil's WebSocket. */
  readonly headMode?: 'poll' | 'ws'
}

export interface E2eStack {
  readonly anvil: Anvil
  readonly chain: PerpChain
  readonly hermes: HermesServer
  readonly serve: Serve
  /** Where the embedded log (log.db) and the read models live. */
  readonly dataDir: string
  /** ws://127.0.0.1:<port>/api/v1/ws/<path> */
  wsUrl(path: string): string
  httpUrl(path: string): string
  /** Starts the indexer (once); the markets are final by then, so its Pyth ticks start with it. */
  startIndexer(): void
  /** Stops everything started, in reverse order, and removes the data directory. */
  close(): Promise<void>
}

/** The indexer follows reorgs up to this depth; the listings are buried deeper before it starts. */
export const E2E_FINALITY_DEPTH = 4

function parsedServe(env: Readonly<Record<string, string>>) {
  const parsed = parseServeConfig([], env)
  if (parsed.kind !== 'config') throw new Error('serve configuration: unexpected --help')
  return resolveServeConfig(parsed.config)
}

function parsedIndexer(env: Readonly<Record<string, string>>) {
  const parsed = parseIndexerConfig([], env)
  if (parsed.kind !== 'config') throw new Error('indexer configuration: unexpected --help')
  return parsed.config
}

/** Resolves once `serve` listens; rejects when its run fails first. */
async function listening(serve: Serve, running: Promise<void>): Promise<void> {
  const deadline = Date.now() + 15_000
  let failure: unknown
  running.catch((error: unknown) => {
    failure = error ?? new Error('serve stopped')
  })
  while (serve.port() === 0) {
    if (failure !== undefined) throw new Error('serve failed before listening', { cause: failure })
    if (Date.now() > deadline) throw new Error('serve did not listen within 15 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

export async function startE2eStack(options: E2eStackOptions): Promise<E2eStack> {
  const cleanups: (() => Promise<unknown>)[] = []
  const closeAll = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
  }
  try {
    const dir = await mkdtemp(join(tmpdir(), `e2e-${options.backend}-`))
    cleanups.push(() => rm(dir, { recursive: true, force: true }))
    const anvil = await startAnvil()
    cleanups.push(() => anvil.stop())
    const chain = await deployPerpChain(anvil)
    await chain.mine(E2E_FINALITY_DEPTH + 1)
    // Prices move only when a test pushes one, so every figure is known in advance.
    const hermes = await startHermesServer({ feeds: devnetFeeds, intervalMs: 0 })
    cleanups.push(() => hermes.close())
    let broker: KafkaBroker | undefined
    if (options.backend === 'kafka') {
      broker = await startKafkaBroker({ name: 'e2e-kafka' })
      cleanups.push(() => broker!.stop())
    }
    const logEnv: Record<string, string> = broker === undefined ? { DATA_DIR: dir } : { DATA_DIR: dir, KAFKA_BROKERS: broker.brokers }
    // One log for the indexer and serve, as `npm start` has: serve's consumer wakes on each append.
    const log =
      broker === undefined
        ? createEmbeddedLog({ path: join(dir, 'log.db') })
        : createKafkaLog({ brokers: broker.brokers.split(','), clientId: 'e2e', logger: silentLogger })
    cleanups.push(() => log.close())
    const interval = String(options.snapshotIntervalMs ?? 200)
    const serve = createServe(
      parsedServe({
        ...logEnv,
        HOST: '127.0.0.1',
        PORT: '0',
        GROUP_ID: `e2e-${Date.now().toString(36)}`,
        PRICES_INTERVAL_MS: interval,
        POSITIONS_INTERVAL_MS: interval,
        LIQUIDATIONS_INTERVAL_MS: interval,
        MARKET_STATS_INTERVAL_MS: interval,
        LOG_LEVEL: 'silent',
        ...options.serveEnv,
      }),
      { logger: silentLogger, log },
    )
    const running = serve.run()
    cleanups.push(async () => {
      await serve.stop()
      await running.catch(() => undefined)
    })
    await listening(serve, running)
    const indexerConfig = parsedIndexer({
      ...logEnv,
      ...(options.headMode === 'ws' ? { RPC_URL: anvil.wsUrl, HEAD_MODE: 'ws' } : { RPC_URL: anvil.rpcUrl, HEAD_MODE: 'poll' }),
      CONTRACT_ADDRESS: chain.contract,
      CHAIN_ID: String(anvil.chainId),
      FINALITY_DEPTH: String(E2E_FINALITY_DEPTH),
      POLL_INTERVAL_MS: '100',
      HERMES_URL: hermes.url,
      METRICS_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
    })
    let indexer: Indexer | undefined
    return {
      anvil,
      chain,
      hermes,
      serve,
      dataDir: dir,
      wsUrl: (path) => `ws://127.0.0.1:${serve.port()}/api/v1/ws/${path}`,
      httpUrl: (path) => `http://127.0.0.1:${serve.port()}${path}`,
      startIndexer() {
        if (indexer !== undefined) return
        const started = createIndexer(indexerConfig, { logger: silentLogger, log })
        indexer = started
        started.run().catch((error: unknown) => {
          process.stderr.write(`e2e stack: the indexer stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
        })
        // Stopped before serve and the log's files go.
        cleanups.push(() => started.stop())
      },
      close: closeAll,
    }
  } catch (error) {
    await closeAll()
    throw error
  }
}
