// The embedded log's consumer: it reads each subscribed partition from its start offset in batches,
// hands every batch to onBatch and waits for it before reading that partition further. Batches go
// out one at a time, round-robin over the partitions, so onBatch never runs concurrently with
// itself. Once every partition is drained it sleeps until this log instance commits (an in-process
// notification, so a same-process append is seen at once) or, for commits by other processes
// sharing the file, until PRAGMA data_version moves, checked every pollIntervalMs.

import type { ConsumeOptions, LogConsumer, StoredRecord } from './log.ts'
import { InvalidConsumeOptionError } from './log-errors.ts'

export interface AppendNotifier {
  /** Grows with every commit made through the owning log instance. */
  version(): number
  notify(): void
  subscribe(listener: () => void): () => void
}

export function createAppendNotifier(): AppendNotifier {
  let version = 0
  const listeners = new Set<() => void>()
  return {
    version: () => version,
    notify: () => {
      version++
      for (const listener of listeners) listener()
    },
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}

export interface ConsumerSource {
  /** The topic's partition count, or undefined while it does not exist. */
  partitionCount(topic: string): number | undefined
  read(topic: string, partition: number, offset: number, maxRecords: number): StoredRecord[]
  /** Changes whenever another connection has committed to the file. */
  dataVersion(): number
}

export interface EmbeddedConsumerDeps {
  readonly source: ConsumerSource
  readonly notifier: AppendNotifier
  readonly pollIntervalMs: number
  readonly options: ConsumeOptions
}

const DEFAULT_MAX_BATCH_RECORDS = 1000

function assertOffset(topic: string, partition: number, offset: number): number {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new InvalidConsumeOptionError(`from(${topic}, ${partition})`, offset)
  }
  return offset
}

export function startEmbeddedConsumer(deps: EmbeddedConsumerDeps): LogConsumer {
  const { source, notifier, pollIntervalMs, options } = deps
  const maxBatchRecords = options.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS
  if (!Number.isSafeInteger(maxBatchRecords) || maxBatchRecords < 1) {
    throw new InvalidConsumeOptionError('maxBatchRecords', maxBatchRecords)
  }
  const nextOffsets = new Map<string, number>()
  let stopped = false
  let wake: (() => void) | undefined
  const unsubscribe = notifier.subscribe(() => wake?.())

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(awaken, ms)
      function awaken(): void {
        clearTimeout(timer)
        wake = undefined
        resolve()
      }
      wake = awaken
    })
  }

  /** from() is asked once per partition, the first time that partition is read. */
  function nextOffset(topic: string, partition: number): number {
    const known = nextOffsets.get(`${topic}/${partition}`)
    if (known !== undefined) return known
    const start = assertOffset(topic, partition, options.from(topic, partition))
    nextOffsets.set(`${topic}/${partition}`, start)
    return start
  }

  /** One round over every partition; true when at least one batch was delivered. */
  async function deliverRound(): Promise<boolean> {
    let delivered = false
    for (const topic of options.topics) {
      const partitions = source.partitionCount(topic) ?? 0
      for (let partition = 0; partition < partitions && !stopped; partition++) {
        const records = source.read(topic, partition, nextOffset(topic, partition), maxBatchRecords)
        const last = records.at(-1)
        if (last === undefined) continue
        await options.onBatch({ topic, partition, records })
        nextOffsets.set(`${topic}/${partition}`, last.offset + 1)
        delivered = true
      }
    }
    return delivered
  }

  async function run(): Promise<void> {
    try {
      while (!stopped) {
        // Read the versions before the round, so a commit landing during it is not slept through.
        const localVersion = notifier.version()
        const dataVersion = source.dataVersion()
        if (await deliverRound()) {
          // A round is all microtasks: without a turn of the event loop between rounds, a catch-up
          // over a long log would hold off signals, timers, sockets and worker messages until its end.
          await new Promise<void>((resolve) => setImmediate(resolve))
          continue
        }
        while (!stopped && notifier.version() === localVersion && source.dataVersion() === dataVersion) {
          await sleep(pollIntervalMs)
        }
      }
    } finally {
      unsubscribe()
    }
  }

  // Started on a later tick, so onBatch never runs before consume() has returned.
  const done = Promise.resolve().then(run)
  return {
    done,
    stop: async () => {
      stopped = true
      wake?.()
      await done.catch(() => undefined)
    },
  }
}
