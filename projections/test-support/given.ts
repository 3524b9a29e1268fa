// given(records).when(record) for the fold's tests: the given records are folded and committed,
// then the one under test; the result shows its step, the rows after it and what it changed.
import type { FoldStep } from '../fold/fold-step.ts'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import type { ReadModelRows, ReadModelTable } from '../fold/read-model-rows.ts'
import { foldIntoMemory } from './fold-into-memory.ts'

export interface WhenResult {
  readonly step: FoldStep
  /** A table's rows after the record, in key order. */
  rows<T extends ReadModelTable>(table: T): ReadModelRows[T][]
  /** The state hash before and after the record. */
  readonly hashBefore: string
  readonly hashAfter: string
}

export interface Given {
  when(record: ProjectionRecord): WhenResult
}

export function given(...records: readonly ProjectionRecord[]): Given {
  return {
    when(record) {
      const fold = foldIntoMemory()
      fold.fold(records)
      const hashBefore = fold.hash()
      const [step] = fold.fold([record])
      return { step: step!, rows: (table) => fold.store.rows(table), hashBefore, hashAfter: fold.hash() }
    },
  }
}
