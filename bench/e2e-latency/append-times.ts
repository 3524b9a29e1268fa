// When the embedded log accepted each chain event, by transaction hash: read back after a run from
// the log file itself (every stored record carries the time of its append), so measuring it adds no
// consumer, and no poll, to the path being measured.
import { createEmbeddedLog } from '../../indexer/log/embedded-log.ts'
import type { StoredRecord } from '../../indexer/log/log.ts'

interface ChainEventValue {
  readonly type?: string
  readonly chain?: { readonly tx_hash?: string }
}

/** Epoch ms of the append of each `type` record of `topic`, keyed by its lowercase transaction hash. */
export async function readAppendTimes(path: string, topic: string, type: string): Promise<Map<string, number>> {
  const log = createEmbeddedLog({ path })
  const times = new Map<string, number>()
  try {
    const ends = await log.endOffsets(topic)
    const left = new Map(ends.map((end, partition) => [partition, end]))
    for (const [partition, end] of left) if (end === 0) left.delete(partition)
    if (left.size === 0) return times
    const onRecord = (record: StoredRecord): void => {
      const value = JSON.parse(record.value.toString('utf8')) as ChainEventValue
      const hash = value.chain?.tx_hash
      if (value.type === type && hash !== undefined) times.set(hash.toLowerCase(), record.timestamp)
    }
    await new Promise<void>((resolve, reject) => {
      const consumer = log.consume({
        topics: [topic],
        groupId: 'bench-e2e-latency-append-times',
        from: () => 0,
        onBatch: async ({ partition, records }) => {
          for (const record of records) onRecord(record)
          const last = records.at(-1)
          if (last !== undefined && last.offset + 1 >= (left.get(partition) ?? 0)) left.delete(partition)
          if (left.size === 0) void consumer.stop().then(resolve, reject)
        },
      })
      consumer.done.catch(reject)
    })
    return times
  } finally {
    await log.close()
  }
}
