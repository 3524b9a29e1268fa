// The chain as the indexer sees it: block headers linked by parent hash, and raw logs as
// eth_getLogs returns them. Block numbers are JS numbers: chain heights stay far below 2^53.
import type { Hex } from 'viem'

export interface BlockRef {
  readonly number: number
  readonly hash: Hex
  readonly parentHash: Hex
  /** Unix seconds. */
  readonly timestamp: number
}

/** A log exactly as eth_getLogs returns it (hex quantities), before decoding. */
export interface RawLog {
  readonly address: Hex
  readonly topics: readonly Hex[]
  readonly data: Hex
  readonly blockNumber: Hex
  readonly blockHash: Hex
  readonly transactionHash: Hex
  readonly logIndex: Hex
  readonly removed?: boolean
}

/** The records of one block, in log order, ready for the log. */
export interface IndexedBlock<R> {
  readonly block: BlockRef
  readonly records: readonly R[]
}
