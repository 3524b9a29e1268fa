// What the indexer tests compare the log with: the canonical chain's records (raw eth_getLogs,
// block timestamps from the headers, mapped by log-to-record), and the records a topic holds, read
// back through the typed reader.
import type { Hex } from 'viem'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { RawLog } from '../../indexer/chain/chain-types.ts'
import { createEventDecoder } from '../../indexer/chain/event-decoder.ts'
import { createLogToRecord } from '../../indexer/chain/log-to-record.ts'
import type { Log } from '../../indexer/log/log.ts'
import { decodeRecord } from '../../indexer/log/typed-log.ts'
import { eventsTopicRecord, type ChainEventRecord, type EventsTopicRecord } from '../../indexer/records/schemas.ts'

export interface TopicRecord {
  readonly partition: number
  readonly offset: number
  readonly key: string
  readonly record: EventsTopicRecord
}

async function rpc<T>(url: string, method: string, params: readonly unknown[]): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  const body = (await response.json()) as { result?: T; error?: { message: string } }
  if (body.error !== undefined || body.result === undefined) throw new Error(`${method} failed: ${body.error?.message ?? 'no result'}`)
  return body.result
}

const hex = (n: number): Hex => `0x${n.toString(16)}`

/** Every record of the contract's logs up to `toBlock`, as the canonical chain has them, in chain order. */
export async function canonicalRecords(options: { rpcUrl: string; chainId: number; contract: Hex; toBlock: number }): Promise<ChainEventRecord[]> {
  const toRecord = createLogToRecord({
    chainId: options.chainId,
    contract: options.contract,
    decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }),
  })
  const records: ChainEventRecord[] = []
  const timestamps = new Map<string, number>()
  for (let from = 0; from <= options.toBlock; from += 20) {
    const to = Math.min(options.toBlock, from + 19)
    const logs = await rpc<RawLog[]>(options.rpcUrl, 'eth_getLogs', [{ address: options.contract, fromBlock: hex(from), toBlock: hex(to) }])
    for (const log of logs) {
      let timestamp = timestamps.get(log.blockHash)
      if (timestamp === undefined) {
        const header = await rpc<{ timestamp: Hex }>(options.rpcUrl, 'eth_getBlockByHash', [log.blockHash, false])
        timestamp = Number(header.timestamp)
        timestamps.set(log.blockHash, timestamp)
      }
      const record = toRecord(log, timestamp)
      if (record !== undefined) records.push(record)
    }
  }
  return records
}

/** Every record of the topic, decoded and validated, in offset order per partition. */
export async function readTopic(log: Log, topic: string): Promise<TopicRecord[]> {
  const ends = await log.endOffsets(topic)
  const remaining = new Set(ends.flatMap((end, partition) => (end > 0 ? [partition] : [])))
  const out: TopicRecord[] = []
  if (remaining.size === 0) return out
  let done: () => void = () => {}
  const allRead = new Promise<void>((resolve) => (done = resolve))
  const consumer = log.consume({
    topics: [topic],
    groupId: `test-reader-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    from: () => 0,
    onBatch: async ({ partition, records }) => {
      for (const stored of records) {
        const decoded = decodeRecord(eventsTopicRecord, stored)
        if (!decoded.ok) throw decoded.error
        out.push({ partition, offset: stored.offset, key: stored.key, record: decoded.value })
        if (stored.offset >= (ends[partition] ?? 0) - 1) remaining.delete(partition)
      }
      if (remaining.size === 0) done()
    },
  })
  await Promise.race([allRead, consumer.done])
  await consumer.stop()
  return out
}

/** Market id -> its chain event records in the order the topic holds them. */
export function recordsByMarket(records: readonly TopicRecord[]): Map<string, ChainEventRecord[]> {
  const byMarket = new Map<string, ChainEventRecord[]>()
  const ordered = [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  for (const { record } of ordered) {
    if (record.type === 'chain_reorg') continue
    const list = byMarket.get(record.market_id) ?? []
    list.push(record)
    byMarket.set(record.market_id, list)
  }
  return byMarket
}

/** Whether each list ascends strictly by (block number, log index). */
export function inChainOrder(records: readonly ChainEventRecord[]): boolean {
  return records.every((record, i) => {
    const previous = records[i - 1]?.chain
    const { block_number: block, log_index: index } = record.chain
    return previous === undefined || block > previous.block_number || (block === previous.block_number && index > previous.log_index)
  })
}

/** The id of the first record that appears twice, or undefined. */
export function firstDuplicateId(records: readonly TopicRecord[]): string | undefined {
  const seen = new Set<string>()
  for (const { record } of records) {
    if (seen.has(record.id)) return record.id
    seen.add(record.id)
  }
  return undefined
}
