// Folds records through the runtime's own working set into a store, committing in batches as the
// runtime does (without offsets), for the fold's tests.
import type { FoldStep } from '../fold/fold-step.ts'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import { createWorkingSet, type WorkingSet } from '../runtime/working-set.ts'
import { createMemoryReadModelStore, type MemoryReadModelStore } from '../store/memory-read-model-store.ts'
import type { ReadModelStore } from '../store/read-model-store.ts'
import { stateHash } from '../store/state-hash.ts'

export interface StoreFold<S extends ReadModelStore> {
  readonly store: S
  readonly workingSet: WorkingSet
  /** Folds the records, committing after every `batchSize` of them and after the last. */
  fold(records: readonly ProjectionRecord[], batchSize?: number): FoldStep[]
  hash(): string
}

export function foldIntoStore<S extends ReadModelStore>(store: S, finalityDepth = 64): StoreFold<S> {
  const workingSet = createWorkingSet(store, { finalityDepth })
  const commit = () => store.commit({ ...workingSet.takeCommit(), offsets: [] })
  return {
    store,
    workingSet,
    fold(records, batchSize = Number.POSITIVE_INFINITY) {
      const steps: FoldStep[] = []
      let inBatch = 0
      for (const record of records) {
        steps.push(workingSet.fold(record))
        if (++inBatch >= batchSize) {
          commit()
          inBatch = 0
        }
      }
      commit()
      return steps
    },
    hash: () => stateHash(store),
  }
}

export function foldIntoMemory(finalityDepth = 64): StoreFold<MemoryReadModelStore> {
  return foldIntoStore(createMemoryReadModelStore(), finalityDepth)
}
