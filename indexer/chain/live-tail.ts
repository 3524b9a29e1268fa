// The live tail: from the sink's resume point, writes every canonical block up to the head minus the
// confirmations, one block at a time, and follows reorgs. Logs are fetched by block hash, never by
// number, so a block's records always belong to the header they were linked with; the unfinalized
// chain links headers by parent hash, which is how a reorg shows even on nodes (anvil) that never
// send `removed: true` logs.
//
// On a conflict the tail walks back by parent hash to the common ancestor, fetches the new branch's
// logs, then appends the reorg record and the branch's blocks, in that order. A reorg that orphans
// more written blocks than the finality depth stops the tail with FinalityViolationError.
//
// Latency: a new head that extends the tip costs one eth_getLogs and one append, with no wait in
// between; sleeps happen only between retries of a failed step.
import type { Hex } from 'viem'
import type { ChainEventRecord } from '../records/schemas.ts'
import type { Logger } from '../runtime/logger.ts'
import type { MetricsRegistry } from '../runtime/metrics.ts'
import type { BlockRef, IndexedBlock } from './chain-types.ts'
import { RpcError, type ChainRpc } from './chain-rpc.ts'
import type { EventSink } from './event-sink.ts'
import { backoffDelay, createHeadFollower, defaultBackoff, type Backoff, type HeadFollower, type HeadMode } from './head-follower.ts'
import type { LogToRecord } from './log-to-record.ts'
import { abortableSleep } from './rpc-retry.ts'
import { createUnfinalizedChain, type ChainFork, type UnfinalizedChain } from './unfinalized-chain.ts'

export interface LiveTailDeps {
  readonly rpc: ChainRpc
  readonly sink: EventSink
  readonly toRecord: LogToRecord
  /** The perp contract: the only address whose logs are fetched. */
  readonly contract: Hex
  /** How many written blocks a reorg may orphan before the tail stops. */
  readonly finalityDepth: number
  /** A block is written once this many blocks are mined on top of it (0: at once). */
  readonly confirmations: number
  readonly headMode: HeadMode
  readonly pollIntervalMs: number
  readonly logger: Logger
  readonly metrics: MetricsRegistry
  /** Between retries of a step that failed on a retryable RPC error. Default 100 ms doubling up to 5 s. */
  readonly backoff?: Backoff
}

export interface LiveTail {
  /**
   * Follows the head until stop(). Rejects with FinalityViolationError, or with the first error that
   * is not a retryable RPC error (a sink failure, a log that cannot become a record).
   */
  run(): Promise<void>
  stop(): Promise<void>
}

/** The chain changed under a step (a block fetched a moment ago is gone): redo it from the latest head. */
class ChainMovedError extends Error {
  override readonly name = 'ChainMovedError'
}

const REORG_DEPTH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128]

function registerMetrics(metrics: MetricsRegistry) {
  return {
    headBlock: metrics.gauge('chain_head_block', 'The newest block number the live tail has seen.'),
    blocksBehind: metrics.gauge('live_tail_blocks_behind_head', 'Blocks between the head and the newest written block.'),
    reorgs: metrics.counter('chain_reorgs_total', 'Chain reorganisations written to the log.'),
    reorgDepth: metrics.histogram('chain_reorg_depth_blocks', 'Written blocks orphaned per reorganisation.', REORG_DEPTH_BUCKETS),
  }
}

function assertDepth(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`)
}

export function createLiveTail(deps: LiveTailDeps): LiveTail {
  const { rpc, sink, toRecord, contract, finalityDepth, confirmations, logger } = deps
  assertDepth('finality depth', finalityDepth)
  assertDepth('confirmations', confirmations)
  const backoff = deps.backoff ?? defaultBackoff
  const instruments = registerMetrics(deps.metrics)
  const abort = new AbortController()
  let follower: HeadFollower | undefined
  let running: Promise<void> | undefined

  async function blockByNumber(number: number): Promise<BlockRef> {
    const block = await rpc.getBlockByNumber(number)
    if (block === undefined) throw new ChainMovedError(`block #${number} is gone`)
    return block
  }

  async function logsOf(block: BlockRef) {
    try {
      return await rpc.getLogs({ address: contract, blockHash: block.hash })
    } catch (error) {
      // Nodes refuse logs of a block hash they no longer know; that is a reorg under us, not a fault.
      if (error instanceof RpcError && !error.retryable && (await rpc.getBlockByHash(block.hash)) === undefined) {
        throw new ChainMovedError(`block #${block.number} ${block.hash} left the chain`, { cause: error })
      }
      throw error
    }
  }

  async function indexBlock(block: BlockRef): Promise<IndexedBlock<ChainEventRecord>> {
    const logs = await logsOf(block)
    const records: ChainEventRecord[] = []
    for (const log of logs.sort((a, b) => Number(a.logIndex) - Number(b.logIndex))) {
      if (log.removed === true) continue
      if (log.blockHash.toLowerCase() !== block.hash.toLowerCase()) {
        throw new ChainMovedError(`logs asked of block ${block.hash} came from block ${log.blockHash}`)
      }
      const record = toRecord(log, block.timestamp)
      if (record !== undefined) records.push(record)
    }
    return { block, records }
  }

  async function writeBlocks(chain: UnfinalizedChain, blocks: readonly BlockRef[]): Promise<void> {
    const indexed = await Promise.all(blocks.map(indexBlock))
    await sink.appendBlocks(indexed)
    for (const block of blocks) chain.append(block)
  }

  async function walkBack(chain: UnfinalizedChain, from: BlockRef): Promise<ChainFork> {
    const branch = [from]
    for (;;) {
      const step = chain.walkBack(branch)
      if (step.kind === 'found') return step.fork
      const parent = await rpc.getBlockByHash(step.hash)
      if (parent === undefined) throw new ChainMovedError(`block #${step.number} ${step.hash} is gone`)
      branch.unshift(parent)
    }
  }

  async function followReorg(chain: UnfinalizedChain, from: BlockRef): Promise<void> {
    const { commonAncestor, orphaned, branch } = await walkBack(chain, from)
    // The branch's logs are fetched before anything is written, so a failed fetch leaves no half reorg.
    const indexed = await Promise.all(branch.map(indexBlock))
    if (orphaned.length > 0) {
      const newHead = branch.at(-1) ?? commonAncestor
      await sink.appendReorg({ commonAncestor, orphaned, newHead })
      chain.rewind(commonAncestor)
      instruments.reorgs.inc()
      instruments.reorgDepth.observe(orphaned.length)
      logger.warn('chain reorganisation', {
        commonAncestor: { number: commonAncestor.number, hash: commonAncestor.hash },
        orphaned: orphaned.map((block) => ({ number: block.number, hash: block.hash })),
        newHead: { number: newHead.number, hash: newHead.hash },
      })
    }
    await sink.appendBlocks(indexed)
    for (const block of branch) chain.append(block)
  }

  /** Writes the block at the chain's next height, or follows the reorg it reveals. */
  async function settle(chain: UnfinalizedChain, block: BlockRef): Promise<void> {
    const link = chain.link(block)
    switch (link.kind) {
      case 'extends':
        return writeBlocks(chain, [block])
      case 'conflict':
        return followReorg(chain, block)
      case 'known':
      case 'final':
        return
      case 'gap':
        throw new Error(`block #${block.number} is above the next height ${chain.nextNumber}`)
      default: {
        const unreachable: never = link
        throw new Error(`unhandled link ${JSON.stringify(unreachable)}`)
      }
    }
  }

  async function catchUp(chain: UnfinalizedChain, head: BlockRef): Promise<void> {
    const target = head.number - confirmations
    const blockAt = (number: number): Promise<BlockRef> =>
      number === head.number ? Promise.resolve(head) : blockByNumber(number)
    const behind = (): void => instruments.blocksBehind.set(Math.max(0, head.number - (chain.nextNumber - 1)))
    instruments.headBlock.set(head.number)
    behind()
    if (target >= 0 && target < chain.nextNumber) {
      // The head did not pass the tip: a reorg onto a chain no longer than ours shows at the target.
      if (chain.tip !== undefined && target <= chain.tip.number) await settle(chain, await blockAt(target))
      behind()
    }
    while (chain.nextNumber <= target && !abort.signal.aborted) {
      await settle(chain, await blockAt(chain.nextNumber))
      behind()
    }
  }

  /** Retries a head on retryable RPC errors and on a chain that moved, with the latest head each time. */
  async function follow(chain: UnfinalizedChain, first: BlockRef): Promise<void> {
    let head = first
    for (let attempt = 0; ; attempt++) {
      try {
        if (attempt > 0) head = (await rpc.getBlockByNumber('latest')) ?? head
        return await catchUp(chain, head)
      } catch (error) {
        const moved = error instanceof ChainMovedError
        if (!(moved || (error instanceof RpcError && error.retryable)) || abort.signal.aborted) throw error
        logger.warn('following the head failed; retrying', { error, attempt: attempt + 1, head: head.number })
        // A chain that moved is redone at once, the first time: the next head is already there.
        if (!(moved && attempt === 0)) await abortableSleep(backoffDelay(backoff, attempt), abort.signal)
      }
    }
  }

  async function run(): Promise<void> {
    const resume = await sink.resume()
    const chain = createUnfinalizedChain({ finalityDepth, resume })
    if (abort.signal.aborted) return
    follower = createHeadFollower({ rpc, mode: deps.headMode, pollIntervalMs: deps.pollIntervalMs, logger, backoff })
    logger.info('live tail started', {
      nextBlock: chain.nextNumber,
      unfinalizedBlocks: chain.blocks().length,
      headMode: deps.headMode,
      confirmations,
      finalityDepth,
    })
    try {
      for (let head = await follower.next(); head !== undefined; head = await follower.next()) {
        await follow(chain, head)
      }
    } catch (error) {
      if (abort.signal.aborted && error === abort.signal.reason) return
      logger.error('live tail stopped', { error: error instanceof Error ? error : new Error(String(error)) })
      throw error
    } finally {
      await follower.stop()
    }
  }

  return {
    run: () => (running ??= run()),
    stop: async () => {
      abort.abort()
      await follower?.stop()
      await running?.catch(() => undefined)
    },
  }
}
