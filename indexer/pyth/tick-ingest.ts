// Pyth ticks from a tick source into pyth.ticks.v1, keyed by market id, in small batches.
//
// Redelivery is normal: a source re-sends the latest prices after every reconnect, and two updates
// can share a publish second. A tick is written only when its publish_time is newer than the last
// one accepted for its feed, so the log holds each feed's ticks in strictly increasing publish time
// and at most one per tick id. At start the floor per feed is read back from the tail of the topic,
// so a restart does not write again what the previous run wrote.
import type { ConsumeOptions, Log } from '../log/log.ts'
import { RecordRejectedError } from '../log/log-errors.ts'
import { decodeRecord, type RecordWriter } from '../log/typed-log.ts'
import { tickRecord, type TickRecord } from '../records/schemas.ts'
import type { Logger } from '../runtime/logger.ts'
import type { MetricsRegistry } from '../runtime/metrics.ts'
import { backoffDelay, type BackoffPolicy, type TickSource } from './tick-source.ts'

/** What the ingest needs of the typed record writer of pyth.ticks.v1 (keyed by market id). */
export type TickWriter = Pick<RecordWriter<TickRecord>, 'write'>

export interface TickIngestOptions {
  readonly source: TickSource
  readonly writer: TickWriter
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  /** Where the floors per feed are read back from at start; without it every feed starts open. */
  readonly resumeFrom?: { readonly log: Log; readonly topic: string; readonly tailRecords?: number }
  /** Most ticks per append (default 100). */
  readonly maxBatch?: number
  /** How long a tick may wait for others to join its batch (default 50 ms). */
  readonly flushIntervalMs?: number
  /** Retries of a failed append (default 200 ms to 10 s). */
  readonly retry?: BackoffPolicy
}

export interface TickIngest {
  /** Reads the floors back from the log, then starts the source. */
  start(): Promise<void>
  /** Resolves after stop() has written what was pending; rejects on a fatal source error. */
  readonly done: Promise<void>
  stop(): Promise<void>
  /** The newest publish time accepted per feed id. */
  lastPublishTimes(): ReadonlyMap<string, number>
}

const defaultRetry: BackoffPolicy = { initialMs: 200, maxMs: 10_000 }
const appendAttemptsWhenStopping = 3

interface TickBatcherDeps {
  readonly writer: TickWriter
  readonly logger: Logger
  readonly maxBatch: number
  readonly flushIntervalMs: number
  readonly retry: BackoffPolicy
  readonly onWritten: (batch: readonly TickRecord[]) => void
  readonly onWriteError: () => void
}

interface TickBatcher {
  add(ticks: readonly TickRecord[]): void
  /** Stops the timer, waits for the append in flight, then appends the rest (a few attempts). */
  close(): Promise<void>
}

/**
 * Appends ticks in arrival order in small batches, one append in flight at a time. A failed append
 * is retried whole with backoff (the log may have written none of it), so no tick is lost or
 * reordered by a transient log failure.
 */
function createTickBatcher(deps: TickBatcherDeps): TickBatcher {
  const { writer, logger, maxBatch } = deps
  const pending: TickRecord[] = []
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> | undefined
  let closed = false

  const appendAll = async (maxAttempts: number): Promise<void> => {
    let attempt = 0
    while (pending.length > 0 && !(closed && maxAttempts === Number.POSITIVE_INFINITY)) {
      const batch = pending.slice(0, maxBatch)
      try {
        await writer.write(batch)
      } catch (error) {
        deps.onWriteError()
        if (error instanceof RecordRejectedError) {
          // Ticks are validated as they are accepted, so this is schema drift: retrying cannot help.
          logger.error('the log rejected a batch of Pyth ticks; dropping it', { error, ticks: batch.length })
          pending.splice(0, batch.length)
          continue
        }
        attempt += 1
        if (attempt >= maxAttempts) throw error
        const delayMs = backoffDelay(attempt - 1, deps.retry)
        logger.warn('appending Pyth ticks failed; retrying', { error: asError(error), ticks: batch.length, delayMs })
        await new Promise((resolve) => setTimeout(resolve, delayMs))
        continue
      }
      attempt = 0
      pending.splice(0, batch.length)
      deps.onWritten(batch)
    }
  }

  const schedule = (delayMs: number): void => {
    if (closed || pending.length === 0 || flushing !== undefined) return
    if (timer !== undefined && delayMs > 0) return
    clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      flushing = appendAll(Number.POSITIVE_INFINITY).finally(() => {
        flushing = undefined
        schedule(deps.flushIntervalMs)
      })
    }, delayMs)
  }

  return {
    add(ticks) {
      if (closed) return
      pending.push(...ticks)
      schedule(pending.length >= maxBatch ? 0 : deps.flushIntervalMs)
    },
    async close() {
      closed = true
      clearTimeout(timer)
      await flushing
      await appendAll(appendAttemptsWhenStopping)
    },
  }
}

export function createTickIngest(options: TickIngestOptions): TickIngest {
  const { source, logger, metrics } = options
  const ticksTotal = metrics.counter('pyth_ticks_total', 'Pyth ticks written to the log')
  const duplicates = metrics.counter('pyth_ticks_duplicate_total', 'Pyth ticks skipped as not newer than the last')
  const errorsTotal = metrics.counter('pyth_errors_total', 'Pyth ingest errors by stage')
  const lastPublish = metrics.gauge('pyth_last_publish_time_seconds', 'Publish time of the newest tick written')
  const batcher = createTickBatcher({
    writer: options.writer,
    logger,
    maxBatch: options.maxBatch ?? 100,
    flushIntervalMs: options.flushIntervalMs ?? 50,
    retry: options.retry ?? defaultRetry,
    onWritten: (batch) => {
      for (const tick of batch) {
        ticksTotal.inc({ market_id: tick.market_id })
        lastPublish.set(tick.data.publish_time, { market_id: tick.market_id })
      }
    },
    onWriteError: () => errorsTotal.inc({ stage: 'write' }),
  })

  const floors = new Map<string, number>()
  const accept = (ticks: readonly TickRecord[]): void => {
    const fresh: TickRecord[] = []
    for (const tick of ticks) {
      const checked = tickRecord.safeParse(tick)
      if (!checked.success) {
        errorsTotal.inc({ stage: 'invalid' })
        logger.error('dropped an invalid Pyth tick', { id: tick.id, issue: checked.error.issues[0]?.message })
        continue
      }
      const floor = floors.get(tick.data.feed_id)
      if (floor !== undefined && tick.data.publish_time <= floor) {
        duplicates.inc({ market_id: tick.market_id })
        continue
      }
      floors.set(tick.data.feed_id, tick.data.publish_time)
      fresh.push(tick)
    }
    if (fresh.length > 0) batcher.add(fresh)
  }

  let settle: (error: Error | undefined) => void = () => {}
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error))
  })
  done.catch(() => {})
  let finishing: Promise<void> | undefined
  const finish = (failure: Error | undefined): Promise<void> =>
    (finishing ??= (async () => {
      await source.stop()
      const writeFailure = await batcher.close().then(
        () => undefined,
        (error: unknown) => asError(error),
      )
      if (writeFailure !== undefined) {
        logger.error('could not append the last Pyth ticks before stopping', { error: writeFailure })
      }
      settle(failure ?? writeFailure)
    })())

  return {
    done,
    lastPublishTimes: () => floors,
    async start() {
      if (options.resumeFrom !== undefined) {
        const { log, topic, tailRecords } = options.resumeFrom
        const written = await readLastPublishTimes(log, topic, tailRecords ?? 10_000, logger)
        for (const [feed, time] of written) floors.set(feed, time)
        logger.info('resuming Pyth ticks after the last written', { feeds: Object.fromEntries(floors) })
      }
      source.start({
        onTicks: accept,
        onError: (error, fatal) => {
          errorsTotal.inc({ stage: fatal ? 'source_fatal' : 'source' })
          if (!fatal) return
          logger.error('Pyth tick source failed', { source: source.name, error })
          void finish(error)
        },
      })
    },
    stop: () => finish(undefined),
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}

/**
 * The newest publish time per feed id among the last `tailRecords` records of each partition.
 * Every feed writes about once a second, so a modest tail holds the last tick of each; a feed silent
 * for longer than the tail simply starts without a floor (its ticks keep their deterministic ids,
 * so a consumer can still drop a duplicate).
 */
export async function readLastPublishTimes(
  log: Log,
  topic: string,
  tailRecords: number,
  logger: Logger,
): Promise<Map<string, number>> {
  const latest = new Map<string, number>()
  if ((await log.partitionCount(topic)) === undefined) return latest
  const ends = await log.endOffsets(topic)
  const starts = ends.map((end) => Math.max(0, end - tailRecords))
  const remaining = new Set(ends.flatMap((end, partition) => (end > (starts[partition] ?? 0) ? [partition] : [])))
  if (remaining.size === 0) return latest
  let caughtUp: () => void = () => {}
  const reachedEnds = new Promise<void>((resolve) => (caughtUp = resolve))
  const onBatch: ConsumeOptions['onBatch'] = async (batch) => {
    for (const record of batch.records) {
      const decoded = decodeRecord(tickRecord, record)
      if (decoded.ok) {
        const { feed_id: feed, publish_time: time } = decoded.value.data
        latest.set(feed, Math.max(time, latest.get(feed) ?? 0))
      } else {
        logger.warn('a record of the ticks topic does not decode; resuming without it', { error: decoded.error })
      }
      if (record.offset >= (ends[batch.partition] ?? 0) - 1) remaining.delete(batch.partition)
    }
    if (remaining.size === 0) caughtUp()
  }
  const from = (_topic: string, partition: number): number => starts[partition] ?? 0
  const consumer = log.consume({ topics: [topic], groupId: 'pyth-tick-ingest-resume', from, onBatch })
  await Promise.race([reachedEnds, consumer.done])
  await consumer.stop()
  return latest
}
