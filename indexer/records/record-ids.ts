// Deterministic record ids: the same fact always gets the same id, whichever indexer run or replica
// wrote it, so consumers can deduplicate redelivered records by id. Hex parts are lowercased, so an
// id does not depend on how an RPC node or Hermes happened to case a hash.
import { hash32Pattern, marketIdPattern } from './record-fields.ts'

export class RecordIdError extends Error {
  override readonly name = 'RecordIdError'
}

function hash32(name: string, value: string): string {
  const lower = value.toLowerCase()
  if (!hash32Pattern.test(lower)) throw new RecordIdError(`${name} is not a 32-byte hex hash: ${JSON.stringify(value)}`)
  return lower
}

function count(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RecordIdError(`${name} is not a non-negative integer: ${value}`)
  }
  return value
}

/** "<chain_id>:<tx_hash>:<log_index>": a log's identity within a chain. */
export function chainEventId(chainId: number, txHash: string, logIndex: number): string {
  return `${count('chain id', chainId)}:${hash32('tx hash', txHash)}:${count('log index', logIndex)}`
}

/**
 * "pyth:<feed_id>:<publish_time>": a feed's price at one publish second (Pyth's time resolution), so
 * a tick seen twice (a Hermes reconnect, two indexers) gets one id, and the log keeps at most one
 * tick per feed per second. The feed id may come without "0x", as Hermes sends it.
 */
export function tickId(feedId: string, publishTime: number): string {
  const prefixed = feedId.startsWith('0x') || feedId.startsWith('0X') ? feedId : `0x${feedId}`
  return `pyth:${hash32('feed id', prefixed)}:${count('publish time', publishTime)}`
}

/**
 * "<chain_id>:reorg:<common_ancestor_hash>:<first_orphaned_block_hash>:<market_id>": one reorg is
 * identified by where it forked and which branch it dropped; the market id tells apart its copies,
 * one per affected market key.
 */
export function reorgId(chainId: number, ancestorHash: string, firstOrphanHash: string, marketId: string): string {
  if (!marketIdPattern.test(marketId)) throw new RecordIdError(`market id is not a slug: ${JSON.stringify(marketId)}`)
  const ancestor = hash32('common ancestor hash', ancestorHash)
  const orphan = hash32('first orphaned block hash', firstOrphanHash)
  return `${count('chain id', chainId)}:reorg:${ancestor}:${orphan}:${marketId}`
}
