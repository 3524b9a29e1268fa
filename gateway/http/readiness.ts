// /readyz: ready once the projection has folded up to the log's end offsets as they were when the
// process started, i.e. the read models have caught up with the log it found. Once ready, always
// ready: a burst of new records later does not take a caught-up replica out of service.
import type { ConsumerOffset } from '../../projections/store/read-model-store.ts'

export interface Readiness {
  isReady(): boolean
  /** Partitions still behind their target, for the /readyz body. */
  behind(): { topic: string; partition: number; next_offset: number; target: number }[]
}

export function createReadiness(targets: readonly ConsumerOffset[], committed: () => readonly ConsumerOffset[]): Readiness {
  let ready = false
  function behind() {
    const at = new Map(committed().map((o) => [`${o.topic}/${o.partition}`, o.next_offset]))
    return targets
      .map((t) => ({ topic: t.topic, partition: t.partition, next_offset: at.get(`${t.topic}/${t.partition}`) ?? 0, target: t.next_offset }))
      .filter((p) => p.next_offset < p.target)
  }
  return {
    isReady() {
      ready ||= behind().length === 0
      return ready
    },
    behind,
  }
}
