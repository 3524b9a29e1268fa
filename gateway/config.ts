// The `serve` command's configuration: the gateway (port, intervals, limits) and the projection it
// runs (log, read-model file, consumer group). This is the only place `serve` reads process.env; a
// bad value fails here, naming the variable, before anything opens a socket, a log or a file.
import { z } from 'zod'
import { optionSchemas, parseCommandLine, type ConfigOf, type ParsedCommandLine } from '../indexer/runtime/command-line.ts'
import { readModelPathOf } from '../indexer/log/open-log.ts'

const positive = (env: string, flag: string, description: string, fallback: number) => ({
  env,
  flag,
  description: `${description} (default ${fallback})`,
  schema: optionSchemas.positiveInt.default(fallback),
})

export const serveCommand = {
  name: 'serve',
  summary: 'Folds the log into the SQLite read models and serves the WebSocket API, the stats, health and metrics on one port.',
  options: {
    port: { env: 'PORT', flag: '--port', description: 'Port of the WebSocket API and HTTP routes (default 8000; 0: any free port)', schema: optionSchemas.port.default(8_000) },
    host: { env: 'HOST', flag: '--host', description: 'Address to listen on (default 0.0.0.0)', schema: z.string().min(1).default('0.0.0.0') },
    kafkaBrokers: {
      env: 'KAFKA_BROKERS',
      flag: '--kafka-brokers',
      description: 'host:port[,host:port]; unset: the embedded log at DATA_DIR/log.db',
      schema: optionSchemas.brokers.optional(),
    },
    dataDir: { env: 'DATA_DIR', flag: '--data-dir', description: 'Where the embedded log and the default read-model file live (default .data)', schema: z.string().min(1).default('.data') },
    readModelPath: {
      env: 'READ_MODEL_PATH',
      flag: '--read-model-path',
      description: "This replica's SQLite read-model file (default DATA_DIR/read-models.db)",
      schema: z.string().min(1).optional(),
    },
    groupId: { env: 'GROUP_ID', flag: '--group-id', description: "This replica's consumer group (default perp-serve)", schema: z.string().min(1).default('perp-serve') },
    pricesIntervalMs: positive('PRICES_INTERVAL_MS', '--prices-interval-ms', 'price_update interval', 1_000),
    positionsIntervalMs: positive('POSITIONS_INTERVAL_MS', '--positions-interval-ms', 'positions_update interval', 2_000),
    liquidationsIntervalMs: positive('LIQUIDATIONS_INTERVAL_MS', '--liquidations-interval-ms', 'liquidation_alert interval', 5_000),
    marketStatsIntervalMs: positive('MARKET_STATS_INTERVAL_MS', '--market-stats-interval-ms', 'market_stats interval', 5_000),
    warningRepeatSeconds: {
      env: 'WARNING_REPEAT_SECONDS',
      flag: '--warning-repeat-seconds',
      description: 'Least time between two liquidation warnings about one position on one socket (default 30)',
      schema: optionSchemas.nonNegativeInt.default(30),
    },
    liquidationAlertLimit: {
      env: 'LIQUIDATION_ALERT_LIMIT',
      flag: '--liquidation-alert-limit',
      description: 'Most candidates in one liquidation_alert (default 100)',
      schema: optionSchemas.positiveInt.default(100),
    },
    replayBufferFrames: positive('REPLAY_BUFFER_FRAMES', '--replay-buffer-frames', 'Live frames held per socket while it replays', 10_000),
    replayTimeoutMs: positive('REPLAY_TIMEOUT_MS', '--replay-timeout-ms', 'Longest replay before the socket is closed (1013)', 60_000),
    maxConnections: positive('MAX_CONNECTIONS', '--max-connections', 'Open sockets in total', 10_000),
    maxConnectionsPerIp: positive('MAX_CONNECTIONS_PER_IP', '--max-connections-per-ip', 'Open sockets per peer address', 100),
    maxPayloadBytes: positive('MAX_PAYLOAD_BYTES', '--max-payload-bytes', 'Largest client frame', 4_096),
    maxBackpressureBytes: positive('MAX_BACKPRESSURE_BYTES', '--max-backpressure-bytes', 'Bytes buffered for a socket before it is closed as too slow', 1_048_576),
    idleTimeoutSeconds: positive('IDLE_TIMEOUT_SECONDS', '--idle-timeout-seconds', 'A silent socket is closed after this (8 to 960)', 120),
    maxClientFramesPerWindow: positive('MAX_CLIENT_FRAMES', '--max-client-frames', 'Client frames allowed per flood window', 50),
    floodWindowMs: positive('FLOOD_WINDOW_MS', '--flood-window-ms', 'The flood window', 10_000),
    logLevel: { env: 'LOG_LEVEL', flag: '--log-level', description: 'debug, info, warn, error or silent (default info)', schema: optionSchemas.logLevel.default('info') },
  },
} as const

export type ServeOptions = ConfigOf<typeof serveCommand.options>

/** The options with the read-model path resolved. */
export type ServeConfig = Omit<ServeOptions, 'readModelPath'> & { readonly readModelPath: string }

export function resolveServeConfig(options: ServeOptions): ServeConfig {
  return { ...options, readModelPath: readModelPathOf(options) }
}

/** Parses the command line and the environment; ConfigError names the bad variable. */
export function parseServeConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedCommandLine<typeof serveCommand.options> {
  return parseCommandLine(serveCommand, argv, env)
}
