// Publishes position and market snapshots to perp.snapshots.v1 after each commit. It listens to the
// change feed, so what it publishes is committed; the appends run behind the fold, batched, with the
// snapshots waiting to be appended kept one per id: a position changed in ten batches meanwhile is
// appended once, with its newest state, which is all a compacted topic keeps anyway. Per id the
// appends stay in commit order (one append in flight at a time).
//
// The fold is held back (ready()) only when more than maxPending snapshots wait, and a failed append
// is retried with backoff until it succeeds, so an unavailable log pauses the fold rather than lose
// snapshots. Snapshots queued when the process dies are lost; resync() publishes every market and
// position again at start, so the compacted topic converges to the read models after a crash.
import type { Log } from '../../indexer/log/log.ts'
import { RecordRejectedError } from '../../indexer/log/log-errors.ts'
import { createRecordWriter } from '../../indexer/log/typed-log.ts'
import { snapshotRecord, type SnapshotRecord } from '../../indexer/records/snapshot-records.ts'
import { topics } from '../../indexer/records/topics.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { PositionRow } from '../fold/read-model-rows.ts'
import type { ChangeListener, MarketImage } from '../runtime/change-feed.ts'
import { marketImageSnapshot, positionSnapshot, snapshotsOfChange } from './snapshot-of.ts'

export interface SnapshotPublisherDeps {
  readonly log: Log
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  /** Default perp.snapshots.v1; the topic must exist (compacted). */
  readonly topic?: string
  /** Snapshots waiting before ready() holds the fold back (default 20,000). */
  readonly maxPending?: number
  /** Most snapshots per append (default 5,000). */
  readonly maxAppend?: number
  /** Backoff of the first retry of a failed append, doubling up to 5 s (default 100 ms). */
  readonly retryDelayMs?: number
}

/** The whole state, for resync(): the markets, and the positions a page at a time. */
export interface SnapshotSource {
  readonly markets: readonly MarketImage[]
  readonly positionPages: Iterable<readonly PositionRow[]>
}

export interface SnapshotPublisher {
  /** Subscribe to the runtime's change feed. */
  readonly onChange: ChangeListener
  /** Resolves once few enough snapshots wait (undefined when they already do); rejects once publishing failed. */
  ready(): Promise<void> | undefined
  /** Queues a snapshot of every market and position; resolves once all are appended. */
  resync(source: SnapshotSource): Promise<void>
  /** Appends what waits, then stops accepting; resolves when done. */
  stop(): Promise<void>
}

/** An append the log refused for good (an invalid snapshot), or failed while stopping. */
export class SnapshotPublishError extends Error {
  override readonly name = 'SnapshotPublishError'
  constructor(
    readonly topic: string,
    readonly records: number,
    options: ErrorOptions,
  ) {
    super(`could not append ${records} snapshots to ${topic}`, options)
  }
}

const MAX_RETRY_DELAY_MS = 5_000
const STOPPING_ATTEMPTS = 3

export function createSnapshotPublisher(deps: SnapshotPublisherDeps): SnapshotPublisher {
  const topic = deps.topic ?? topics.snapshots
  const maxPending = deps.maxPending ?? 20_000
  const maxAppend = deps.maxAppend ?? 5_000
  const logger = deps.logger.child({ component: 'snapshots' })
  const writer = createRecordWriter({ log: deps.log, topic, schema: snapshotRecord, keyOf: (record) => record.id })
  const appended = deps.metrics.counter('snapshot_records_total', 'Snapshots appended to the snapshots topic')
  const waitingGauge = deps.metrics.gauge('snapshot_pending', 'Snapshots waiting to be appended')
  const failedAppends = deps.metrics.counter('snapshot_append_failures_total', 'Failed snapshot appends (each retried)')
  const pending = new Map<string, SnapshotRecord>()
  let waiters: { resolve: () => void; reject: (error: unknown) => void }[] = []
  let draining: Promise<void> | undefined
  let failure: Error | undefined
  let stopping = false

  function settleWaiters(all: boolean): void {
    if (!all && failure === undefined && pending.size >= maxPending) return
    const settled = waiters
    waiters = []
    for (const waiter of settled) {
      if (failure === undefined) waiter.resolve()
      else waiter.reject(failure)
    }
  }

  function take(): SnapshotRecord[] {
    const batch: SnapshotRecord[] = []
    for (const [id, record] of pending) {
      if (batch.length >= maxAppend) break
      batch.push(record)
      pending.delete(id)
    }
    return batch
  }

  async function append(batch: readonly SnapshotRecord[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await writer.write(batch)
        appended.inc({}, batch.length)
        return
      } catch (error) {
        failedAppends.inc()
        if (error instanceof RecordRejectedError || (stopping && attempt >= STOPPING_ATTEMPTS)) throw new SnapshotPublishError(topic, batch.length, { cause: error })
        const delayMs = Math.min(MAX_RETRY_DELAY_MS, (deps.retryDelayMs ?? 100) * 2 ** (attempt - 1))
        logger.warn('snapshot append failed; retrying', { attempt, delayMs, error: error instanceof Error ? error : String(error) })
        await new Promise((resolve) => setTimeout(resolve, delayMs))
      }
    }
  }

  async function drain(): Promise<void> {
    // Never settle within the call: `draining ??= drain()` assigns after the call returns, and a
    // drain that ended synchronously (an empty queue) would leave `draining` set for good, so no
    // later enqueue would start one and the fold would wait on ready() forever.
    await null
    try {
      while (pending.size > 0 && failure === undefined) {
        await append(take())
        waitingGauge.set(pending.size)
        settleWaiters(false)
      }
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error))
      logger.error('snapshot publishing failed', { error: failure, dropped: pending.size })
    } finally {
      // Set in the same tick the loop sees the queue empty, so enqueue() never misses a drain.
      draining = undefined
      settleWaiters(true)
    }
  }

  function enqueue(records: readonly SnapshotRecord[]): void {
    if (failure !== undefined || stopping || records.length === 0) return
    for (const record of records) pending.set(record.id, record)
    waitingGauge.set(pending.size)
    draining ??= drain()
  }

  function ready(): Promise<void> | undefined {
    if (failure !== undefined) return Promise.reject(failure)
    if (pending.size < maxPending) return undefined
    return new Promise((resolve, reject) => waiters.push({ resolve, reject }))
  }

  async function flushed(): Promise<void> {
    for (let current = draining; current !== undefined; current = draining === current ? undefined : draining) await current
    if (failure !== undefined) throw failure
  }

  return {
    onChange: (change) => enqueue(snapshotsOfChange(change)),
    ready,
    resync: async (source) => {
      enqueue(source.markets.map(marketImageSnapshot))
      let positions = 0
      for (const page of source.positionPages) {
        enqueue(page.map(positionSnapshot))
        positions += page.length
        await ready()
      }
      await flushed()
      logger.info('snapshots resynced', { markets: source.markets.length, positions })
    },
    stop: async () => {
      stopping = true
      await flushed().catch(() => undefined)
    },
  }
}
