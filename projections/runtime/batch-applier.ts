// One batch of one partition: every record folded into the working set, then one store commit with
// the rows it changed, the journal, and the partition's next offset. Either all of it is stored or
// none (the working set is then reloaded from the store and the error stops the consumer), so a
// restart resumes exactly after the last committed batch.
import type { TypedBatch } from '../../indexer/log/typed-log.ts'
import type { MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { FoldStep } from '../fold/fold-step.ts'
import { recordBelongsTo, type ProjectionRecord, type ProjectionTopics } from '../fold/projection-record.ts'
import type { ReadModelStore } from '../store/read-model-store.ts'
import type { MarketImage, PositionImage, ProjectionChange } from './change-feed.ts'
import type { WorkingSet } from './working-set.ts'

/** A record on the wrong topic (a tick on the events topic, or a chain event on the ticks topic). */
export class TopicRecordMismatchError extends Error {
  override readonly name = 'TopicRecordMismatchError'
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly offset: number,
    readonly recordType: string,
  ) {
    super(`${topic}/${partition}@${offset}: a ${recordType} record does not belong on this topic`)
  }
}

export interface BatchApplierDeps {
  readonly workingSet: WorkingSet
  readonly store: ReadModelStore
  readonly topics: ProjectionTopics
  readonly metrics: MetricsRegistry
  /** Asked after each commit; when false the change is not built and undefined is returned. */
  readonly changesWanted?: () => boolean
}

export type BatchApplier = (batch: TypedBatch<ProjectionRecord>) => ProjectionChange | undefined

function outcomeOf(step: FoldStep): string {
  return step.outcome === 'applied' ? 'applied' : step.reason
}

export function createBatchApplier(deps: BatchApplierDeps): BatchApplier {
  const { workingSet, store, topics } = deps
  const recordsTotal = deps.metrics.counter('projection_records_total', 'Records folded, by type and outcome')
  const batchSeconds = deps.metrics.histogram('projection_batch_seconds', 'Time to fold and commit one batch')
  const nextOffset = deps.metrics.gauge('projection_next_offset', 'Next offset to fold, by topic and partition')

  function foldAll(batch: TypedBatch<ProjectionRecord>): { steps: FoldStep[]; outcomes: Map<string, Map<string, number>> } {
    const steps: FoldStep[] = []
    /** Per record type, per outcome, the records: counted without building a key per record. */
    const outcomes = new Map<string, Map<string, number>>()
    for (const { offset, value } of batch.records) {
      if (!recordBelongsTo(value, batch.topic, topics)) {
        throw new TopicRecordMismatchError(batch.topic, batch.partition, offset, value.type)
      }
      const step = workingSet.fold(value)
      steps.push(step)
      let byOutcome = outcomes.get(value.type)
      if (byOutcome === undefined) outcomes.set(value.type, (byOutcome = new Map()))
      const outcome = outcomeOf(step)
      byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1)
    }
    return { steps, outcomes }
  }

  /** The committed images of what the applied steps wrote: per row, the last write wins. */
  function changeOf(batch: TypedBatch<ProjectionRecord>, steps: readonly FoldStep[]): ProjectionChange | undefined {
    const records: ProjectionRecord[] = []
    const offsets: number[] = []
    const positions = new Map<string, PositionImage>()
    const marketIds = new Set<string>()
    const unlisted = new Set<string>()
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!
      if (step.outcome !== 'applied') continue
      const marketId = step.record.market_id
      records.push(step.record)
      offsets.push(batch.records[i]!.offset)
      marketIds.add(marketId)
      for (const write of step.writes) {
        if (write.table === 'positions') positions.set(write.key, { position_id: write.key, market_id: marketId, row: write.row })
        else if (write.table === 'markets') {
          if (write.row === undefined) unlisted.add(write.key)
          else unlisted.delete(write.key)
        }
      }
    }
    if (records.length === 0) return undefined
    const markets: MarketImage[] = []
    for (const market_id of marketIds) {
      const row = workingSet.market(market_id)
      if (row !== undefined || unlisted.has(market_id)) markets.push({ market_id, row, tick: workingSet.tick(market_id) })
    }
    const { topic, partition } = batch
    return {
      ...{ topic, partition, nextOffset: batch.nextOffset, records, offsets },
      ...{ positionIds: [...positions.keys()], marketIds: [...marketIds], positions: [...positions.values()], markets },
    }
  }

  return (batch) => {
    const started = performance.now()
    let folded: ReturnType<typeof foldAll>
    try {
      folded = foldAll(batch)
      const offset = { topic: batch.topic, partition: batch.partition, next_offset: batch.nextOffset }
      store.commit({ ...workingSet.takeCommit(), offsets: [offset] })
    } catch (error) {
      workingSet.reset()
      throw error
    }
    for (const [type, byOutcome] of folded.outcomes) {
      for (const [outcome, count] of byOutcome) recordsTotal.inc({ type, outcome }, count)
    }
    nextOffset.set(batch.nextOffset, { topic: batch.topic, partition: String(batch.partition) })
    batchSeconds.observe((performance.now() - started) / 1000)
    return deps.changesWanted?.() === false ? undefined : changeOf(batch, folded.steps)
  }
}
