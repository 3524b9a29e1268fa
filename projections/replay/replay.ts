// Rebuilds the read models from offset 0: folds every partition of both topics up to its end offset
// at the start into a fresh file beside the target, then swaps the file in atomically and returns
// the state hash. Records appended meanwhile are left for the projections that resume from the
// new file's offsets. An interrupted or failed replay leaves the target as it was.
//
// The chain events are folded here; the ticks apart from them (tick-fold.ts says why that gives the
// same state), in a worker thread when the log can be opened there, so the two halves use both cores.
// The fresh file is written in bulk mode (no WAL, no fsyncs, secondary indexes built at the end):
// nobody reads it before the swap, and a replay that fails or dies leaves it to be deleted.
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Log } from '../../indexer/log/log.ts'
import type { LogConfig } from '../../indexer/log/open-log.ts'
import type { Logger, LogLevel } from '../../indexer/runtime/logger.ts'
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import { createProgress } from '../../indexer/runtime/progress.ts'
import { defaultProjectionTopics, type ProjectionTopics } from '../fold/projection-record.ts'
import { createProjectionRuntime } from '../runtime/projection-runtime.ts'
import type { ConsumerOffset } from '../store/read-model-store.ts'
import { BULK_HELD_ROWS, openReadModelStore, type SqliteReadModelStore } from '../store/sqlite-read-model-store.ts'
import { stateHash as computeStateHash } from '../store/state-hash.ts'
import { assertNotInUse, freshFileOf, removeAbandonedFreshFiles, removeSqliteFile, swapInFile } from './swap-file.ts'
import { foldTicks, tickFoldCommit, type TickFold } from './tick-fold.ts'
import { foldTicksInWorker } from './tick-fold-worker.ts'

export interface ReplayDeps {
  readonly log: Log
  /** The read-model file to replace. */
  readonly targetPath: string
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  readonly finalityDepth?: number
  readonly maxBatchRecords?: number
  readonly topics?: ProjectionTopics
  /** Where the progress bar is drawn (default stderr). */
  readonly progressStream?: NodeJS.WriteStream
  /**
   * How a worker thread opens the same log, to fold the ticks there beside the chain events.
   * Without it the ticks are folded in this thread, from `log`, interleaved with the events.
   */
  readonly tickWorker?: { readonly log: LogConfig; readonly logLevel: LogLevel }
}

export interface ReplayResult {
  readonly stateHash: string
  /** The end offsets at the start: every record below them is folded, none above. */
  readonly offsets: readonly ConsumerOffset[]
  readonly records: number
  /** Time spent folding (opening the log and swapping the file not included). */
  readonly foldSeconds: number
  /** CPU time of this process (user and system, all threads) while folding. */
  readonly foldCpuSeconds: number
}

export interface Replay {
  run(): Promise<ReplayResult>
  /** Interrupts the fold; run() then rejects with ReplayInterruptedError and the target is untouched. */
  stop(): Promise<void>
}

export class ReplayInterruptedError extends Error {
  override readonly name = 'ReplayInterruptedError'
  constructor(
    readonly folded: number,
    readonly total: number,
  ) {
    super(`replay interrupted after ${folded} of ${total} records; the read-model file was left as it was`)
  }
}

async function endOffsets(log: Log, names: ProjectionTopics): Promise<ConsumerOffset[]> {
  const offsets: ConsumerOffset[] = []
  for (const topic of [names.events, names.ticks]) {
    if ((await log.partitionCount(topic)) === undefined) continue
    ;(await log.endOffsets(topic)).forEach((next_offset, partition) => offsets.push({ topic, partition, next_offset }))
  }
  return offsets
}

export function createReplay(deps: ReplayDeps): Replay {
  const { log, targetPath, logger } = deps
  const names = deps.topics ?? defaultProjectionTopics
  const freshPath = freshFileOf(targetPath, process.pid)
  let stopRequested = false
  let stopFold: () => Promise<void> = async () => undefined

  function startTickFold(stopAt: readonly ConsumerOffset[], onRecords: (records: number) => void): TickFold {
    const batch = deps.maxBatchRecords === undefined ? {} : { maxBatchRecords: deps.maxBatchRecords }
    if (deps.tickWorker === undefined) return foldTicks({ log, stopAt, topics: names, logger, onRecords, ...batch })
    return foldTicksInWorker({ log: deps.tickWorker.log, logLevel: deps.tickWorker.logLevel, stopAt, topics: names, ...batch }, onRecords)
  }

  /** Folds both halves into the store; resolves once both reached their stop offsets or were stopped. */
  async function foldInto(store: SqliteReadModelStore, stopAt: readonly ConsumerOffset[], onRecords: (records: number) => void): Promise<void> {
    const ticks = startTickFold(stopAt.filter((o) => o.topic === names.ticks), onRecords)
    const runtime = createProjectionRuntime({
      ...{ log, store, groupId: `replay-${process.pid}-${Date.now()}`, logger, metrics: deps.metrics, topics: names },
      stopAt: stopAt.filter((o) => o.topic !== names.ticks),
      ...(deps.finalityDepth === undefined ? {} : { finalityDepth: deps.finalityDepth }),
      ...(deps.maxBatchRecords === undefined ? {} : { maxBatchRecords: deps.maxBatchRecords }),
      onCommit: (_offset, records) => onRecords(records),
    })
    stopFold = async () => {
      await Promise.all([runtime.stop(), ticks.stop()])
    }
    if (stopRequested) await stopFold()
    // Both are awaited before either error is thrown, so no fold is left running.
    const [events, tickResult] = await Promise.allSettled([runtime.run(), ticks.done])
    if (events.status === 'rejected') throw events.reason
    if (tickResult.status === 'rejected') throw tickResult.reason
    store.commit(tickFoldCommit(tickResult.value))
  }

  async function run(): Promise<ReplayResult> {
    // Fail before a long fold rather than after it.
    assertNotInUse(targetPath)
    const stopAt = await endOffsets(log, names)
    const total = stopAt.reduce((sum, o) => sum + o.next_offset, 0)
    removeSqliteFile(freshPath)
    const abandoned = existsSync(dirname(targetPath)) ? removeAbandonedFreshFiles(targetPath) : []
    if (abandoned.length > 0) logger.info('removed the fresh files of replays that were killed', { paths: abandoned })
    // Rows are held in memory only where the fold is what the replay waits for (BULK_HELD_ROWS).
    const store = openReadModelStore({ path: freshPath, bulk: true, ...(log.backend === 'embedded' ? { bulkHeldRows: BULK_HELD_ROWS } : {}) })
    let folded = 0
    let stateHash: string
    let foldSeconds: number
    let foldCpuSeconds: number
    const started = performance.now()
    const cpuAtStart = process.cpuUsage()
    try {
      const progress = createProgress({ label: 'replay', unit: 'records', total, logger, ...(deps.progressStream === undefined ? {} : { stream: deps.progressStream }) })
      logger.info('replay starting', { records: total, partitions: stopAt.length, into: freshPath, tickWorker: deps.tickWorker !== undefined })
      await foldInto(store, stopAt, (records) => progress.update((folded += records)))
      // Read back through the store, which first writes whatever a bulk load still holds in memory:
      // part of the fold's time.
      const reached = new Map(store.loadOffsets().map((o) => [`${o.topic}/${o.partition}`, o.next_offset]))
      foldSeconds = (performance.now() - started) / 1000
      const cpu = process.cpuUsage(cpuAtStart)
      foldCpuSeconds = (cpu.user + cpu.system) / 1e6
      progress.finish()
      const complete = stopAt.every((o) => o.next_offset === 0 || reached.get(`${o.topic}/${o.partition}`) === o.next_offset)
      if (stopRequested || !complete) throw new ReplayInterruptedError(folded, total)
      store.buildDeferredIndexes()
      stateHash = computeStateHash(store)
    } catch (error) {
      store.close()
      removeSqliteFile(freshPath)
      throw error
    }
    store.close()
    swapInFile(freshPath, targetPath)
    return { stateHash, offsets: stopAt, records: total, foldSeconds, foldCpuSeconds }
  }

  return {
    run,
    stop: async () => {
      stopRequested = true
      await stopFold()
    },
  }
}
