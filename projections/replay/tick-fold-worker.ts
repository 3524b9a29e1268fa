// The ticks half of a replay in a worker thread of its own (tick-fold.ts says why that is sound):
// it opens its own connection to the log, folds the ticks partitions up to the replay's stop
// offsets, and hands back the latest ticks and the offsets reached. Messages to the parent:
// records folded per batch, then the result or the error. A "stop" message ends the fold early.
import { parentPort, type ResourceLimits, type Worker } from 'node:worker_threads'
import { openConfiguredLog, type LogConfig } from '../../indexer/log/open-log.ts'
import { createLogger, type LogLevel } from '../../indexer/runtime/logger.ts'
import { startTsWorker, tsWorkerData } from '../../indexer/runtime/ts-worker.ts'
import type { ProjectionTopics } from '../fold/projection-record.ts'
import type { ConsumerOffset } from '../store/read-model-store.ts'
import { foldTicks, type TickFold, type TickFoldResult } from './tick-fold.ts'

export interface TickFoldWorkerData {
  readonly log: LogConfig
  readonly stopAt: readonly ConsumerOffset[]
  readonly topics: ProjectionTopics
  readonly logLevel: LogLevel
  readonly maxBatchRecords?: number
}

type ToParent =
  | { readonly kind: 'records'; readonly count: number }
  | { readonly kind: 'done'; readonly result: TickFoldResult }
  | { readonly kind: 'failed'; readonly name: string; readonly message: string; readonly stack: string | undefined }

// The worker holds one batch of ticks and a few rows, but V8 lets an idle-looking heap grow with its
// allocation rate: left unbounded, the worker's heap added about 100 MB to a 1M-record replay's peak
// RSS. So its old generation is bounded by what a batch needs (ticks parse to well under 4 KiB
// each), with room to spare; a batch far past that fails the replay with an out-of-memory error
// rather than swelling the process. The base is not smaller because V8 keeps room in the old
// generation for a whole young generation's survivors (32 MB semi-spaces under `npm run replay`):
// at 32 MB the worker ran back-to-back full collections and folded the ticks of a 1M-record log in
// 8 to 10 s of CPU; at 128 MB in 5.3 s, its heap then peaking near 60 MB.
const DEFAULT_MAX_BATCH_RECORDS = 1_000
const BASE_OLD_GENERATION_MB = 128
const OLD_GENERATION_KIB_PER_RECORD = 8

export function workerHeapLimits(maxBatchRecords: number): ResourceLimits {
  return { maxOldGenerationSizeMb: BASE_OLD_GENERATION_MB + Math.ceil((maxBatchRecords * OLD_GENERATION_KIB_PER_RECORD) / 1024) }
}

/** The tick fold's error, as it was thrown in the worker. */
export class TickFoldWorkerError extends Error {
  override readonly name = 'TickFoldWorkerError'
  constructor(
    readonly workerErrorName: string,
    message: string,
    readonly workerStack: string | undefined,
  ) {
    super(`folding the ticks failed: ${workerErrorName}: ${message}`)
  }
}

/** Folds the ticks in a worker thread; the fold reads the log `data.log` names, not the caller's. */
export function foldTicksInWorker(data: TickFoldWorkerData, onRecords?: (records: number) => void): TickFold {
  const worker: Worker = startTsWorker(new URL(import.meta.url), data, workerHeapLimits(data.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS))
  let settled = false
  const done = new Promise<TickFoldResult>((resolve, reject) => {
    worker.on('message', (message: ToParent) => {
      if (message.kind === 'records') onRecords?.(message.count)
      else if (message.kind === 'done') resolve(message.result)
      else reject(new TickFoldWorkerError(message.name, message.message, message.stack))
    })
    worker.on('error', reject)
    worker.on('exit', (code) => reject(new Error(`the tick fold's worker exited (code ${code}) before it finished`)))
  }).finally(() => {
    settled = true
    void worker.terminate()
  })
  return {
    done,
    stop: async () => {
      if (!settled) worker.postMessage('stop')
      await done.catch(() => undefined)
    },
  }
}

async function workerMain(data: TickFoldWorkerData): Promise<void> {
  const port = parentPort!
  const post = (message: ToParent): void => port.postMessage(message)
  const logger = createLogger({ level: data.logLevel, fields: { component: 'replay-ticks' } })
  const log = openConfiguredLog(data.log, 'perp-replay-ticks', logger)
  try {
    const fold = foldTicks({
      ...{ log, stopAt: data.stopAt, topics: data.topics, logger },
      ...(data.maxBatchRecords === undefined ? {} : { maxBatchRecords: data.maxBatchRecords }),
      onRecords: (count) => post({ kind: 'records', count }),
    })
    port.on('message', (message: unknown) => {
      if (message === 'stop') void fold.stop()
    })
    post({ kind: 'done', result: await fold.done })
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error))
    post({ kind: 'failed', name: e.name, message: e.message, stack: e.stack })
  } finally {
    await log.close()
    port.close()
  }
}

const started = tsWorkerData<TickFoldWorkerData>(import.meta.url)
if (started !== undefined) void workerMain(started)
