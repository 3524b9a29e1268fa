// The `serve` command: projections and gateway in one process. Configuration comes from the
// environment and flags (see --help). SIGINT or SIGTERM stops it cleanly (sockets closed, the fold's
// batch in flight committed); a second signal exits at once. Exit codes: 0 stopped, 1 failed,
// 2 bad configuration.
import { commandMain, runUntilSignal } from '../indexer/runtime/command-main.ts'
import { createLogger } from '../indexer/runtime/logger.ts'
import { parseServeConfig, resolveServeConfig } from './config.ts'
import { createServe } from './serve.ts'

commandMain('serve', () => parseServeConfig(), (options) => {
  const config = resolveServeConfig(options)
  const logger = createLogger({ level: config.logLevel, fields: { component: 'serve' } })
  return runUntilSignal('serve', createServe(config, { logger }), logger)
})
