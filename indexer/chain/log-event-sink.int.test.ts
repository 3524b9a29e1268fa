import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readTopic } from '../../test/support/event-records.ts'
import { createEmbeddedLog, type EmbeddedLog } from '../log/embedded-log.ts'
import type { Log } from '../log/log.ts'
import { chainEventId } from '../records/record-ids.ts'
import type { ChainEventRecord, EventsTopicRecord } from '../records/schemas.ts'
import { silentLogger } from '../runtime/logger.ts'
import { createMetricsRegistry } from '../runtime/metrics.ts'
import type { BlockRef, IndexedBlock } from './chain-types.ts'
import { checkpointTopic } from './checkpoint-record.ts'
import { createLogEventSink, SinkOrderError, type LogEventSink } from './log-event-sink.ts'

const chainId = 31337
const contract: Hex = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const markets = ['btc-usdc-perp', 'eth-usdc-perp'] as const

/** Block `n` of branch `branch` (a hex digit), linked to block n-1 of `parentBranch`. */
function block(n: number, branch = 'a', parentBranch = branch): BlockRef {
  const hash = (number: number, b: string): Hex => `0x${b}${number.toString(16).padStart(63, '0')}`
  return { number: n, hash: hash(n, branch), parentHash: n === 0 ? hash(0, 'f') : hash(n - 1, parentBranch), timestamp: 1_764_000_000 + n }
}

/** Two funding updates in `ref`, one per market. */
function recordsOf(ref: BlockRef): ChainEventRecord[] {
  return markets.map((market, logIndex) => {
    const txHash = `0x${ref.hash.slice(8)}${logIndex.toString(16).padStart(6, '0')}`
    return {
      v: 1,
      id: chainEventId(chainId, txHash, logIndex),
      type: 'funding_updated',
      market_id: market,
      chain: { chain_id: chainId, contract, block_number: ref.number, block_hash: ref.hash, tx_hash: txHash, log_index: logIndex, block_timestamp: ref.timestamp },
      data: { funding_rate: '0.0001', cumulative_funding_index: '1', long_open_interest: '0', short_open_interest: '0', timestamp: ref.timestamp },
    }
  })
}

const indexed = (ref: BlockRef): IndexedBlock<ChainEventRecord> => ({ block: ref, records: recordsOf(ref) })

/** The real log, except that checkpoint appends fail while `crashed` is set: a kill between the two appends. */
function crashingCheckpoints(log: Log): { log: Log; crash(): void } {
  let crashed = false
  return {
    crash: () => void (crashed = true),
    log: {
      ...log,
      append: async (topic, records) => {
        if (crashed && topic === checkpointTopic) throw new Error('killed before the checkpoint')
        return log.append(topic, records)
      },
    },
  }
}

let dir: string
let log: EmbeddedLog

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'event-sink-'))
  log = createEmbeddedLog({ path: join(dir, 'log.db') })
})

afterEach(async () => {
  await log.close()
  await rm(dir, { recursive: true, force: true })
})

function sink(on: Log = log): LogEventSink {
  return createLogEventSink({ log: on, chainId, contract, startBlock: 0, partitions: 3, finalityDepth: 4, logger: silentLogger, metrics: createMetricsRegistry() })
}

async function stored(): Promise<EventsTopicRecord[]> {
  return (await readTopic(log, 'perp.events.v1')).sort((a, b) => a.partition - b.partition || a.offset - b.offset).map((r) => r.record)
}

describe('log event sink', () => {
  it('resumes after the checkpoint of the last complete write', async () => {
    const first = sink()
    expect(await first.resume()).toEqual({ nextBlock: 0, unfinalized: [] })
    await first.appendBlocks([indexed(block(0)), indexed(block(1))])
    expect(await sink().resume()).toEqual({ nextBlock: 2, unfinalized: [block(0), block(1)] })
  })

  it('writes nothing twice when a range is appended again after a kill before its checkpoint', async () => {
    const faulty = crashingCheckpoints(log)
    const first = sink(faulty.log)
    await first.resume()
    await first.appendFinalized({ from: 0, through: block(9), records: [0, 3, 7].flatMap((n) => recordsOf(block(n))) })
    faulty.crash()
    const second = [12, 15].flatMap((n) => recordsOf(block(n)))
    await expect(first.appendFinalized({ from: 10, through: block(19), records: second })).rejects.toThrow(/killed/)
    // The sink that failed refuses further writes; a restarted one resumes from the log.
    await expect(first.appendFinalized({ from: 10, through: block(19), records: second })).rejects.toThrow(/restart/)

    const restarted = sink()
    expect((await restarted.resume()).nextBlock).toBe(10)
    await restarted.appendFinalized({ from: 10, through: block(19), records: second })
    const ids = (await stored()).map((r) => r.id)
    expect(ids.length).toBe(10)
    expect(new Set(ids).size).toBe(10)
    expect((await sink().resume()).nextBlock).toBe(20)
  })

  it('refuses blocks that do not follow the written chain', async () => {
    const s = sink()
    await s.resume()
    await s.appendBlocks([indexed(block(0)), indexed(block(1))])
    await expect(s.appendBlocks([indexed(block(3))])).rejects.toBeInstanceOf(SinkOrderError)
    await expect(sink().appendBlocks([indexed(block(2, 'b', 'b'))])).rejects.toBeInstanceOf(SinkOrderError)
  })

  it('writes one chain_reorg per known market before the new branch, and only once when repeated', async () => {
    const s = sink()
    await s.resume()
    await s.appendBlocks([0, 1, 2, 3].map((n) => indexed(block(n))))
    const reorg = { commonAncestor: block(1), orphaned: [block(2), block(3)], newHead: block(3, 'b', 'b') }
    await s.appendReorg(reorg)
    expect(await s.resume()).toEqual({ nextBlock: 2, unfinalized: [block(0), block(1)] })
    // A restart that finds the same reorg again (it died before writing the new branch) adds nothing.
    const restarted = sink()
    await restarted.resume()
    await restarted.appendReorg(reorg)
    await restarted.appendBlocks([indexed(block(2, 'b', 'a')), indexed(block(3, 'b', 'b'))])

    const records = await stored()
    const reorgs = records.filter((r) => r.type === 'chain_reorg')
    expect(reorgs.map((r) => r.market_id).sort()).toEqual([...markets])
    for (const record of reorgs) {
      expect(record.data.common_ancestor).toEqual({ block_number: 1, block_hash: block(1).hash })
      expect(record.data.orphaned_blocks.map((b) => b.block_hash)).toEqual([block(2).hash, block(3).hash])
    }
    for (const market of markets) {
      const mine = records.filter((r) => r.market_id === market)
      expect(mine.map((r) => (r.type === 'chain_reorg' ? 'reorg' : `${r.chain.block_number}${r.chain.block_hash[2]}`))).toEqual(['0a', '1a', '2a', '3a', 'reorg', '2b', '3b'])
    }
  })

  it('undoes records written just before a kill whose block was reorganised away while the indexer was down', async () => {
    const faulty = crashingCheckpoints(log)
    const first = sink(faulty.log)
    await first.resume()
    await first.appendBlocks([indexed(block(0)), indexed(block(1))])
    faulty.crash()
    await expect(first.appendBlocks([indexed(block(2))])).rejects.toThrow(/killed/)

    // While down, block 2 was replaced by 2b; the restarted indexer links 2b to block 1 as usual.
    const restarted = sink()
    expect((await restarted.resume()).nextBlock).toBe(2)
    await restarted.appendBlocks([indexed(block(2, 'b', 'a'))])
    for (const market of markets) {
      const mine = (await stored()).filter((r) => r.market_id === market)
      expect(mine.map((r) => r.type)).toEqual(['funding_updated', 'funding_updated', 'funding_updated', 'chain_reorg', 'funding_updated'])
      const reorg = mine[3]
      if (reorg?.type !== 'chain_reorg') throw new Error('expected a reorg record')
      expect(reorg.data.common_ancestor.block_hash).toBe(block(1).hash)
      expect(reorg.data.orphaned_blocks).toEqual([{ block_number: 2, block_hash: block(2).hash }])
      expect(reorg.data.new_head.block_hash).toBe(block(2, 'b').hash)
    }
  })

  it('remembers every market and its Pyth feed across restarts', async () => {
    const s = sink()
    await s.resume()
    await s.appendBlocks([indexed(block(0))])
    const restarted = sink()
    await restarted.resume()
    expect([...restarted.markets().keys()].sort()).toEqual([...markets])
  })
})
