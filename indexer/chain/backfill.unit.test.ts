// The backfill pipeline against an in-memory chain: answers come back in random order and some
// ranges are refused, yet the sink must see consecutive ranges in block order with every record once.
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../test/support/faulty-rpc-proxy.ts'
import { chainEventId } from '../records/record-ids.ts'
import type { ChainEventRecord } from '../records/schemas.ts'
import { silentLogger } from '../runtime/logger.ts'
import { createMetricsRegistry } from '../runtime/metrics.ts'
import { SingleBlockTooLargeError } from './adaptive-range.ts'
import { createBackfill, type FinalizedRange } from './backfill.ts'
import { RpcError, type ChainRpc, type LogFilter } from './chain-rpc.ts'
import type { BlockRef, RawLog } from './chain-types.ts'
import type { LogToRecord } from './log-to-record.ts'

const contract: Hex = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const hex = (n: number): Hex => `0x${n.toString(16)}`
const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`
const header = (n: number): BlockRef => ({ number: n, hash: hash(n), parentHash: hash(n - 1), timestamp: 1_000 + n })

interface FakeChainOptions {
  readonly head: number
  /** Logs in block n: n % 3 (so some blocks have none). */
  readonly refuseAbove?: number
  /** Blocks whose logs lack blockTimestamp, so their header must be fetched. */
  readonly withoutTimestamp?: (block: number) => boolean
  readonly random: () => number
}

/** An in-memory chain whose answers arrive after random delays. */
function fakeChain(options: FakeChainOptions): { rpc: ChainRpc; headerFetches: number[] } {
  const headerFetches: number[] = []
  const later = <T>(value: () => T): Promise<T> => new Promise((resolve, reject) => setTimeout(() => {
    try {
      resolve(value())
    } catch (error) {
      reject(error)
    }
  }, Math.floor(options.random() * 5)))
  const logsOf = (filter: LogFilter): RawLog[] => {
    if ('blockHash' in filter) throw new Error('not used by the backfill')
    if (options.refuseAbove !== undefined && filter.toBlock - filter.fromBlock + 1 > options.refuseAbove) {
      throw new RpcError('query returned more than 10000 results', 'range_too_large', 'eth_getLogs')
    }
    const logs: RawLog[] = []
    for (let block = filter.fromBlock; block <= filter.toBlock; block++) {
      for (let i = 0; i < block % 3; i++) {
        const log = { address: contract, topics: [], data: '0x', blockNumber: hex(block), blockHash: hash(block), transactionHash: hash(block * 10 + i + 1_000_000), logIndex: hex(i) } as RawLog
        logs.push(options.withoutTimestamp?.(block) === true ? log : ({ ...log, blockTimestamp: hex(1_000 + block) } as RawLog))
      }
    }
    return logs
  }
  const rpc: ChainRpc = {
    chainId: () => later(() => 31337),
    blockNumber: () => later(() => options.head),
    getBlockByNumber: (block) => later(() => (typeof block === 'number' ? header(block) : header(options.head))),
    getBlockByHash: (blockHash) => later(() => {
      const number = Number.parseInt(blockHash.slice(2), 16)
      headerFetches.push(number)
      return header(number)
    }),
    getLogs: (filter) => later(() => logsOf(filter)),
    close: async () => {},
  }
  return { rpc, headerFetches }
}

const toRecord: LogToRecord = (log, timestamp) => {
  const block = Number(log.blockNumber)
  const logIndex = Number(log.logIndex)
  return {
    v: 1,
    id: chainEventId(31337, log.transactionHash, logIndex),
    type: 'funding_updated',
    market_id: 'btc-usdc-perp',
    chain: { chain_id: 31337, contract, block_number: block, block_hash: log.blockHash, tx_hash: log.transactionHash, log_index: logIndex, block_timestamp: timestamp },
    data: { funding_rate: '0', cumulative_funding_index: '0', long_open_interest: '0', short_open_interest: '0', timestamp },
  } satisfies ChainEventRecord
}

function recordingSink(): { appendFinalized: (range: FinalizedRange) => Promise<void>; ranges: FinalizedRange[] } {
  const ranges: FinalizedRange[] = []
  return { ranges, appendFinalized: async (range) => void ranges.push(range) }
}

function backfillOver(rpc: ChainRpc, sink: ReturnType<typeof recordingSink>, options: { concurrency: number; maxRange: number }) {
  return createBackfill({
    rpc,
    sink,
    toRecord,
    contract,
    concurrency: options.concurrency,
    maxRange: options.maxRange,
    initialRange: 4,
    targetLogs: 20,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    logger: silentLogger,
    metrics: createMetricsRegistry(),
    progress: () => ({ update: () => {}, finish: () => {} }),
  })
}

describe('backfill pipeline', () => {
  it('hands the sink consecutive ranges in block order, every record once, whatever order answers come in', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { rpc } = fakeChain({ head: 500, refuseAbove: 13, random: seededRandom(seed) })
      const sink = recordingSink()
      const result = await backfillOver(rpc, sink, { concurrency: 6, maxRange: 64 }).run({ from: 17, to: 480 })
      let next = 17
      for (const range of sink.ranges) {
        expect(range.from).toBe(next)
        expect(range.through).toEqual(header(range.through.number))
        next = range.through.number + 1
      }
      expect(next).toBe(481)
      const records = sink.ranges.flatMap((range) => range.records)
      const expected = Array.from({ length: 464 }, (_, i) => 17 + i).reduce((n, block) => n + (block % 3), 0)
      expect(records.length).toBe(expected)
      expect(result.events).toBe(expected)
      expect(records.every((r, i) => i === 0 || r.chain.block_number > records[i - 1]!.chain.block_number || r.chain.log_index > records[i - 1]!.chain.log_index)).toBe(true)
    }
  })

  it('takes timestamps from the logs, and fetches a header only for blocks whose logs lack one', async () => {
    const { rpc, headerFetches } = fakeChain({ head: 60, withoutTimestamp: (block) => block % 10 === 1, random: seededRandom(7) })
    const sink = recordingSink()
    await backfillOver(rpc, sink, { concurrency: 2, maxRange: 16 }).run({ from: 0, to: 60 })
    expect([...headerFetches].sort((a, b) => a - b)).toEqual([1, 11, 31, 41])
    for (const record of sink.ranges.flatMap((range) => range.records)) expect(record.chain.block_timestamp).toBe(1_000 + record.chain.block_number)
  })

  it('fails with the block number when one block is more than the provider returns', async () => {
    const { rpc } = fakeChain({ head: 100, refuseAbove: 0, random: seededRandom(9) })
    await expect(backfillOver(rpc, recordingSink(), { concurrency: 3, maxRange: 8 }).run({ from: 40, to: 100 })).rejects.toBeInstanceOf(SingleBlockTooLargeError)
  })

  it('stops with the first error that retrying cannot fix, and writes nothing after it', async () => {
    const { rpc } = fakeChain({ head: 100, random: seededRandom(11) })
    let calls = 0
    const failing: ChainRpc = {
      ...rpc,
      getLogs: async (filter) => {
        if (++calls === 5) throw new RpcError('invalid params', 'rejected', 'eth_getLogs')
        return rpc.getLogs(filter)
      },
    }
    const sink = recordingSink()
    await expect(backfillOver(failing, sink, { concurrency: 2, maxRange: 4 }).run({ from: 0, to: 100 })).rejects.toThrow('invalid params')
    const written = sink.ranges.length
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(sink.ranges.length).toBe(written)
  })

  it('stops when its signal aborts', async () => {
    const { rpc } = fakeChain({ head: 10_000, random: seededRandom(13) })
    const controller = new AbortController()
    const run = backfillOver(rpc, recordingSink(), { concurrency: 2, maxRange: 4 }).run({ from: 0, to: 10_000, signal: controller.signal })
    setTimeout(() => controller.abort(new Error('stopping')), 20)
    await expect(run).rejects.toThrow('stopping')
  })
})
