// A gateway over the fake transport, read models folded in memory and a change feed the test
// publishes to, for the channels' unit tests. Nothing here replays from a log: a test that resumes
// by cursor runs on the real embedded log (gateway/serve.int.test.ts).
import type { Log } from '../../indexer/log/log.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { ProjectionRecord } from '../../projections/fold/projection-record.ts'
import { createChangeFeed, type ChangePublisher } from '../../projections/runtime/change-feed.ts'
import type { ConsumerOffset } from '../../projections/store/read-model-store.ts'
import { createGateway, type Gateway, type GatewayOptions } from '../gateway.ts'
import { createFakeTransport, type FakeTransport } from './fake-transport.ts'
import { createMemoryQueries, type MemoryQueries } from './memory-queries.ts'

export const testGatewayOptions: GatewayOptions = {
  intervals: { pricesMs: 1_000, positionsMs: 2_000, liquidationsMs: 5_000, marketStatsMs: 5_000 },
  warningRepeatMs: 30_000,
  liquidationAlertLimit: 100,
  resume: { bufferFrames: 100, timeoutMs: 10_000, highWaterBytes: 1 << 20 },
  eventsTopic: 'perp.events.v1',
  groupId: 'test',
  dashboardDir: '/nonexistent',
}

export interface GatewayHarness {
  readonly gateway: Gateway
  readonly transport: FakeTransport
  readonly queries: MemoryQueries
  readonly changes: ChangePublisher
  readonly metrics: MetricsRegistry
  /** Sets the committed offsets that /readyz and the initial cursor position read. */
  setOffsets(offsets: ConsumerOffset[]): void
}

/** A log for the tests that never resume: any use of it is a test bug. */
const noLog: Log = new Proxy({} as Log, {
  get: (_target, property) => {
    throw new Error(`the channels' unit tests have no log (log.${String(property)})`)
  },
})

export interface HarnessOptions {
  readonly records?: readonly ProjectionRecord[]
  readonly options?: Partial<GatewayOptions>
  readonly readyAt?: readonly ConsumerOffset[]
  /** The committed offsets when the gateway starts (its initial pushed position). */
  readonly offsets?: ConsumerOffset[]
  /** For the resume tests; by default any use of the log fails. */
  readonly log?: Log
  readonly now?: () => number
}

export function createGatewayHarness(harness: HarnessOptions = {}): GatewayHarness {
  const queries = createMemoryQueries(harness.records ?? [])
  const changes = createChangeFeed((error) => {
    throw error
  })
  const metrics = createMetricsRegistry()
  let offsets: ConsumerOffset[] = harness.offsets ?? []
  let transport: FakeTransport | undefined
  const gateway = createGateway({
    transport: (handlers) => (transport = createFakeTransport(handlers)),
    queries,
    projection: { changes, offsets: () => offsets, stateReport: () => ({ stateHash: 'hash', offsets }) },
    readyAt: harness.readyAt ?? [],
    log: harness.log ?? noLog,
    options: { ...testGatewayOptions, ...harness.options },
    logger: silentLogger,
    metrics,
    ...(harness.now === undefined ? {} : { now: harness.now }),
  })
  if (transport === undefined) throw new Error('the gateway did not build its transport')
  return { gateway, transport, queries, changes, metrics, setOffsets: (next) => void (offsets = next) }
}
