// A log in memory that only consumes, for the resume unit tests: records are added per partition,
// and a consumer delivers nothing until the test opens the gate, so a test can push live frames
// while a replay is pending. Any other use of the log is a test bug.
import type { ConsumeOptions, Log, LogConsumer, StoredRecord } from '../../indexer/log/log.ts'

export interface MemoryLog extends Log {
  /** Appends records' JSON to a partition of `topic`, at the next offsets. */
  add(topic: string, partition: number, values: readonly unknown[]): void
  /** Lets consumers deliver what they have. */
  openGate(): void
  /** Consumers started so far. */
  readonly consumers: number
}

export function createMemoryLog(): MemoryLog {
  const partitions = new Map<string, StoredRecord[][]>()
  let openGate: () => void = () => undefined
  const gate = new Promise<void>((resolve) => (openGate = resolve))
  let consumers = 0

  function consume(options: ConsumeOptions): LogConsumer {
    consumers++
    let stopped = false
    let stop: () => void = () => undefined
    const stopping = new Promise<void>((resolve) => (stop = resolve))
    const done = (async () => {
      await gate
      for (const topic of options.topics) {
        for (const [partition, records] of (partitions.get(topic) ?? []).entries()) {
          const from = options.from(topic, partition)
          const batch = records.filter((r) => r.offset >= from)
          if (!stopped && batch.length > 0) await options.onBatch({ topic, partition, records: batch })
        }
      }
      await stopping
    })()
    return {
      done,
      stop: async () => {
        stopped = true
        stop()
        await done
      },
    }
  }

  const unsupported = (name: string) => () => {
    throw new Error(`the memory log does not ${name}`)
  }
  return {
    backend: 'embedded',
    add(topic, partition, values) {
      const topicPartitions = partitions.get(topic) ?? []
      const records = (topicPartitions[partition] ??= [])
      for (const value of values) {
        records.push({ topic, partition, offset: records.length, key: '', value: Buffer.from(JSON.stringify(value)), headers: {}, timestamp: 0 })
      }
      partitions.set(topic, topicPartitions)
    },
    openGate: () => openGate(),
    get consumers() {
      return consumers
    },
    consume,
    ensureTopics: unsupported('ensureTopics'),
    append: unsupported('append'),
    endOffsets: unsupported('endOffsets'),
    partitionCount: unsupported('partitionCount'),
    close: async () => undefined,
  }
}
