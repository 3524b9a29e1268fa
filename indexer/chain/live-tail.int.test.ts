import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, encodeFunctionData, http, keccak256, parseUnits, type Address, type Hex, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterEach, describe, expect, it } from 'vitest'
import { deployPerpExchange, listMarkets, type SigningWalletClient } from '../../contracts-abi/deploy.ts'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { markets } from '../../contracts-abi/markets.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { startAnvil, type Anvil } from '../../test/support/anvil.ts'
import { createEmbeddedLog, type EmbeddedLog } from '../log/embedded-log.ts'
import type { LogConsumer } from '../log/log.ts'
import { decodeRecord } from '../log/typed-log.ts'
import { eventsTopicRecord, type ChainEventRecord, type EventsTopicRecord } from '../records/schemas.ts'
import { topics } from '../records/topics.ts'
import { createLogger, silentLogger } from '../runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from '../runtime/metrics.ts'
import type { ChainRpc } from './chain-rpc.ts'
import type { BlockRef, RawLog } from './chain-types.ts'
import { checkpointRecord, checkpointTopic, fromCheckpointBlock } from './checkpoint-record.ts'
import { createEventDecoder } from './event-decoder.ts'
import type { HeadMode } from './head-follower.ts'
import { createChainRpc } from './json-rpc.ts'
import { createLiveTail } from './live-tail.ts'
import { createLogEventSink } from './log-event-sink.ts'
import { createLogToRecord, type LogToRecord } from './log-to-record.ts'
import { FinalityViolationError } from './unfinalized-chain.ts'

const WAD = 18
const PARTITIONS = 3
const logger = process.env['DEBUG_TAIL'] === '1' ? createLogger({ level: 'debug' }) : silentLogger

const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

interface Devnet {
  readonly anvil: Anvil
  readonly publicClient: PublicClient
  readonly wallet: SigningWalletClient
  readonly contract: Address
  readonly toRecord: LogToRecord
  request(method: string, params?: readonly unknown[]): Promise<unknown>
}

/** Anvil (history kept, so anvil_reorg works) with the perp contract deployed, its markets listed and priced. */
async function devnet(): Promise<Devnet> {
  const anvil = await startAnvil()
  cleanups.push(() => anvil.stop())
  const account = privateKeyToAccount(anvil.accounts[0]!.privateKey)
  const publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) }) as PublicClient
  const wallet = createWalletClient({ account, chain: foundry, transport: http(anvil.rpcUrl) })
  const contract = await deployPerpExchange(wallet, publicClient, { keeper: account.address })
  await listMarkets(wallet, publicClient, { address: contract })
  for (const market of markets) {
    const args = [encodeMarketId(market.id), parseUnits('1000', WAD)] as const
    const hash = await wallet.writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'setPrice', args })
    await publicClient.waitForTransactionReceipt({ hash })
  }
  const decoder = createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' })
  const toRecord = createLogToRecord({ chainId: anvil.chainId, contract, decoder })
  const request = (method: string, params: readonly unknown[] = []) =>
    publicClient.request({ method, params } as never) as Promise<unknown>
  return { anvil, publicClient, wallet, contract, toRecord, request }
}

function openPositionData(marketIndex: number, size: number): Hex {
  const market = markets[marketIndex % markets.length]!
  return encodeFunctionData({
    abi: perpExchangeAbi,
    functionName: 'openPosition',
    args: [encodeMarketId(market.id), size % 2 === 0, parseUnits(String(size), WAD), parseUnits('1000', WAD)],
  })
}

/** Opens a position (one PositionOpened) in a block of its own; resolves with the block number. */
async function openPosition(devnet: Devnet, marketIndex: number, size: number): Promise<number> {
  const hash = await devnet.wallet.sendTransaction({ to: devnet.contract, data: openPositionData(marketIndex, size) })
  const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return Number(receipt.blockNumber)
}

/** Signs an openPosition at the given nonce without sending it, so the same bytes can be re-included. */
async function signOpenPosition(devnet: Devnet, nonce: number, marketIndex: number, size: number): Promise<Hex> {
  const data = openPositionData(marketIndex, size)
  const request = await devnet.wallet.prepareTransactionRequest({ to: devnet.contract, data, nonce, gas: 1_000_000n })
  return devnet.wallet.signTransaction(request)
}

/** eth_blockNumber, uncached (viem's getBlockNumber caches for its polling interval). */
async function headNumber(devnet: Devnet): Promise<number> {
  return Number(await devnet.request('eth_blockNumber'))
}

async function blockAt(devnet: Devnet, number: number): Promise<BlockRef> {
  const block = await devnet.publicClient.getBlock({ blockNumber: BigInt(number) })
  return { number: Number(block.number), hash: block.hash, parentHash: block.parentHash, timestamp: Number(block.timestamp) }
}

/** The records the canonical chain holds now: eth_getLogs over it, mapped through log-to-record. */
async function canonicalRecords(devnet: Devnet): Promise<ChainEventRecord[]> {
  const filter = { address: devnet.contract, fromBlock: '0x0', toBlock: 'latest' }
  const logs = (await devnet.request('eth_getLogs', [filter])) as RawLog[]
  const records: ChainEventRecord[] = []
  for (const log of logs) {
    const block = await devnet.publicClient.getBlock({ blockHash: log.blockHash })
    const record = devnet.toRecord(log, Number(block.timestamp))
    if (record !== undefined) records.push(record)
  }
  return records
}

interface LogView {
  /** Every record of perp.events.v1 so far, per partition in offset order. */
  readonly partitions: EventsTopicRecord[][]
  /** The newest block the sink's latest checkpoint says is written. */
  tip(): BlockRef | undefined
  stop(): Promise<void>
}

/** A consumer on the log: what any downstream reader sees, records and checkpoints. */
function watchLog(log: EmbeddedLog): LogView {
  const partitions: EventsTopicRecord[][] = Array.from({ length: PARTITIONS }, () => [])
  let tip: BlockRef | undefined
  const consumer: LogConsumer = log.consume({
    topics: [topics.events, checkpointTopic],
    groupId: 'live-tail-test',
    from: () => 0,
    onBatch: async ({ topic, partition, records }) => {
      for (const stored of records) {
        if (topic === topics.events) {
          const decoded = decodeRecord(eventsTopicRecord, stored)
          if (!decoded.ok) throw decoded.error
          partitions[partition]!.push(decoded.value)
        } else {
          const decoded = decodeRecord(checkpointRecord, stored)
          if (!decoded.ok) throw decoded.error
          const newest = decoded.value.unfinalized.at(-1)
          tip = newest === undefined ? undefined : fromCheckpointBlock(newest)
        }
      }
    },
  })
  return { partitions, tip: () => tip, stop: () => consumer.stop() }
}

/** Each partition with every record of an orphaned block removed, as its reorg records say. */
function survivingRecords(partitions: readonly EventsTopicRecord[][]): ChainEventRecord[][] {
  return partitions.map((records) => {
    let surviving: ChainEventRecord[] = []
    for (const record of records) {
      if (record.type !== 'chain_reorg') {
        surviving.push(record)
        continue
      }
      const orphaned = new Set<string>(record.data.orphaned_blocks.map((block) => block.block_hash))
      surviving = surviving.filter((kept) => !(kept.market_id === record.market_id && orphaned.has(kept.chain.block_hash)))
    }
    return surviving
  })
}

const byChainPosition = (a: ChainEventRecord, b: ChainEventRecord): number =>
  a.chain.block_number - b.chain.block_number || a.chain.log_index - b.chain.log_index

/** Surviving records, each partition in chain order, equal the canonical chain's. */
async function expectCanonical(devnet: Devnet, view: LogView): Promise<void> {
  const surviving = survivingRecords(view.partitions)
  for (const records of surviving) expect(records).toEqual([...records].sort(byChainPosition))
  expect(surviving.flat().sort(byChainPosition)).toEqual(await canonicalRecords(devnet))
}

function reorgRecords(view: LogView) {
  return view.partitions.flat().filter((record) => record.type === 'chain_reorg')
}

/** Every reorg record names this common ancestor and these orphaned blocks. */
function expectReorgs(view: LogView, ancestor: BlockRef, orphaned: readonly BlockRef[]) {
  const reorgs = reorgRecords(view)
  expect(reorgs.length).toBeGreaterThan(0)
  for (const reorg of reorgs) {
    expect(reorg.data.common_ancestor).toEqual({ block_number: ancestor.number, block_hash: ancestor.hash })
    expect(reorg.data.orphaned_blocks).toEqual(orphaned.map((b) => ({ block_number: b.number, block_hash: b.hash })))
  }
  return reorgs
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The value of a metric series in the registry's Prometheus text, or undefined. */
function metricValue(metrics: MetricsRegistry, series: string): number | undefined {
  const line = metrics.render().split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

interface TailOptions {
  readonly headMode?: HeadMode
  readonly confirmations?: number
  readonly finalityDepth?: number
  /** Wraps the RPC client, e.g. to drop its subscription. */
  readonly wrapRpc?: (rpc: ChainRpc) => ChainRpc
  /** Restart on the log of an earlier tail. */
  readonly dir?: string
}

/** The live tail over the real JSON-RPC client, into the log event sink over an embedded log file. */
async function startTail(devnet: Devnet, options: TailOptions = {}) {
  const headMode = options.headMode ?? 'subscribe'
  const finalityDepth = options.finalityDepth ?? 16
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'live-tail-')))
  if (options.dir === undefined) cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const log = createEmbeddedLog({ path: join(dir, 'log.db') })
  const url = headMode === 'subscribe' ? devnet.anvil.wsUrl : devnet.anvil.rpcUrl
  const rpc = (options.wrapRpc ?? ((inner) => inner))(createChainRpc({ url, timeoutMs: 5_000, logger }))
  const metrics = createMetricsRegistry()
  const { chainId } = devnet.anvil
  const sinkDeps = { log, chainId, contract: devnet.contract, startBlock: 0, partitions: PARTITIONS, finalityDepth }
  const sink = createLogEventSink({ ...sinkDeps, logger, metrics })
  const backoff = { baseDelayMs: 10, maxDelayMs: 200 }
  const tailDeps = { rpc, sink, toRecord: devnet.toRecord, contract: devnet.contract, finalityDepth, headMode, backoff }
  const tail = createLiveTail({ ...tailDeps, confirmations: options.confirmations ?? 0, pollIntervalMs: 20, logger, metrics })
  // The error run() rejected with, or undefined; kept so that no rejection goes unhandled.
  const outcome = tail.run().then(() => undefined, (error: unknown) => error)
  const view = watchLog(log)
  const shutdown = async () => {
    for (const close of [tail.stop, view.stop, rpc.close, log.close]) await close()
  }
  cleanups.push(shutdown)
  return { tail, view, metrics, dir, outcome, shutdown }
}

/** Waits until the log says the block now at `number` (the head by default) is written. */
async function caughtUp(devnet: Devnet, started: Awaited<ReturnType<typeof startTail>>, number?: number): Promise<BlockRef> {
  const block = await blockAt(devnet, number ?? (await headNumber(devnet)))
  await waitFor(`the tail to write block #${block.number}`, () => started.view.tip()?.hash === block.hash)
  return block
}

describe('live tail on anvil', () => {
  it.each(['subscribe', 'poll'] as const)('appends live events to the log as blocks are mined, in chain order (%s)', async (headMode) => {
    const chain = await devnet()
    const started = await startTail(chain, { headMode })
    for (let i = 0; i < 9; i++) {
      const block = await openPosition(chain, i, i + 1)
      const has = () => started.view.partitions.flat().some((r) => r.type === 'position_opened' && r.chain.block_number === block)
      await waitFor(`the record of block #${block}`, has)
    }
    expect(reorgRecords(started.view)).toEqual([])
    await expectCanonical(chain, started.view)
  })

  it('appends a reorg record per market after anvil_reorg, and the surviving records equal the canonical chain', async () => {
    const chain = await devnet()
    const started = await startTail(chain)
    for (let i = 0; i < 3; i++) await openPosition(chain, i, i + 1)
    // The first block to be orphaned holds a transaction whose exact bytes the new branch re-includes.
    const nonce = await chain.publicClient.getTransactionCount({ address: chain.wallet.account.address })
    const reincluded = await signOpenPosition(chain, nonce, 0, 42)
    await chain.request('eth_sendRawTransaction', [reincluded])
    await openPosition(chain, 1, 43)
    await openPosition(chain, 2, 44)
    const tip = await headNumber(chain)
    await caughtUp(chain, started)
    const orphaned = await Promise.all([tip - 2, tip - 1, tip].map((n) => blockAt(chain, n)))
    const ancestor = await blockAt(chain, tip - 3)
    const newTx = { from: chain.wallet.account.address, to: chain.contract, data: openPositionData(1, 45), nonce: nonce + 1 }
    await chain.request('anvil_reorg', [3, [[reincluded, 0], [newTx, 1]]])
    const newHead = await caughtUp(chain, started, tip)
    expect(newHead.hash).not.toBe(orphaned[2]!.hash)

    const reorgs = expectReorgs(started.view, ancestor, orphaned)
    const orphanedHashes = new Set<string>(orphaned.map((block) => block.hash))
    const written = started.view.partitions.flat().filter((r) => r.type !== 'chain_reorg')
    const affected = new Set(written.filter((r) => orphanedHashes.has(r.chain.block_hash)).map((r) => r.market_id))
    expect(affected.size).toBeGreaterThan(1)
    const reorgMarkets = reorgs.map((r) => r.market_id)
    expect(new Set(reorgMarkets).size).toBe(reorgMarkets.length)
    for (const market of affected) expect(reorgMarkets).toContain(market)
    for (const reorg of reorgs) {
      // The newest block of the new branch the tail had seen when it found the reorg.
      const reportedHead = await blockAt(chain, reorg.data.new_head.block_number)
      expect(reorg.data.new_head.block_hash).toBe(reportedHead.hash)
      expect(reportedHead.number).toBeGreaterThanOrEqual(orphaned[0]!.number)
    }
    const canonical = await canonicalRecords(chain)
    expect(canonical.some((record) => record.chain.tx_hash === keccak256(reincluded))).toBe(true)
    await expectCanonical(chain, started.view)
    expect(metricValue(started.metrics, 'perp_chain_reorgs_total')).toBe(1)
  })

  it('follows a history rewritten by evm_snapshot and evm_revert, then different transactions', async () => {
    const chain = await devnet()
    const started = await startTail(chain)
    await openPosition(chain, 0, 1)
    await openPosition(chain, 1, 2)
    const snapshot = await chain.request('evm_snapshot')
    const ancestor = await blockAt(chain, await headNumber(chain))
    for (let i = 0; i < 3; i++) await openPosition(chain, i, 10 + i)
    await caughtUp(chain, started)
    const orphaned = await Promise.all([1, 2, 3].map((k) => blockAt(chain, ancestor.number + k)))
    expect(await chain.request('evm_revert', [snapshot])).toBe(true)
    await openPosition(chain, 2, 20)
    await openPosition(chain, 0, 21)
    await caughtUp(chain, started)

    const reorgs = expectReorgs(started.view, ancestor, orphaned)
    expect(reorgs.map((r) => r.market_id).sort()).toEqual(markets.map((m) => m.id).sort())
    await expectCanonical(chain, started.view)
  })

  it('stops with FinalityViolationError when a reorg orphans more written blocks than the finality depth', async () => {
    const chain = await devnet()
    const started = await startTail(chain, { finalityDepth: 2 })
    for (let i = 0; i < 4; i++) await openPosition(chain, i, i + 1)
    const tip = await caughtUp(chain, started)
    const oldest = await blockAt(chain, tip.number - 2)
    const before = started.view.partitions.flat().length
    await chain.request('anvil_reorg', [3, []])
    const error = await started.outcome
    expect(error).toBeInstanceOf(FinalityViolationError)
    const { violation } = error as FinalityViolationError
    expect(violation).toMatchObject({ finalityDepth: 2, depth: 3, tip, orphaned: oldest })
    expect(violation.canonicalHash).toBe((await blockAt(chain, oldest.number)).hash)
    expect((error as Error).message).toContain(`#${oldest.number} ${oldest.hash}`)
    expect(started.view.partitions.flat()).toHaveLength(before)
    expect(reorgRecords(started.view)).toEqual([])
  })

  it('writes a block only once the confirmations depth of blocks is mined on top of it', async () => {
    const chain = await devnet()
    const started = await startTail(chain, { confirmations: 2 })
    const block = await openPosition(chain, 1, 3)
    const settledAt = (head: number) =>
      waitFor(`head #${head} to settle`, () =>
        metricValue(started.metrics, 'perp_chain_head_block') === head &&
        metricValue(started.metrics, 'perp_live_tail_blocks_behind_head') === 2,
      )
    const logsBlock = () => started.view.partitions.flat().some((r) => r.type !== 'chain_reorg' && r.chain.block_number === block)
    await settledAt(block)
    expect(logsBlock()).toBe(false)
    await chain.request('evm_mine')
    await settledAt(block + 1)
    expect(logsBlock()).toBe(false)
    await chain.request('evm_mine')
    await settledAt(block + 2)
    await caughtUp(chain, started, block)
    expect(logsBlock()).toBe(true)
  })

  it('finds a reorg that happened while it was stopped, from the blocks the log says it wrote', async () => {
    const chain = await devnet()
    const first = await startTail(chain)
    for (let i = 0; i < 3; i++) await openPosition(chain, i, i + 1)
    const tip = await caughtUp(chain, first)
    await first.shutdown()
    const orphaned = await Promise.all([tip.number - 1, tip.number].map((n) => blockAt(chain, n)))
    await chain.request('anvil_reorg', [2, [[{ from: chain.wallet.account.address, to: chain.contract, data: openPositionData(0, 9) }, 1]]])
    await openPosition(chain, 1, 10)
    const restarted = await startTail(chain, { dir: first.dir })
    await caughtUp(chain, restarted)
    expectReorgs(restarted.view, await blockAt(chain, tip.number - 2), orphaned)
    await expectCanonical(chain, restarted.view)
  })

  it('re-subscribes to newHeads after the subscription is lost, and sees the blocks mined meanwhile', async () => {
    const chain = await devnet()
    const losses: ((error: Error) => void)[] = []
    const wrapRpc = (rpc: ChainRpc): ChainRpc => ({
      ...rpc,
      subscribeNewHeads: (onHead, onError) => {
        losses.push(onError)
        return rpc.subscribeNewHeads!(onHead, onError)
      },
    })
    const started = await startTail(chain, { wrapRpc })
    await openPosition(chain, 0, 1)
    await caughtUp(chain, started)
    expect(losses).toHaveLength(1)
    losses[0]!(new Error('the socket closed'))
    await openPosition(chain, 1, 2)
    await waitFor('a second subscription', () => losses.length === 2)
    await caughtUp(chain, started)
    await openPosition(chain, 2, 3)
    await caughtUp(chain, started)
    await expectCanonical(chain, started.view)
  })
})
