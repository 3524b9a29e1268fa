// The `indexer` command: chain and Pyth into the log. Configuration comes from the environment and
// flags (see --help). SIGINT or SIGTERM stops it cleanly; a second signal exits at once. Exit codes:
// 0 stopped, 1 failed, 2 bad configuration.
import { createIndexer } from './indexer.ts'
import { parseIndexerConfig } from './config.ts'
import { commandMain, runUntilSignal } from './runtime/command-main.ts'
import { createLogger } from './runtime/logger.ts'

commandMain('indexer', () => parseIndexerConfig(), (config) => {
  const logger = createLogger({ level: config.logLevel, fields: { component: 'indexer' } })
  return runUntilSignal('indexer', createIndexer(config, { logger }), logger)
})
