// The EventSink on the log: chain event records and reorg records go to perp.events.v1 through the
// typed record writer (every record validated, by the fast events codec), keyed by market id; a checkpoint goes to the
// compacted perp.indexer.checkpoints.v1 after every write.
//
// Crash safety (kill -9 at any moment; a restart leaves no gap and no duplicate record id):
// - Invariant: records are written in chain order, and an append, even one cut short, leaves each
//   partition with a prefix of its share, never a gap (a SQLite transaction writes all or nothing;
//   Kafka gets a partition's records in order, each send waiting for the previous one). So a
//   partition holds every record it should up to its last record's chain position (block_number,
//   log_index), and none after it. A chain_reorg record moves that position back to its ancestor.
// - The checkpoint holds the next block to write, the unfinalized block refs, the known markets and
//   each partition's end offset, as they were right after a write. It is written after the records,
//   so a crash between the two leaves records the checkpoint does not cover.
// - resume() reads the newest checkpoint, then the records after its offsets (and each partition's
//   last record): the partitions' tail positions. The next block is the checkpoint's; blocks after it
//   are fetched and written again, and every record at or before its partition's tail position is
//   dropped as already written. Nothing is lost (the log's tail is never ahead of what is
//   rewritten) and nothing is doubled (the tail filter).
// - Records written after the checkpoint may belong to blocks that a reorg removed while the process
//   was down. Their blocks (number, hash) are kept as "unconfirmed"; when a block arrives at one of
//   those heights with another hash, a chain_reorg record is written for them first, so the orphaned
//   records are undone rather than silently kept.
// - A reorg record is not written twice: a partition whose last record is the same reorg (same
//   common ancestor and first orphaned block) is skipped, so appendReorg is safe to repeat.
// A failed append is not retried here: the sink's in-memory positions may then disagree with the
// log, so the process stops and a restart resumes from the log.
import type { Hex } from 'viem'
import type { AppendedPosition, Log } from '../log/log.ts'
import { partitionForKey } from '../log/partitioner.ts'
import { createRecordWriter, type RecordWriter } from '../log/typed-log.ts'
import { reorgId } from '../records/record-ids.ts'
import { eventsTopicRecord, recordSchemaVersion, type ChainReorgRecord, type EventsTopicRecord } from '../records/schemas.ts'
import { topics } from '../records/topics.ts'
import type { Logger } from '../runtime/logger.ts'
import type { Counter, Gauge, MetricsRegistry } from '../runtime/metrics.ts'
import type { EncodedFinalizedRange, FinalizedRange, FinalizedRangeSink } from './backfill.ts'
import type { BlockRef, IndexedBlock } from './chain-types.ts'
import { encodedFreshRecords } from './encoded-sink-records.ts'
import { eventsRecordCodec } from './events-record-codec.ts'
import { checkpointKey, checkpointRecord, checkpointTopic, toCheckpointBlock, type CheckpointRecord } from './checkpoint-record.ts'
import type { ChainReorg, EventSink, ResumePoint } from './event-sink.ts'
import { readSinkState, reorgIdentity, type PartitionTail, type SinkState } from './sink-resume.ts'

export interface LogEventSinkDeps {
  readonly log: Log
  readonly chainId: number
  readonly contract: Hex
  /** The first block to index when the log holds no checkpoint. */
  readonly startBlock: number
  /** Partitions of perp.events.v1 when it is created. */
  readonly partitions: number
  readonly finalityDepth: number
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  /** Defaults to perp.events.v1; tests and benchmarks use their own. */
  readonly eventsTopic?: string
  readonly checkpointTopic?: string
}

export interface LogEventSink extends EventSink, Required<FinalizedRangeSink> {
  /** Markets with records on the log: market id -> Pyth feed id, once its MarketListed was seen. */
  markets(): ReadonlyMap<string, string | undefined>
}

/** A caller handed blocks out of chain order: a bug, never a chain condition. */
export class SinkOrderError extends Error {
  override readonly name = 'SinkOrderError'
}

interface BlockId {
  readonly number: number
  readonly hash: string
}

/** What the write steps share: the writers, the metrics and the settings. */
interface SinkContext {
  readonly chainId: number
  readonly contract: string
  readonly finalityDepth: number
  readonly logger: Logger
  readonly events: RecordWriter<EventsTopicRecord>
  readonly checkpoints: RecordWriter<CheckpointRecord>
  readonly written: Counter
  readonly lastBlock: Gauge
  readonly partitionOf: (marketId: string) => number
}

function createSinkContext(deps: LogEventSinkDeps, topicsOf: { events: string; checkpoints: string; key: string }): SinkContext {
  const { log } = deps
  return {
    chainId: deps.chainId,
    contract: deps.contract.toLowerCase(),
    finalityDepth: deps.finalityDepth,
    logger: deps.logger,
    events: createRecordWriter({ log, topic: topicsOf.events, schema: eventsTopicRecord, codec: eventsRecordCodec, keyOf: (r) => r.market_id }),
    checkpoints: createRecordWriter({ log, topic: topicsOf.checkpoints, schema: checkpointRecord, keyOf: () => topicsOf.key }),
    written: deps.metrics.counter('indexer_events_total', 'Records appended to perp.events.v1, by type'),
    lastBlock: deps.metrics.gauge('indexer_last_written_block', 'The newest block whose records are all on the log'),
    partitionOf: createPartitionCache(deps.partitions),
  }
}

export function createLogEventSink(deps: LogEventSinkDeps): LogEventSink {
  const { log, chainId } = deps
  const eventsTopic = deps.eventsTopic ?? topics.events
  const checkpoints = deps.checkpointTopic ?? checkpointTopic
  const key = checkpointKey(chainId, deps.contract)
  const context = createSinkContext(deps, { events: eventsTopic, checkpoints, key })
  let state: SinkState | undefined
  let resuming: Promise<SinkState> | undefined
  let failed: unknown

  function current(): SinkState {
    if (failed !== undefined) throw new Error('the event sink stopped after a failed append; restart to resume from the log', { cause: failed })
    if (state === undefined) throw new SinkOrderError('resume() must be called before anything is appended')
    return state
  }

  async function load(): Promise<SinkState> {
    await log.ensureTopics([
      { name: eventsTopic, partitions: deps.partitions },
      { name: checkpoints, partitions: 1, compacted: true },
    ])
    const loaded = await readSinkState({ log, eventsTopic, checkpointTopic: checkpoints, checkpointKey: key, startBlock: deps.startBlock })
    loaded.unfinalized = loaded.unfinalized.slice(-(deps.finalityDepth + 1))
    deps.logger.info('event sink resumed', {
      nextBlock: loaded.nextBlock,
      unfinalizedBlocks: loaded.unfinalized.length,
      markets: [...loaded.markets.keys()],
      unconfirmedBlocks: loaded.unconfirmed.reduce((n, blocks) => n + blocks.size, 0),
    })
    state = loaded
    return loaded
  }

  /** Runs one write step; a failure leaves the sink unusable (see the note on failed appends). */
  async function guarded(step: (s: SinkState) => Promise<void>): Promise<void> {
    const s = current()
    try {
      await step(s)
    } catch (error) {
      failed = error
      throw error
    }
  }

  return {
    resume: async (): Promise<ResumePoint> => {
      const s = state ?? (await (resuming ??= load()))
      return { nextBlock: s.nextBlock, unfinalized: [...s.unfinalized] }
    },
    appendBlocks: (blocks) => guarded((s) => appendBlocksTo(context, s, blocks)),
    appendReorg: (reorg) => guarded((s) => appendReorgTo(context, s, reorg)),
    appendFinalized: (range) => guarded((s) => appendFinalizedTo(context, s, range)),
    appendEncoded: (range) => guarded((s) => appendFinalizedTo(context, s, range)),
    markets: () => current().markets,
  }
}

async function appendBlocksTo(c: SinkContext, s: SinkState, blocks: readonly IndexedBlock<EventsTopicRecord>[]): Promise<void> {
  let start = 0
  for (let i = 0; i < blocks.length; i++) {
    const orphaned = orphanedUnconfirmed(s, blocks[i]!.block)
    if (orphaned.length === 0) continue
    await writeBlocks(c, s, blocks.slice(start, i))
    const ancestor = s.unfinalized.at(-1)
    if (ancestor === undefined) {
      throw new SinkOrderError(`records of block #${blocks[i]!.block.number} were orphaned, but no written block is held below it`)
    }
    c.logger.warn('records written before a restart were orphaned while it was down', { ancestor: ancestor.number, orphaned })
    await writeReorg(c, s, ancestor, orphaned, blocks.at(-1)!.block)
    start = i
  }
  await writeBlocks(c, s, blocks.slice(start))
}

async function writeBlocks(c: SinkContext, s: SinkState, blocks: readonly IndexedBlock<EventsTopicRecord>[]): Promise<void> {
  if (blocks.length === 0) return
  assertLinks(s, blocks)
  await writeRecords(c, s, blocks.flatMap((b) => b.records))
  const last = blocks.at(-1)!.block
  s.unfinalized = [...s.unfinalized, ...blocks.map((b) => b.block)].slice(-(c.finalityDepth + 1))
  s.nextBlock = last.number + 1
  dropUnconfirmed(s, (number) => number <= last.number)
  await writeCheckpoint(c, s)
}

async function appendReorgTo(c: SinkContext, s: SinkState, reorg: ChainReorg): Promise<void> {
  const ancestor = reorg.commonAncestor
  const orphaned = new Map<number, string>(unconfirmedAbove(s, ancestor.number).map((b) => [b.number, b.hash]))
  for (const block of reorg.orphaned) orphaned.set(block.number, block.hash.toLowerCase())
  const ordered = [...orphaned].sort(([a], [b]) => a - b).map(([number, hash]) => ({ number, hash }))
  await writeReorg(c, s, ancestor, ordered, reorg.newHead)
  s.unfinalized = s.unfinalized.filter((block) => block.number <= ancestor.number)
  s.nextBlock = ancestor.number + 1
  await writeCheckpoint(c, s)
}

async function appendFinalizedTo(c: SinkContext, s: SinkState, range: FinalizedRange | EncodedFinalizedRange): Promise<void> {
  if (range.from !== s.nextBlock || range.through.number < range.from) {
    throw new SinkOrderError(`range #${range.from}-#${range.through.number} does not start at the next block #${s.nextBlock}`)
  }
  if ('encoded' in range) await writeEncoded(c, s, range)
  else await writeRecords(c, s, range.records)
  s.unfinalized = [range.through]
  s.nextBlock = range.through.number + 1
  dropUnconfirmed(s, (number) => number <= range.through.number)
  await writeCheckpoint(c, s)
}

/** Appends the records not yet on the log and advances the tails and end offsets. */
async function writeRecords(c: SinkContext, s: SinkState, records: readonly EventsTopicRecord[]): Promise<void> {
  const fresh: EventsTopicRecord[] = []
  for (const record of records) {
    noteMarket(s, record)
    if (isFresh(s, c.partitionOf(record.market_id), record)) fresh.push(record)
  }
  if (fresh.length === 0) return
  const positions = await c.events.write(fresh)
  noteWritten(c, s, positions, (i) => {
    const record = fresh[i]!
    return record.type === 'chain_reorg'
      ? { block: record.chain.block_number, logIndex: Number.POSITIVE_INFINITY, lastReorg: identityOf(record) }
      : { block: record.chain.block_number, logIndex: record.chain.log_index }
  }, (i) => fresh[i]!.type)
}

/** writeRecords for a range of the trusted write path: the same tails, offsets and counts. */
async function writeEncoded(c: SinkContext, s: SinkState, range: EncodedFinalizedRange): Promise<void> {
  const fresh = encodedFreshRecords(range.encoded, {
    markets: s.markets,
    isFresh: (partition, block, logIndex) => isFreshAt(s, partition, block, logIndex),
    partitionOf: c.partitionOf,
  })
  if (fresh.records.length === 0) return
  const positions = await c.events.writeEncoded(fresh.records)
  const { blockNumbers, logIndexes } = range.encoded
  noteWritten(c, s, positions, (k) => {
    const i = fresh.indexes[k]!
    return { block: blockNumbers[i]!, logIndex: logIndexes[i]! }
  }, (k) => fresh.types[k]!)
}

/**
 * After an append: each partition's end offset and tail (`tailOf` the k-th record written), and
 * the records written counted by type.
 */
function noteWritten(c: SinkContext, s: SinkState, positions: readonly AppendedPosition[], tailOf: (k: number) => PartitionTail, typeOf: (k: number) => string): void {
  const counts = new Map<string, number>()
  positions.forEach((position, k) => {
    s.eventOffsets[position.partition] = Math.max(s.eventOffsets[position.partition] ?? 0, position.offset + 1)
    s.tails[position.partition] = tailOf(k)
    const type = typeOf(k)
    counts.set(type, (counts.get(type) ?? 0) + 1)
  })
  for (const [type, count] of counts) c.written.inc({ type }, count)
}

async function writeCheckpoint(c: SinkContext, s: SinkState): Promise<void> {
  const markets = [...s.markets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  await c.checkpoints.write([
    {
      v: recordSchemaVersion,
      chain_id: c.chainId,
      contract: c.contract,
      next_block: s.nextBlock,
      unfinalized: s.unfinalized.map(toCheckpointBlock),
      markets: markets.map(([market_id, feed]) => (feed === undefined ? { market_id } : { market_id, pyth_feed_id: feed })),
      event_offsets: [...s.eventOffsets],
    },
  ])
  c.lastBlock.set(s.nextBlock - 1)
}

/** One chain_reorg per known market, skipping partitions that already end with this very reorg. */
async function writeReorg(c: SinkContext, s: SinkState, ancestor: BlockId, orphaned: readonly BlockId[], newHead: BlockId): Promise<void> {
  const first = orphaned[0]
  if (first === undefined) return
  const identity = reorgIdentity(ancestor.hash.toLowerCase(), first.hash.toLowerCase())
  const markets = [...s.markets.keys()].sort()
  const records = markets
    .filter((market) => s.tails[c.partitionOf(market)]?.lastReorg !== identity)
    .map((market) => reorgRecord(c.chainId, market, ancestor, orphaned, newHead))
  await writeRecords(c, s, records)
  for (const market of markets) {
    s.tails[c.partitionOf(market)] = { block: ancestor.number, logIndex: Number.POSITIVE_INFINITY, lastReorg: identity }
  }
  dropUnconfirmed(s, (number) => number > ancestor.number)
}

function isFresh(s: SinkState, partition: number, record: EventsTopicRecord): boolean {
  if (record.type === 'chain_reorg') return true
  return isFreshAt(s, partition, record.chain.block_number, record.chain.log_index)
}

function isFreshAt(s: SinkState, partition: number, block: number, logIndex: number): boolean {
  const tail = s.tails[partition]
  return tail === undefined || block > tail.block || (block === tail.block && logIndex > tail.logIndex)
}

function noteMarket(s: SinkState, record: EventsTopicRecord): void {
  if (record.type === 'market_listed') s.markets.set(record.market_id, record.data.pyth_feed_id)
  else if (!s.markets.has(record.market_id)) s.markets.set(record.market_id, undefined)
}

function dropUnconfirmed(s: SinkState, drop: (blockNumber: number) => boolean): void {
  for (const blocks of s.unconfirmed) for (const number of blocks.keys()) if (drop(number)) blocks.delete(number)
}

/** The heights at and above `block` whose written records came from another branch, ascending. */
function orphanedUnconfirmed(s: SinkState, block: BlockRef): BlockId[] {
  const hash = block.hash.toLowerCase()
  const conflict = s.unconfirmed.some((blocks) => {
    const seen = blocks.get(block.number)
    return seen !== undefined && seen !== hash
  })
  return conflict ? unconfirmedAbove(s, block.number - 1) : []
}

function unconfirmedAbove(s: SinkState, above: number): BlockId[] {
  const byNumber = new Map<number, string>()
  for (const blocks of s.unconfirmed) {
    for (const [number, hash] of blocks) if (number > above && !byNumber.has(number)) byNumber.set(number, hash)
  }
  return [...byNumber].sort(([a], [b]) => a - b).map(([number, hash]) => ({ number, hash }))
}

function assertLinks(s: SinkState, blocks: readonly IndexedBlock<EventsTopicRecord>[]): void {
  let tip = s.unfinalized.at(-1)
  let next = s.nextBlock
  for (const indexed of blocks) {
    const block = indexed.block
    const linked = tip === undefined || block.parentHash.toLowerCase() === tip.hash.toLowerCase()
    if (block.number !== next || !linked) {
      throw new SinkOrderError(`block #${block.number} ${block.hash} does not follow #${next - 1} ${tip?.hash ?? '(none held)'}`)
    }
    tip = block
    next = block.number + 1
  }
}

function createPartitionCache(partitions: number): (key: string) => number {
  const byKey = new Map<string, number>()
  return (key) => {
    let partition = byKey.get(key)
    if (partition === undefined) {
      partition = partitionForKey(key, partitions)
      byKey.set(key, partition)
    }
    return partition
  }
}

function identityOf(record: ChainReorgRecord): string {
  return reorgIdentity(record.data.common_ancestor.block_hash, record.data.orphaned_blocks[0]?.block_hash ?? '')
}

function reorgRecord(chainId: number, market: string, ancestor: BlockId, orphaned: readonly BlockId[], newHead: BlockId): ChainReorgRecord {
  const ref = (block: BlockId) => ({ block_number: block.number, block_hash: block.hash.toLowerCase() })
  return {
    v: recordSchemaVersion,
    id: reorgId(chainId, ancestor.hash, orphaned[0]!.hash, market),
    type: 'chain_reorg',
    market_id: market,
    chain: { chain_id: chainId, block_number: ancestor.number, block_hash: ancestor.hash.toLowerCase() },
    data: { common_ancestor: ref(ancestor), orphaned_blocks: orphaned.map(ref), new_head: ref(newHead) },
  }
}
