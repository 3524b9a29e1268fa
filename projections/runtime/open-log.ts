// The log the projections read, from configuration: Kafka when brokers are given, else the embedded
// log in DATA_DIR/log.db (the file the indexer writes).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createEmbeddedLog } from '../../indexer/log/embedded-log.ts'
import { createKafkaLog } from '../../indexer/log/kafka-log.ts'
import type { Log } from '../../indexer/log/log.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'

export interface ProjectionLogConfig {
  readonly kafkaBrokers: readonly string[] | undefined
  readonly dataDir: string
}

export function openProjectionLog(config: ProjectionLogConfig, clientId: string, logger: Logger): Log {
  if (config.kafkaBrokers !== undefined && config.kafkaBrokers.length > 0) {
    return createKafkaLog({ brokers: config.kafkaBrokers, clientId, logger: logger.child({ component: 'kafka' }) })
  }
  mkdirSync(config.dataDir, { recursive: true })
  return createEmbeddedLog({ path: join(config.dataDir, 'log.db') })
}

/** READ_MODEL_PATH, or DATA_DIR/read-model.db when it is not set. */
export function readModelPathOf(config: { readonly readModelPath: string | undefined; readonly dataDir: string }): string {
  return config.readModelPath ?? join(config.dataDir, 'read-model.db')
}
