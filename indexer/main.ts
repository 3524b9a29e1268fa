// The `indexer` command: chain and Pyth into the log. Configuration comes from the environment and
// flags (see --help). SIGINT or SIGTERM stops it cleanly; a second signal exits at once. Exit codes:
// 0 stopped, 1 failed, 2 bad configuration.
import { createIndexer } from './indexer.ts'
import { parseIndexerConfig } from './config.ts'
import { ConfigError } from './runtime/command-line.ts'
import { createLogger } from './runtime/logger.ts'

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseIndexerConfig>
  try {
    parsed = parseIndexerConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    return 2
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text)
    return 0
  }
  const logger = createLogger({ level: parsed.config.logLevel, fields: { component: 'indexer' } })
  const indexer = createIndexer(parsed.config, { logger })
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++
    if (signals > 1) process.exit(1)
    logger.info('stopping', { signal })
    void indexer.stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await indexer.run()
    await indexer.stop()
    return 0
  } catch (error) {
    logger.error('indexer failed', { error: error instanceof Error ? error : new Error(String(error)) })
    await indexer.stop().catch(() => undefined)
    return 1
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`indexer crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
