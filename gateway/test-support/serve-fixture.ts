// `serve` on a temporary data directory with the embedded log, and a writer on the same log file
// standing in for the indexer (the file is shared between log instances as between processes).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEmbeddedLog, type EmbeddedLog } from '../../indexer/log/embedded-log.ts'
import { createRecordWriter, type RecordWriter } from '../../indexer/log/typed-log.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { eventsTopicRecord, tickRecord, type EventsTopicRecord, type TickRecord } from '../../indexer/records/schemas.ts'
import { topics } from '../../indexer/records/topics.ts'
import { parseServeConfig, resolveServeConfig } from '../config.ts'
import { createServe, type Serve } from '../serve.ts'

export interface ServeFixture {
  readonly dir: string
  readonly serve: Serve
  readonly writerLog: EmbeddedLog
  readonly events: RecordWriter<EventsTopicRecord>
  readonly ticks: RecordWriter<TickRecord>
  /** ws://127.0.0.1:<port>/api/v1/ws/<path> */
  wsUrl(path: string): string
  httpUrl(path: string): string
  /** Stops serve and removes the directory. */
  close(): Promise<void>
}

export const EVENT_PARTITIONS = 3

/** Starts serve (port 0, fast intervals unless `env` says otherwise) and waits until it listens. */
export async function startServeFixture(env: Readonly<Record<string, string>> = {}): Promise<ServeFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'serve-'))
  const writerLog = createEmbeddedLog({ path: join(dir, 'log.db'), pollIntervalMs: 10 })
  await writerLog.ensureTopics([
    { name: topics.events, partitions: EVENT_PARTITIONS },
    { name: topics.ticks, partitions: 2 },
  ])
  const parsed = parseServeConfig([], {
    DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    PRICES_INTERVAL_MS: '200',
    POSITIONS_INTERVAL_MS: '200',
    LIQUIDATIONS_INTERVAL_MS: '200',
    MARKET_STATS_INTERVAL_MS: '200',
    ...env,
  })
  if (parsed.kind !== 'config') throw new Error('unexpected --help')
  const serve = createServe(resolveServeConfig(parsed.config), { logger: silentLogger })
  const running = serve.run()
  running.catch(() => undefined)
  const started = Date.now()
  while (serve.port() === 0) {
    if (Date.now() - started > 10_000) throw new Error('serve did not start listening')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  const keyOf = (record: { market_id: string }) => record.market_id
  return {
    dir,
    serve,
    writerLog,
    events: createRecordWriter({ log: writerLog, topic: topics.events, schema: eventsTopicRecord, keyOf }),
    ticks: createRecordWriter({ log: writerLog, topic: topics.ticks, schema: tickRecord, keyOf }),
    wsUrl: (path) => `ws://127.0.0.1:${serve.port()}/api/v1/ws/${path}`,
    httpUrl: (path) => `http://127.0.0.1:${serve.port()}${path}`,
    async close() {
      await serve.stop()
      await running.catch(() => undefined)
      await writerLog.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
