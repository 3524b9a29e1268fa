// The indexer's checkpoint: where its chain work stands, written to a small compacted topic after
// every write to perp.events.v1, so only the newest per key (chain id + contract) is kept. It is
// what a restart resumes from, together with the records appended after it (see log-event-sink.ts).
import { z } from 'zod'
import { address, hash32, marketId, recordVersion, uint, unixSeconds } from '../records/record-fields.ts'
import type { BlockRef } from './chain-types.ts'
import { topics } from '../records/topics.ts'

/** Compacted; one partition, since there is one record per indexed contract. */
export const checkpointTopic = topics.indexerCheckpoints

const checkpointBlock = z.strictObject({
  number: uint,
  hash: hash32,
  parent_hash: hash32,
  timestamp: unixSeconds,
})

export const checkpointRecord = z
  .strictObject({
    v: recordVersion,
    chain_id: uint,
    contract: address,
    /** The first block whose records are not known to be fully written. */
    next_block: uint,
    /** The written blocks that may still be reorganised away, ascending and linked by parent hash. */
    unfinalized: z.array(checkpointBlock),
    /** Every market with a record on the log, and its Pyth feed once its MarketListed was seen. */
    markets: z.array(z.strictObject({ market_id: marketId, pyth_feed_id: hash32.optional() })),
    /** The end offset of each partition of perp.events.v1 right after the write this follows. */
    event_offsets: z.array(uint),
  })
  .refine(
    (record) => {
      const last = record.unfinalized.at(-1)
      return last === undefined || last.number === record.next_block - 1
    },
    { path: ['unfinalized'], error: 'the newest unfinalized block must be just below next_block' },
  )

export type CheckpointRecord = z.infer<typeof checkpointRecord>

export function checkpointKey(chainId: number, contract: string): string {
  return `${chainId}:${contract.toLowerCase()}`
}

export function toCheckpointBlock(block: BlockRef): CheckpointRecord['unfinalized'][number] {
  return {
    number: block.number,
    hash: block.hash.toLowerCase(),
    parent_hash: block.parentHash.toLowerCase(),
    timestamp: block.timestamp,
  }
}

export function fromCheckpointBlock(block: CheckpointRecord['unfinalized'][number]): BlockRef {
  return {
    number: block.number,
    hash: block.hash as BlockRef['hash'],
    parentHash: block.parent_hash as BlockRef['hash'],
    timestamp: block.timestamp,
  }
}
