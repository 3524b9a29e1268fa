// The `serve` command: projections and gateway in one process. Configuration comes from the
// environment and flags (see --help). SIGINT or SIGTERM stops it cleanly (sockets closed, the fold's
// batch in flight committed); a second signal exits at once. Exit codes: 0 stopped, 1 failed,
// 2 bad configuration.
import { ConfigError } from '../indexer/runtime/command-line.ts'
import { createLogger } from '../indexer/runtime/logger.ts'
import { parseServeConfig, resolveServeConfig } from './config.ts'
import { createServe } from './serve.ts'

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseServeConfig>
  try {
    parsed = parseServeConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    return 2
  }
  if (parsed.kind === 'help') {
    process.stdout.write(parsed.text)
    return 0
  }
  const config = resolveServeConfig(parsed.config)
  const logger = createLogger({ level: config.logLevel, fields: { component: 'serve' } })
  const serve = createServe(config, { logger })
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++
    if (signals > 1) process.exit(1)
    logger.info('stopping', { signal })
    void serve.stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await serve.run()
    await serve.stop()
    return 0
  } catch (error) {
    logger.error('serve failed', { error: error instanceof Error ? error : new Error(String(error)) })
    await serve.stop().catch(() => undefined)
    return 1
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`serve crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  },
)
