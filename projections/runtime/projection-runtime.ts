// The projection runtime: one consumer of perp.events.v1 and pyth.ticks.v1 (in the replica's own
// group), starting each partition at the offset stored with the read models, folding every batch
// in one store commit together with the new offset, and telling the change feed after each commit.
//
// Exactly once: a record's effects and its partition's next offset are committed atomically, and
// the consumer starts where the committed offsets say. A crash before a commit loses the batch's
// effects and its offset together, so the batch is read and folded again; a crash after it leaves
// both, so nothing is read twice. A record the log itself delivers twice is caught by the fold.
import type { Log } from '../../indexer/log/log.ts'
import { consumeRecords, type DeadLetter, type TypedBatch } from '../../indexer/log/typed-log.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import { defaultProjectionTopics, projectionRecord, projectionRecordShortcut, projectionRecordTextShortcut, type ProjectionRecord, type ProjectionTopics } from '../fold/projection-record.ts'
import type { ConsumerOffset, ReadModelStore } from '../store/read-model-store.ts'
import { stateHash } from '../store/state-hash.ts'
import { createBatchApplier } from './batch-applier.ts'
import { createChangeFeed, type ChangeFeed } from './change-feed.ts'
import { createWorkingSet } from './working-set.ts'

export interface ProjectionRuntimeDeps {
  readonly log: Log
  readonly store: ReadModelStore
  /** The consumer group: one per replica, since each replica has its own read-model file. */
  readonly groupId: string
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  /** Reorgs deeper than this many blocks cannot be undone (default 64, as the indexer's). */
  readonly finalityDepth?: number
  readonly topics?: ProjectionTopics
  readonly maxBatchRecords?: number
  readonly maxCachedPositions?: number
  /** When set, a record that fails its schema goes here instead of stopping the fold. */
  readonly deadLetterTopic?: string
  /**
   * Folds each listed partition up to this next offset and no further, and returns from run() once
   * every one is reached (a replay to the end offsets at its start). Unlisted partitions are not folded.
   */
  readonly stopAt?: readonly ConsumerOffset[]
  /** Awaited before each batch is folded: lets a slower consumer of the changes (snapshots) hold the fold back. */
  readonly beforeBatch?: () => Promise<void> | undefined
  /** Told of every committed batch, changed or not: the partition's next offset and the records read. */
  readonly onCommit?: (offset: ConsumerOffset, records: number) => void
}

export interface ProjectionRuntime {
  /** What changed after each commit. Subscribe before run() to miss nothing. */
  readonly changes: ChangeFeed
  /** Folds until stop(); resolves once stopped, rejects on the first error (nothing after it is committed). */
  run(): Promise<void>
  /** Stops after the batch in flight has committed. */
  stop(): Promise<void>
  /** The state hash of the committed read models (store/state-hash.ts). */
  stateHash(): string
  /** The committed consumer offsets. */
  offsets(): ConsumerOffset[]
}

export const DEFAULT_FINALITY_DEPTH = 64

export class ProjectionAlreadyRunningError extends Error {
  override readonly name = 'ProjectionAlreadyRunningError'
  constructor(readonly groupId: string) {
    super(`projection runtime of group ${groupId} was already started`)
  }
}

const partitionKey = (topic: string, partition: number): string => `${topic}/${partition}`

/** The batch without its records at or past `limit`. */
function truncated(batch: TypedBatch<ProjectionRecord>, limit: number): TypedBatch<ProjectionRecord> {
  if (batch.nextOffset <= limit) return batch
  return { ...batch, records: batch.records.filter((record) => record.offset < limit), nextOffset: limit }
}

export function createProjectionRuntime(deps: ProjectionRuntimeDeps): ProjectionRuntime {
  const { log, store, groupId } = deps
  const topics = deps.topics ?? defaultProjectionTopics
  const logger = deps.logger.child({ component: 'projections', groupId })
  const workingSet = createWorkingSet(store, {
    finalityDepth: deps.finalityDepth ?? DEFAULT_FINALITY_DEPTH,
    ...(deps.maxCachedPositions === undefined ? {} : { maxCachedPositions: deps.maxCachedPositions }),
  })
  const feed = createChangeFeed((error) => logger.error('change listener failed', { error }))
  const apply = createBatchApplier({ workingSet, store, topics, metrics: deps.metrics, changesWanted: feed.hasListeners })
  const deadLetters = deps.metrics.counter('projection_dead_letters_total', 'Records set aside as unreadable, by topic')
  let stopRequested = false
  let consumer: ReturnType<typeof consumeRecords> | undefined

  function onDeadLetter(letter: DeadLetter): void {
    deadLetters.inc({ topic: letter.error.topic })
    logger.warn('record dead-lettered', { error: letter.error, deadLetterTopic: letter.deadLetterTopic })
  }

  /** Partitions still short of their stop offset; undefined without stopAt. */
  const limits = deps.stopAt === undefined ? undefined : new Map(deps.stopAt.map((o) => [partitionKey(o.topic, o.partition), o.next_offset]))
  const short = new Set<string>()

  async function onRecords(whole: TypedBatch<ProjectionRecord>): Promise<void> {
    const key = partitionKey(whole.topic, whole.partition)
    const limit = limits === undefined ? undefined : (limits.get(key) ?? 0)
    const batch = limit === undefined ? whole : truncated(whole, limit)
    if (batch.records.length === 0 && limit !== undefined && !short.has(key)) return
    await deps.beforeBatch?.()
    const change = apply(batch)
    deps.onCommit?.({ topic: batch.topic, partition: batch.partition, next_offset: batch.nextOffset }, batch.records.length)
    if (change !== undefined) feed.publish(change)
    if (limit !== undefined && batch.nextOffset >= limit && short.delete(key) && short.size === 0) {
      // Not awaited: stopping waits for this very batch to return.
      void consumer?.stop()
    }
  }

  async function run(): Promise<void> {
    if (consumer !== undefined || stopRequested) throw new ProjectionAlreadyRunningError(groupId)
    const offsets = new Map(store.loadOffsets().map((o) => [partitionKey(o.topic, o.partition), o.next_offset]))
    logger.info('projection starting', { offsets: Object.fromEntries(offsets), ...(limits === undefined ? {} : { stopAt: Object.fromEntries(limits) }) })
    for (const [key, limit] of limits ?? []) if ((offsets.get(key) ?? 0) < limit) short.add(key)
    if (limits !== undefined && short.size === 0) return
    consumer = consumeRecords({
      log,
      // With stop offsets, a topic none of whose partitions is listed is not read at all (a replay
      // folds the ticks apart): reading it only to drop every record would decode it for nothing.
      topics: [topics.events, topics.ticks].filter((topic) => deps.stopAt?.some((o) => o.topic === topic) ?? true),
      groupId,
      from: (topic, partition) => offsets.get(partitionKey(topic, partition)) ?? 0,
      schema: projectionRecord,
      shortcut: projectionRecordShortcut,
      textShortcut: projectionRecordTextShortcut,
      ...(deps.maxBatchRecords === undefined ? {} : { maxBatchRecords: deps.maxBatchRecords }),
      ...(deps.deadLetterTopic === undefined ? {} : { deadLetterTopic: deps.deadLetterTopic, onDeadLetter }),
      onRecords,
    })
    try {
      await consumer.done
    } catch (error) {
      logger.error('projection stopped by an error', { error: error instanceof Error ? error : String(error) })
      throw error
    }
  }

  return {
    changes: feed,
    run,
    stop: async () => {
      stopRequested = true
      await consumer?.stop()
    },
    stateHash: () => stateHash(store),
    offsets: () => store.loadOffsets(),
  }
}
