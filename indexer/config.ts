// The indexer's configuration: every option from the environment or a flag, validated with zod at
// start. This is the only place the indexer reads process.env; a bad value fails here, naming the
// variable, before anything touches a chain or a log.
import { z } from 'zod'
import { ConfigError, optionSchemas, parseCommandLine, type ConfigOf, type ParsedCommandLine } from './runtime/command-line.ts'

const rpcUrl = optionSchemas.url.refine((url) => /^(https?|wss?):\/\//i.test(url), {
  error: 'expected an http(s):// or ws(s):// URL',
})
const contractAddress = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: 'expected an address: 0x and 40 hex digits' })
  .transform((address) => address.toLowerCase() as `0x${string}`)

export const indexerCommand = {
  name: 'indexer',
  summary: 'Backfills and tails the perp contract from an EVM JSON-RPC, and Pyth ticks from Hermes, into the log.',
  options: {
    rpcUrl: { env: 'RPC_URL', flag: '--rpc-url', description: 'JSON-RPC URL, http(s):// or ws(s)://', schema: rpcUrl },
    contractAddress: { env: 'CONTRACT_ADDRESS', flag: '--contract-address', description: 'The perp contract', schema: contractAddress },
    startBlock: {
      env: 'START_BLOCK',
      flag: '--start-block',
      description: 'First block to index when the log has no checkpoint (default 0)',
      schema: optionSchemas.nonNegativeInt.default(0),
    },
    chainId: {
      env: 'CHAIN_ID',
      flag: '--chain-id',
      description: 'Expected chain id, checked against eth_chainId (default: whatever the RPC says)',
      schema: optionSchemas.positiveInt.optional(),
    },
    kafkaBrokers: {
      env: 'KAFKA_BROKERS',
      flag: '--kafka-brokers',
      description: 'host:port[,host:port]; unset: the embedded log at DATA_DIR/log.db',
      schema: optionSchemas.brokers.optional(),
    },
    dataDir: { env: 'DATA_DIR', flag: '--data-dir', description: 'Where the embedded log lives (default .data)', schema: z.string().min(1).default('.data') },
    topicPartitions: {
      env: 'TOPIC_PARTITIONS',
      flag: '--topic-partitions',
      description: 'Partitions of the topics this indexer creates (default 3)',
      schema: optionSchemas.positiveInt.default(3),
    },
    backfillConcurrency: {
      env: 'BACKFILL_CONCURRENCY',
      flag: '--backfill-concurrency',
      description: 'eth_getLogs requests in flight during the backfill (default 4)',
      schema: optionSchemas.positiveInt.max(64).default(4),
    },
    backfillMaxRange: {
      env: 'BACKFILL_MAX_RANGE',
      flag: '--backfill-max-range',
      description: 'Most blocks one eth_getLogs asks for (default 2000)',
      schema: optionSchemas.positiveInt.default(2_000),
    },
    confirmations: {
      env: 'CONFIRMATIONS',
      flag: '--confirmations',
      description: 'Blocks mined on top of a block before it is written (default 0)',
      schema: optionSchemas.nonNegativeInt.default(0),
    },
    finalityDepth: {
      env: 'FINALITY_DEPTH',
      flag: '--finality-depth',
      description: 'Deepest reorg followed; a deeper one stops the indexer (default 64)',
      schema: optionSchemas.nonNegativeInt.default(64),
    },
    headMode: {
      env: 'HEAD_MODE',
      flag: '--head-mode',
      description: 'poll (eth_getBlockByNumber) or ws (newHeads subscription; needs a ws:// RPC_URL) (default poll)',
      schema: z.enum(['poll', 'ws']).default('poll'),
    },
    pollIntervalMs: {
      env: 'POLL_INTERVAL_MS',
      flag: '--poll-interval-ms',
      description: 'Head polling interval in poll mode (default 1000)',
      schema: optionSchemas.positiveInt.default(1_000),
    },
    rpcTimeoutMs: {
      env: 'RPC_TIMEOUT_MS',
      flag: '--rpc-timeout-ms',
      description: 'Timeout of one JSON-RPC request (default 30000)',
      schema: optionSchemas.positiveInt.default(30_000),
    },
    rpcMaxResponseBytes: {
      env: 'RPC_MAX_RESPONSE_BYTES',
      flag: '--rpc-max-response-bytes',
      description: 'Largest JSON-RPC response accepted; a larger eth_getLogs is split (default 268435456)',
      schema: optionSchemas.positiveInt.default(256 * 1024 * 1024),
    },
    hermesUrl: {
      env: 'HERMES_URL',
      flag: '--hermes-url',
      description: 'Pyth Hermes endpoint; unset: no price ticks',
      schema: optionSchemas.url.optional(),
    },
    hermesApiKey: { env: 'HERMES_API_KEY', flag: '--hermes-api-key', description: 'Hermes API key', schema: z.string().min(1).optional() },
    hermesClient: {
      env: 'HERMES_CLIENT',
      flag: '--hermes-client',
      description: 'hermes (SSE, API key) or price-service (websocket, no key) (default hermes)',
      schema: z.enum(['hermes', 'price-service']).default('hermes'),
    },
    metricsPort: {
      env: 'METRICS_PORT',
      flag: '--metrics-port',
      description: 'Port of /metrics and /healthz (default 9464; 0: any free port)',
      schema: optionSchemas.port.default(9_464),
    },
    metricsHost: {
      env: 'METRICS_HOST',
      flag: '--metrics-host',
      description: 'Address /metrics listens on (default 0.0.0.0)',
      schema: z.string().min(1).default('0.0.0.0'),
    },
    logLevel: { env: 'LOG_LEVEL', flag: '--log-level', description: 'debug, info, warn, error or silent (default info)', schema: optionSchemas.logLevel.default('info') },
  },
} as const

export type IndexerConfig = ConfigOf<typeof indexerCommand.options>

/** Parses the command line and the environment; ConfigError names the bad variable. */
export function parseIndexerConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedCommandLine<typeof indexerCommand.options> {
  const parsed = parseCommandLine(indexerCommand, argv, env)
  if (parsed.kind === 'config') assertConsistent(parsed.config)
  return parsed
}

function assertConsistent(config: IndexerConfig): void {
  if (config.headMode === 'ws' && !/^wss?:\/\//i.test(config.rpcUrl)) {
    throw new ConfigError('invalid configuration: HEAD_MODE (--head-mode): ws needs a ws:// or wss:// RPC_URL', 'HEAD_MODE')
  }
  if (config.hermesApiKey !== undefined && config.hermesClient === 'price-service') {
    throw new ConfigError('invalid configuration: HERMES_API_KEY (--hermes-api-key): the price-service client cannot send an API key; use HERMES_CLIENT=hermes', 'HERMES_API_KEY')
  }
}
