// The `projections` command's configuration: every option from the environment or a flag, validated
// with zod at start (the only place the command reads process.env).
import { z } from 'zod'
import { optionSchemas, parseCommandLine, type ConfigOf, type ParsedCommandLine } from '../indexer/runtime/command-line.ts'

/** Options the `projections` and `replay` commands share: where the log and the read models are. */
export const readModelOptions = {
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    flag: '--kafka-brokers',
    description: 'host:port[,host:port]; unset: the embedded log at DATA_DIR/log.db',
    schema: optionSchemas.brokers.optional(),
  },
  dataDir: { env: 'DATA_DIR', flag: '--data-dir', description: 'Where the embedded log lives (default .data)', schema: z.string().min(1).default('.data') },
  readModelPath: {
    env: 'READ_MODEL_PATH',
    flag: '--read-model-path',
    description: 'The read-model SQLite file (default DATA_DIR/read-models.db)',
    schema: z.string().min(1).optional(),
  },
  finalityDepth: {
    env: 'FINALITY_DEPTH',
    flag: '--finality-depth',
    description: 'Deepest reorg undone, as the indexer\'s (default 64)',
    schema: optionSchemas.nonNegativeInt.default(64),
  },
  maxBatchRecords: {
    env: 'MAX_BATCH_RECORDS',
    flag: '--max-batch-records',
    description: 'Most records folded per commit (default 2000)',
    schema: optionSchemas.positiveInt.default(2_000),
  },
  logLevel: { env: 'LOG_LEVEL', flag: '--log-level', description: 'debug, info, warn, error or silent (default info)', schema: optionSchemas.logLevel.default('info') },
} as const

export const projectionsCommand = {
  name: 'projections',
  summary:
    'Folds perp.events.v1 and pyth.ticks.v1 into the SQLite read models, exactly once, and publishes position and market snapshots to perp.snapshots.v1. Runs until SIGTERM.',
  options: {
    ...readModelOptions,
    groupId: { env: 'GROUP_ID', flag: '--group-id', description: 'Consumer group, one per read-model file (default projections)', schema: z.string().min(1).default('projections') },
    maxCachedPositions: {
      env: 'MAX_CACHED_POSITIONS',
      flag: '--max-cached-positions',
      description: 'Open positions kept in memory between batches (default 20000)',
      schema: optionSchemas.positiveInt.default(20_000),
    },
    deadLetterTopic: {
      env: 'DEAD_LETTER_TOPIC',
      flag: '--dead-letter-topic',
      description: 'Where unreadable records are set aside; unset: an unreadable record stops the fold',
      schema: z.string().min(1).optional(),
    },
    publishSnapshots: {
      env: 'PUBLISH_SNAPSHOTS',
      flag: '--publish-snapshots',
      description: 'Append position and market snapshots to perp.snapshots.v1 after each commit (default true)',
      schema: optionSchemas.boolean.default(true),
    },
    snapshotResync: {
      env: 'SNAPSHOT_RESYNC',
      flag: '--snapshot-resync',
      description: 'At start, publish every market and position once, to cover snapshots lost in a crash (default true)',
      schema: optionSchemas.boolean.default(true),
    },
    topicPartitions: {
      env: 'TOPIC_PARTITIONS',
      flag: '--topic-partitions',
      description: 'Partitions of perp.snapshots.v1 when this command creates it (default 3)',
      schema: optionSchemas.positiveInt.default(3),
    },
    metricsPort: {
      env: 'METRICS_PORT',
      flag: '--metrics-port',
      description: 'Port of /metrics, /healthz and /state-hash (default 9465; 0: any free port)',
      schema: optionSchemas.port.default(9_465),
    },
    metricsHost: { env: 'METRICS_HOST', flag: '--metrics-host', description: 'Address /metrics listens on (default 0.0.0.0)', schema: z.string().min(1).default('0.0.0.0') },
  },
} as const

export type ProjectionsConfig = ConfigOf<typeof projectionsCommand.options>

/** Parses the command line and the environment; ConfigError names the bad variable. */
export function parseProjectionsConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedCommandLine<typeof projectionsCommand.options> {
  return parseCommandLine(projectionsCommand, argv, env)
}
