// The ticks half of a replay, folded apart from the chain events. It may run beside the events' fold
// (in a worker thread, on a core of its own) because the two topics write disjoint rows and read
// nothing of each other (fold-record.ts, "Order independence"): ticks write only latest_ticks, which
// no chain event reads, and the latest tick is a maximum. So folding the ticks partitions alone, then
// storing their rows and offsets in the events' file, gives the state an interleaved fold gives.
//
// It is the projection runtime itself over an in-memory store, so the ticks meet the same checks,
// the same fold and the same stop offsets as in any other fold.
import type { Log } from '../../indexer/log/log.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { TickRow } from '../fold/read-model-rows.ts'
import type { ProjectionTopics } from '../fold/projection-record.ts'
import { createProjectionRuntime } from '../runtime/projection-runtime.ts'
import { createMemoryReadModelStore } from '../store/memory-read-model-store.ts'
import type { ConsumerOffset, StoreCommit } from '../store/read-model-store.ts'

export interface TickFoldOptions {
  readonly log: Log
  /** The ticks partitions and where to stop in each (the replay's end offsets). */
  readonly stopAt: readonly ConsumerOffset[]
  readonly topics: ProjectionTopics
  readonly logger: Logger
  readonly maxBatchRecords?: number
  /** Told after each folded batch, with the records it held. */
  readonly onRecords?: (records: number) => void
}

export interface TickFoldResult {
  readonly ticks: readonly TickRow[]
  readonly offsets: readonly ConsumerOffset[]
}

export interface TickFold {
  readonly done: Promise<TickFoldResult>
  stop(): Promise<void>
}

export function foldTicks(options: TickFoldOptions): TickFold {
  const store = createMemoryReadModelStore()
  const runtime = createProjectionRuntime({
    ...{ log: options.log, store, groupId: `replay-ticks-${process.pid}-${Date.now()}`, logger: options.logger },
    ...{ metrics: createMetricsRegistry(), topics: options.topics, stopAt: options.stopAt },
    ...(options.maxBatchRecords === undefined ? {} : { maxBatchRecords: options.maxBatchRecords }),
    onCommit: (_offset, records) => options.onRecords?.(records),
  })
  const done = runtime.run().then(() => ({ ticks: store.loadTicks(), offsets: store.loadOffsets() }))
  return { done, stop: () => runtime.stop() }
}

/** The commit that stores a tick fold's result in the events' read-model file. */
export function tickFoldCommit(result: TickFoldResult): StoreCommit {
  return {
    writes: result.ticks.map((row) => ({ table: 'latest_ticks', key: row.market_id, row })),
    journalDeletes: [],
    journalUpserts: [],
    cursors: [],
    offsets: result.offsets,
  }
}
