// `npm start`: the whole system in one process on the embedded log. By default it runs a local
// devnet first: anvil, the reference contract with three markets, the local Hermes-compatible price
// feed and the trading simulator; then the indexer and `serve` (projections + gateway on port 8000).
// With RPC_URL set it runs only the indexer and `serve` against that chain, configured like the
// `indexer` and `serve` commands (the same variables). Ctrl-C stops everything, anvil included.
import { rmSync } from 'node:fs'
import { z } from 'zod'
import { parseIndexerConfig } from '../indexer/config.ts'
import { createIndexer, type Indexer } from '../indexer/indexer.ts'
import type { Log } from '../indexer/log/log.ts'
import { openConfiguredLog } from '../indexer/log/open-log.ts'
import { ConfigError, optionSchemas, parseCommandLine, type ConfigOf } from '../indexer/runtime/command-line.ts'
import { commandMain } from '../indexer/runtime/command-main.ts'
import { createLogger, type Logger } from '../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../indexer/runtime/metrics.ts'
import { parseServeConfig, resolveServeConfig } from '../gateway/config.ts'
import { createServe, type Serve } from '../gateway/serve.ts'
import { startAnvil, type Anvil } from './devnet/anvil-process.ts'
import { startDevnet, type Devnet } from './devnet/devnet.ts'


const startCommand = {
  name: 'npm start',
  summary:
    'Runs everything in one process: a local anvil devnet with the reference contract, a price feed and a trading simulator (unless RPC_URL is set), the indexer, and serve (projections + gateway). Every variable of `indexer --help` and `serve --help` applies too.',
  options: {
    rpcUrl: { env: 'RPC_URL', flag: '--rpc-url', description: 'A real chain\'s JSON-RPC; unset: start a local anvil devnet', schema: optionSchemas.url.optional() },
    dataDir: { env: 'DATA_DIR', flag: '--data-dir', description: 'Embedded log and read models (default .data/start; emptied at each devnet start)', schema: z.string().min(1).default('.data/start') },
    port: { env: 'PORT', flag: '--port', description: 'Gateway port (default 8000)', schema: optionSchemas.port.default(8_000) },
    anvilPort: { env: 'ANVIL_PORT', flag: '--anvil-port', description: 'Devnet: anvil port (default 8545; 0: any free port)', schema: optionSchemas.port.default(8_545) },
    hermesPort: { env: 'HERMES_PORT', flag: '--hermes-port', description: 'Devnet: price feed port (default 8090; 0: any free port)', schema: optionSchemas.port.default(8_090) },
    seed: { env: 'SEED', flag: '--seed', description: 'Devnet: seed of the price walk and the traders (default 1)', schema: optionSchemas.nonNegativeInt.default(1) },
    simulate: { env: 'SIMULATE', flag: '--simulate', description: 'Devnet: run the trading simulator (default true)', schema: optionSchemas.boolean.default(true) },
    logLevel: { env: 'LOG_LEVEL', flag: '--log-level', description: 'debug, info, warn, error or silent (default info)', schema: optionSchemas.logLevel.default('info') },
  },
} as const

type StartConfig = ConfigOf<typeof startCommand.options>
type Env = Readonly<Record<string, string | undefined>>

interface Parts {
  anvil?: Anvil
  devnet?: Devnet
  indexer?: Indexer
  serve?: Serve
  log?: Log
}

/** Anvil and the devnet around it; returns the variables the indexer reads to follow it. */
async function startLocalChain(config: StartConfig, parts: Parts, logger: Logger): Promise<Env> {
  rmSync(config.dataDir, { recursive: true, force: true })
  parts.anvil = await startAnvil({ port: config.anvilPort })
  logger.info('anvil listening', { rpcUrl: parts.anvil.rpcUrl, pid: parts.anvil.pid })
  parts.devnet = await startDevnet({
    ...{ rpcUrl: parts.anvil.rpcUrl, chainId: parts.anvil.chainId, accounts: parts.anvil.accounts },
    ...{ hermesPort: config.hermesPort, seed: config.seed, simulate: config.simulate, logger: logger.child({ component: 'devnet' }) },
  })
  return {
    RPC_URL: parts.anvil.wsUrl,
    HEAD_MODE: 'ws',
    CHAIN_ID: String(parts.anvil.chainId),
    CONTRACT_ADDRESS: parts.devnet.contract,
    START_BLOCK: String(parts.devnet.deployBlock),
    HERMES_URL: parts.devnet.hermes.url,
    HERMES_CLIENT: 'hermes',
    FINALITY_DEPTH: '8',
  }
}

function parsedOrThrow<T>(parsed: { kind: 'help'; text: string } | { kind: 'config'; config: T }): T {
  if (parsed.kind === 'help') throw new Error('unreachable: --help was handled first')
  return parsed.config
}

async function run(config: StartConfig, parts: Parts, logger: Logger, env: Env): Promise<void> {
  const chainEnv = config.rpcUrl === undefined ? await startLocalChain(config, parts, logger) : {}
  const shared = { ...env, ...chainEnv, DATA_DIR: config.dataDir, PORT: String(config.port), LOG_LEVEL: config.logLevel }
  const indexerConfig = parsedOrThrow(parseIndexerConfig([], { METRICS_PORT: '0', ...shared }))
  const serveConfig = resolveServeConfig(parsedOrThrow(parseServeConfig([], shared)))
  // One log for both: serve's consumer is woken by each append instead of polling the file.
  parts.log = openConfiguredLog(indexerConfig, 'perp-start', logger)
  // One registry for both, so the gateway's /metrics shows the indexer's too (blocks behind head, RPC errors, reorgs).
  const metrics = createMetricsRegistry()
  parts.indexer = createIndexer(indexerConfig, { logger: logger.child({ component: 'indexer' }), log: parts.log, metrics })
  parts.serve = createServe(serveConfig, { logger: logger.child({ component: 'serve' }), log: parts.log, metrics })
  const indexerDone = parts.indexer.run()
  const serveDone = parts.serve.run()
  await Promise.race([waitForPort(parts.serve), serveDone, indexerDone])
  printUrls(config, parts)
  await Promise.all([indexerDone, serveDone])
}

async function waitForPort(serve: Serve): Promise<void> {
  while (serve.port() === 0) await new Promise((resolve) => setTimeout(resolve, 50))
}

function printUrls(config: StartConfig, parts: Parts): void {
  const base = `localhost:${parts.serve?.port() ?? config.port}`
  const lines = [
    '',
    'perp-indexer is running. Ctrl-C stops everything.',
    '',
    `  dashboard        http://${base}/`,
    `  WebSocket API    ws://${base}/api/v1/ws/  (prices/btc-usdc-perp, positions/<address>, liquidations, market-stats/<market>, events)`,
    `  stats            http://${base}/api/v1/ws/stats`,
    `  metrics          http://${base}/metrics`,
    ...(parts.anvil === undefined ? [] : [`  chain (anvil)    ${parts.anvil.rpcUrl}`]),
    ...(parts.devnet === undefined ? [] : [`  contract         ${parts.devnet.contract}`, `  price feed       ${parts.devnet.hermes.url}`]),
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

/** Stops in the reverse order of the flow: no new transactions, then readers, then writers, then the chain. */
async function stopAll(parts: Parts, logger: Logger): Promise<void> {
  const step = async (name: string, stop: (() => Promise<void>) | undefined): Promise<void> => {
    try {
      await stop?.()
    } catch (error) {
      logger.warn(`stopping ${name} failed`, { error: error instanceof Error ? error : new Error(String(error)) })
    }
  }
  const { devnet, serve, indexer, log, anvil } = parts
  await step('simulator', devnet?.simulator && (() => devnet.simulator!.stop()))
  await step('serve', serve && (() => serve.stop()))
  await step('indexer', indexer && (() => indexer.stop()))
  await step('log', log && (() => log.close()))
  await step('price feed', devnet && (() => devnet.stop()))
  await step('anvil', anvil && (() => anvil.stop()))
}

/** Runs until a signal, even one that comes while the parts are still starting, then stops them all. */
async function runStart(config: StartConfig, env: Env): Promise<number> {
  const logger = createLogger({ level: config.logLevel, fields: { component: 'start' } })
  const parts: Parts = {}
  let signals = 0
  const stopping = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (++signals > 1) process.exit(1)
      logger.info('stopping', { signal })
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  try {
    await Promise.race([run(config, parts, logger, env), stopping])
    return 0
  } catch (error) {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`)
    else logger.error('start failed', { error: error instanceof Error ? error : new Error(String(error)) })
    return error instanceof ConfigError ? 2 : 1
  } finally {
    await stopAll(parts, logger)
  }
}

commandMain('start', () => parseCommandLine(startCommand, process.argv.slice(2), process.env), (config) => runStart(config, process.env))
