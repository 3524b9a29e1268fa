// The log every command opens from its configuration: Kafka when brokers are given, else the
// embedded log at DATA_DIR/log.db (the one file the indexer writes and serve, projections and replay
// read). And the one default of the read-model file, so `replay` rebuilds the file `serve` reads.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../runtime/logger.ts'
import { createEmbeddedLog } from './embedded-log.ts'
import { createKafkaLog } from './kafka-log.ts'
import type { Log } from './log.ts'

export interface LogConfig {
  readonly kafkaBrokers: readonly string[] | undefined
  readonly dataDir: string
}

export function openConfiguredLog(config: LogConfig, clientId: string, logger: Logger): Log {
  if (config.kafkaBrokers !== undefined && config.kafkaBrokers.length > 0) {
    return createKafkaLog({ brokers: config.kafkaBrokers, clientId, logger: logger.child({ component: 'kafka' }) })
  }
  mkdirSync(config.dataDir, { recursive: true })
  return createEmbeddedLog({ path: join(config.dataDir, 'log.db'), logger: logger.child({ component: 'embedded-log' }) })
}

/** READ_MODEL_PATH, or DATA_DIR/read-models.db when it is not set. */
export function readModelPathOf(config: { readonly readModelPath: string | undefined; readonly dataDir: string }): string {
  return config.readModelPath ?? join(config.dataDir, 'read-models.db')
}
