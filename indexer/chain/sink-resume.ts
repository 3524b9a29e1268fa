// What the event sink knows after a restart, read back from the log itself: the newest checkpoint of
// this chain and contract, then every record of perp.events.v1 appended after it (plus the last
// record of each partition), folded into the sink's state. See log-event-sink.ts for the design.
import type { Log, StoredRecord } from '../log/log.ts'
import { decodeRecord } from '../log/typed-log.ts'
import { partitionForKey } from '../log/partitioner.ts'
import { eventsTopicRecord, type EventsTopicRecord } from '../records/schemas.ts'
import type { BlockRef } from './chain-types.ts'
import { checkpointRecord, fromCheckpointBlock, type CheckpointRecord } from './checkpoint-record.ts'

/** Where a partition's records end, in chain order. */
export interface PartitionTail {
  readonly block: number
  /** Infinity after a chain_reorg record: every later block of the new branch comes after it. */
  readonly logIndex: number
  /** "<ancestor hash>:<first orphaned hash>" when the partition's last record is a chain_reorg. */
  readonly lastReorg?: string
}

export interface SinkState {
  nextBlock: number
  /** Ascending, consecutive, linked by parent hash; the newest is nextBlock - 1. */
  unfinalized: BlockRef[]
  /** market id -> Pyth feed id (undefined until its MarketListed is seen). */
  readonly markets: Map<string, string | undefined>
  readonly tails: (PartitionTail | undefined)[]
  /** The end offset of each partition of the events topic. */
  readonly eventOffsets: number[]
  /**
   * Per partition, block number -> hash of the event records appended after the newest checkpoint
   * (and after any reorg record): written, but not known to be on the canonical chain.
   */
  readonly unconfirmed: Map<number, string>[]
}

export interface ResumeReadOptions {
  readonly log: Log
  readonly eventsTopic: string
  readonly checkpointTopic: string
  readonly checkpointKey: string
  /** The first block to index when there is no checkpoint. */
  readonly startBlock: number
}

/** The checkpoint records offsets the events topic does not have: the topic was recreated or cut. */
export class CheckpointAheadOfLogError extends Error {
  override readonly name = 'CheckpointAheadOfLogError'
  constructor(topic: string, partition: number, checkpointOffset: number, endOffset: number) {
    super(
      `the checkpoint says ${topic}/${partition} ends at offset ${checkpointOffset}, but the log ends at ${endOffset}; ` +
        'the topic was recreated or truncated: delete the checkpoint topic to index from the start block again',
    )
  }
}

export function reorgIdentity(ancestorHash: string, firstOrphanHash: string): string {
  return `${ancestorHash}:${firstOrphanHash}`
}

export async function readSinkState(options: ResumeReadOptions): Promise<SinkState> {
  const { log, eventsTopic } = options
  const checkpoint = await readLatestCheckpoint(log, options.checkpointTopic, options.checkpointKey)
  const ends = await log.endOffsets(eventsTopic)
  const checkpointed = checkpoint?.event_offsets ?? ends.map(() => 0)
  if (checkpointed.length !== ends.length) {
    throw new Error(`the checkpoint knows ${checkpointed.length} partitions of ${eventsTopic}, the log has ${ends.length}`)
  }
  const state: SinkState = {
    nextBlock: checkpoint?.next_block ?? options.startBlock,
    unfinalized: (checkpoint?.unfinalized ?? []).map(fromCheckpointBlock),
    markets: new Map((checkpoint?.markets ?? []).map((m) => [m.market_id, m.pyth_feed_id])),
    tails: ends.map(() => undefined),
    eventOffsets: [...ends],
    unconfirmed: ends.map(() => new Map<number, string>()),
  }
  const ranges = ends.map((end, partition) => {
    const after = checkpointed[partition] ?? 0
    if (after > end) throw new CheckpointAheadOfLogError(eventsTopic, partition, after, end)
    // The last record is read even when it is older than the checkpoint: it is the partition's tail.
    return { topic: eventsTopic, partition, from: Math.min(after, Math.max(0, end - 1)), to: end }
  })
  await scanLog(log, ranges, (record) => {
    const decoded = decodeRecord(eventsTopicRecord, record)
    if (!decoded.ok) throw decoded.error
    foldRecord(state, record.partition, decoded.value, record.offset >= (checkpointed[record.partition] ?? 0))
  })
  return state
}

function foldRecord(state: SinkState, partition: number, record: EventsTopicRecord, afterCheckpoint: boolean): void {
  const unconfirmed = state.unconfirmed[partition]!
  if (record.type === 'chain_reorg') {
    const ancestor = record.data.common_ancestor
    const identity = reorgIdentity(ancestor.block_hash, record.data.orphaned_blocks[0]?.block_hash ?? '')
    state.tails[partition] = { block: ancestor.block_number, logIndex: Number.POSITIVE_INFINITY, lastReorg: identity }
    if (afterCheckpoint) for (const number of unconfirmed.keys()) if (number > ancestor.block_number) unconfirmed.delete(number)
    if (!state.markets.has(record.market_id)) state.markets.set(record.market_id, undefined)
    return
  }
  state.tails[partition] = { block: record.chain.block_number, logIndex: record.chain.log_index }
  if (afterCheckpoint) unconfirmed.set(record.chain.block_number, record.chain.block_hash)
  if (record.type === 'market_listed') state.markets.set(record.market_id, record.data.pyth_feed_id)
  else if (!state.markets.has(record.market_id)) state.markets.set(record.market_id, undefined)
}

/** The newest checkpoint of `key`, searching back from the end of its partition in growing windows. */
async function readLatestCheckpoint(log: Log, topic: string, key: string): Promise<CheckpointRecord | undefined> {
  const partitions = await log.partitionCount(topic)
  if (partitions === undefined) return undefined
  const partition = partitionForKey(key, partitions)
  const ends = await log.endOffsets(topic)
  const end = ends[partition] ?? 0
  for (let window = 16; ; window *= 8) {
    const from = Math.max(0, end - window)
    const ranges = ends.map((to, p) => ({ topic, partition: p, from: p === partition ? from : to, to }))
    let newest: StoredRecord | undefined
    await scanLog(log, ranges, (record) => {
      if (record.key === key) newest = record
    })
    if (newest !== undefined) {
      const decoded = decodeRecord(checkpointRecord, newest)
      if (!decoded.ok) throw decoded.error
      return decoded.value
    }
    if (from === 0) return undefined
  }
}

export interface OffsetRange {
  readonly topic: string
  readonly partition: number
  readonly from: number
  /** Exclusive: the end offset when the read started. */
  readonly to: number
}

/**
 * Hands every record of the ranges to onRecord, in offset order per partition, with one consumer.
 * The ranges name every partition of their topics (an empty one where nothing is wanted), so the
 * consumer starts each partition where it should instead of at the beginning.
 */
export async function scanLog(log: Log, ranges: readonly OffsetRange[], onRecord: (record: StoredRecord) => void): Promise<void> {
  const byPartition = new Map(ranges.map((range) => [`${range.topic}/${range.partition}`, range]))
  const remaining = new Set(ranges.filter((range) => range.to > range.from).map((range) => `${range.topic}/${range.partition}`))
  if (remaining.size === 0) return
  let finished: () => void = () => {}
  const allRead = new Promise<void>((resolve) => (finished = resolve))
  const consumer = log.consume({
    topics: [...new Set(ranges.map((range) => range.topic))],
    // The consumer commits nothing; a group of its own keeps two readers from sharing partitions.
    groupId: `perp-indexer-resume-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    from: (topic, partition) => {
      const range = byPartition.get(`${topic}/${partition}`)
      if (range === undefined) throw new Error(`no range was given for ${topic}/${partition}`)
      return range.from
    },
    onBatch: async ({ topic, partition, records }) => {
      const range = byPartition.get(`${topic}/${partition}`)
      if (range === undefined) return
      for (const record of records) {
        if (record.offset >= range.to || !remaining.has(`${topic}/${partition}`)) break
        onRecord(record)
      }
      if ((records.at(-1)?.offset ?? -1) >= range.to - 1) remaining.delete(`${topic}/${partition}`)
      if (remaining.size === 0) finished()
    },
  })
  try {
    await Promise.race([allRead, consumer.done])
  } finally {
    await consumer.stop()
  }
  if (remaining.size > 0) throw new Error(`the log stopped before ${[...remaining].join(', ')} was read to its end`)
}
