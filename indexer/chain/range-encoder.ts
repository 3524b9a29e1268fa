// Turns one eth_getLogs range into its records' JSON for the trusted write path (log-to-json.ts), or
// into record objects, with the same rules either way: removed and foreign logs skipped, a log
// outside the requested blocks is an invalid answer, and records come out in chain order even when
// the node sent the logs out of order. Pure: no I/O.
import type { Hex } from 'viem'
import type { BlockRange } from './adaptive-range.ts'
import { RpcError } from './chain-rpc.ts'
import type { RawLog } from './chain-types.ts'
import { createEncodedRecordsBuilder, sortedByChainPosition, type EncodedRecords } from './encoded-records.ts'
import type { ChainEventRecord } from '../records/schemas.ts'
import type { EncodedEvent, LogToJson } from './log-to-json.ts'
import type { LogToRecord } from './log-to-record.ts'

type RawLogWithTimestamp = RawLog & { readonly blockTimestamp?: string }

/**
 * Each block's timestamp where the node sent it with the logs (anvil and geth add blockTimestamp),
 * and the blocks whose logs lack it, whose headers the caller fetches.
 */
export function logTimestamps(logs: readonly RawLog[]): { timestamps: Map<string, number>; missing: Set<Hex> } {
  const timestamps = new Map<string, number>()
  const missing = new Set<Hex>()
  let previous = ''
  for (const log of logs as readonly RawLogWithTimestamp[]) {
    if (log.blockHash === previous) continue
    previous = log.blockHash
    const stamp = log.blockTimestamp
    if (typeof stamp === 'string' && /^0x[0-9a-fA-F]{1,12}$/.test(stamp)) timestamps.set(log.blockHash, Number.parseInt(stamp.slice(2), 16))
    else missing.add(log.blockHash)
  }
  return { timestamps, missing }
}

/**
 * The range's rules, for either output: each log not removed is mapped with its block's timestamp
 * (foreign logs map to undefined and are skipped), a mapped log outside the requested blocks is an
 * invalid answer, and `add` gets the rest in the node's order. True when that order was chain order.
 */
function eachRangeLog<T>(
  logs: readonly RawLog[],
  timestamps: ReadonlyMap<string, number>,
  range: BlockRange,
  map: (log: RawLog, blockTimestamp: number) => T | undefined,
  blockOf: (item: T) => number,
  indexOf: (item: T) => number,
  add: (item: T) => void,
): boolean {
  let inOrder = true
  let previousHash = ''
  let timestamp = 0
  let lastBlock = -1
  let lastIndex = -1
  for (const log of logs) {
    if (log.removed === true) continue
    if (log.blockHash !== previousHash) {
      previousHash = log.blockHash
      timestamp = timestamps.get(log.blockHash) ?? -1
    }
    const item = map(log, timestamp)
    if (item === undefined) continue
    const block = blockOf(item)
    const index = indexOf(item)
    if (block < range.from || block > range.to) {
      throw new RpcError(`eth_getLogs for blocks ${range.from}-${range.to} answered a log of block ${block}`, 'invalid_response', 'eth_getLogs')
    }
    if (block < lastBlock || (block === lastBlock && index <= lastIndex)) inOrder = false
    add(item)
    lastBlock = block
    lastIndex = index
  }
  return inOrder
}

export function encodeRange(toJson: LogToJson, logs: readonly RawLog[], timestamps: ReadonlyMap<string, number>, range: BlockRange): EncodedRecords {
  const records = createEncodedRecordsBuilder()
  const blockOf = (event: EncodedEvent): number => event.blockNumber
  const indexOf = (event: EncodedEvent): number => event.logIndex
  const inOrder = eachRangeLog(logs, timestamps, range, toJson, blockOf, indexOf, (event) => records.add(event))
  const encoded = records.finish()
  return inOrder ? encoded : sortedByChainPosition(encoded)
}

/** The same range as record objects, for a sink without the trusted write path. */
export function toRecords(toRecord: LogToRecord, logs: readonly RawLog[], timestamps: ReadonlyMap<string, number>, range: BlockRange): ChainEventRecord[] {
  const records: ChainEventRecord[] = []
  const blockOf = (record: ChainEventRecord): number => record.chain.block_number
  const indexOf = (record: ChainEventRecord): number => record.chain.log_index
  const inOrder = eachRangeLog(logs, timestamps, range, toRecord, blockOf, indexOf, (record) => records.push(record))
  if (!inOrder) records.sort((a, b) => a.chain.block_number - b.chain.block_number || a.chain.log_index - b.chain.log_index)
  return records
}
