// The `replay` command: rebuilds the read-model file from offset 0 (see replay.ts), with a progress
// bar on stderr, and prints the state hash on stdout, alone on its line. SIGINT or SIGTERM
// interrupts it and leaves the file as it was. Exit codes: 0 replayed, 1 failed or interrupted,
// 2 bad configuration.
import { commandMain } from '../../indexer/runtime/command-main.ts'
import { createLogger, type Logger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import { openConfiguredLog, readModelPathOf } from '../../indexer/log/open-log.ts'
import { parseReplayConfig, type ReplayConfig } from './config.ts'
import { createReplay } from './replay.ts'

async function run(config: ReplayConfig, logger: Logger): Promise<number> {
  const log = openConfiguredLog(config, 'perp-replay', logger)
  const targetPath = readModelPathOf(config)
  const replay = createReplay({
    ...{ log, targetPath, logger, metrics: createMetricsRegistry() },
    ...{ finalityDepth: config.finalityDepth, maxBatchRecords: config.maxBatchRecords },
    tickWorker: { log: { kafkaBrokers: config.kafkaBrokers, dataDir: config.dataDir }, logLevel: config.logLevel },
  })
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info('interrupting the replay', { signal })
    void replay.stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const result = await replay.run()
    const peakRssBytes = process.resourceUsage().maxRSS * 1024
    logger.info('read models replaced', {
      ...{ stateHash: result.stateHash, records: result.records, foldSeconds: result.foldSeconds, foldCpuSeconds: result.foldCpuSeconds },
      ...{ recordsPerSecond: Math.round(result.records / Math.max(result.foldSeconds, 1e-9)), peakRssBytes, path: targetPath },
    })
    process.stdout.write(`${result.stateHash}\n`)
    return 0
  } catch (error) {
    logger.error('replay failed', { error: error instanceof Error ? error : new Error(String(error)) })
    return 1
  } finally {
    await log.close()
  }
}

commandMain('replay', () => parseReplayConfig(), (config) => run(config, createLogger({ level: config.logLevel, fields: { component: 'replay' } })))
