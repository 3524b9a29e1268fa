// The entry of every command: parse the configuration (a ConfigError prints the message naming the
// variable and exits 2; --help prints the help and exits 0), run, exit with the run's code, and turn
// anything thrown past the run into "<name> crashed" and exit 1. Long-running services stop cleanly
// on SIGINT or SIGTERM, and at once on a second signal.
import { ConfigError } from './command-line.ts'
import type { Logger } from './logger.ts'

export type ParsedConfig<C> = { readonly kind: 'help'; readonly text: string } | { readonly kind: 'config'; readonly config: C }

export function commandMain<C>(name: string, parse: () => ParsedConfig<C>, run: (config: C) => Promise<number>): void {
  const main = async (): Promise<number> => {
    let parsed: ParsedConfig<C>
    try {
      parsed = parse()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      process.stderr.write(`${error.message}\n`)
      return 2
    }
    if (parsed.kind === 'help') {
      process.stdout.write(parsed.text)
      return 0
    }
    return run(parsed.config)
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${name} crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
      process.exit(1)
    },
  )
}

export interface Service {
  run(): Promise<void>
  stop(): Promise<void>
}

/** Runs the service until it ends or a signal stops it: 0 when it stopped, 1 when it failed. */
export async function runUntilSignal(name: string, service: Service, logger: Logger): Promise<number> {
  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++
    if (signals > 1) process.exit(1)
    logger.info('stopping', { signal })
    void service.stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await service.run()
    await service.stop()
    return 0
  } catch (error) {
    logger.error(`${name} failed`, { error: error instanceof Error ? error : new Error(String(error)) })
    await service.stop().catch(() => undefined)
    return 1
  }
}
