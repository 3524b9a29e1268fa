// Live-tail latency: the time from a transaction mined on anvil (automine, WebSocket RPC) to its
// record being readable by a consumer of the embedded log, through the whole indexer path: newHeads,
// eth_getLogs by block hash, decoding, the log event sink (a durable SQLite commit), the consumer.
//
// Clock start: anvil with automine mines a transaction before eth_sendRawTransaction answers (the
// receipt is there at once; the warm-up checks it), so the answer is the moment the node says
// "mined". The mined moment lies between the send and the answer; "from send" is the upper bound.
// Transactions go one at a time, each once the previous block's checkpoint is on the log and
// --gap-ms later, so every sample is one block through an idle tail, as on a real chain (blocks
// 250 ms apart at the fastest). With --gap-ms 0, anvil's WebSocket server, which leaves Nagle's
// algorithm on, holds each newHeads notification until the client's delayed ACK of the previous
// frame (up to 40 ms): the baseline shows it as much as the tail.
//
// Baseline, measured in the same run: the same transactions with nothing but a newHeads
// subscription that asks eth_getLogs by block hash; the floor that anvil and the WebSocket set.
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, createWalletClient, encodeFunctionData, http, parseUnits, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { deployPerpExchange, listMarkets, type SigningWalletClient } from '../contracts-abi/deploy.ts'
import { encodeMarketId } from '../contracts-abi/market-id.ts'
import { markets } from '../contracts-abi/markets.ts'
import { perpExchangeAbi } from '../contracts-abi/perp-exchange.abi.ts'
import type { ChainRpc } from '../indexer/chain/chain-rpc.ts'
import { checkpointTopic } from '../indexer/chain/checkpoint-record.ts'
import { createEventDecoder } from '../indexer/chain/event-decoder.ts'
import { createChainRpc } from '../indexer/chain/json-rpc.ts'
import { createLiveTail } from '../indexer/chain/live-tail.ts'
import { createLogEventSink } from '../indexer/chain/log-event-sink.ts'
import { createLogToRecord } from '../indexer/chain/log-to-record.ts'
import { createEmbeddedLog, type EmbeddedLog } from '../indexer/log/embedded-log.ts'
import { consumeRecords } from '../indexer/log/typed-log.ts'
import { eventsTopicRecord } from '../indexer/records/schemas.ts'
import { topics } from '../indexer/records/topics.ts'
import { silentLogger } from '../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../indexer/runtime/metrics.ts'
import { startAnvil, type Anvil } from '../test/support/anvil.ts'
import { createArrivals, type Arrivals } from './arrivals.ts'

export const description = 'live tail: mined transaction to its record on the embedded log, p50/p99 over WebSocket RPC'

const usage = `Usage: npm run bench -- tail-latency [--txs N] [--warmup N] [--gap-ms N]
  --txs N     measured transactions, one block each (default 200)
  --warmup N  transactions sent first and not counted (default 20)
  --gap-ms N  pause between a block settling and the next transaction (default 100)
`

const TARGET_P99_MS = 25
const WAIT_MS = 10_000
const WAD = 18

interface Options {
  readonly txs: number
  readonly warmup: number
  readonly gapMs: number
}

/** Per transaction: ms from before the send, and from the node's answer, to the moment observed. */
interface Sample {
  readonly fromSend: number
  readonly fromMined: number
}

interface Chain {
  readonly anvil: Anvil
  readonly wallet: SigningWalletClient
  readonly contract: Address
  send(raw: Hex): Promise<Hex>
  nonce(): Promise<number>
  request(method: string, params: readonly unknown[]): Promise<unknown>
}

export async function run(args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage)
    return
  }
  const options = parseOptions(args)
  const loadAtStart = loadText()
  const chain = await startChain()
  const dir = await mkdtemp(join(tmpdir(), 'bench-tail-'))
  try {
    progress(`anvil ${chain.anvil.wsUrl}, contract ${chain.contract}`)
    await checkMinedOnAnswer(chain)
    const baseline = await measureBaseline(chain, options)
    const tail = await measureTail(chain, join(dir, 'log.db'), options)
    report(options, tail, baseline, loadAtStart)
  } finally {
    await chain.anvil.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

function parseOptions(args: readonly string[]): Options {
  const value = (flag: string, fallback: number): number => {
    const at = args.indexOf(flag)
    const n = at === -1 ? fallback : Number(args[at + 1])
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`tail-latency: ${flag} must be a non-negative integer`)
    return n
  }
  return { txs: Math.max(1, value('--txs', 200)), warmup: value('--warmup', 20), gapMs: value('--gap-ms', 100) }
}

async function startChain(): Promise<Chain> {
  const anvil = await startAnvil()
  const account = privateKeyToAccount(anvil.accounts[0]!.privateKey)
  const publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) })
  const wallet = createWalletClient({ account, chain: foundry, transport: http(anvil.rpcUrl) })
  const contract = await deployPerpExchange(wallet, publicClient, { keeper: account.address })
  await listMarkets(wallet, publicClient, { address: contract })
  for (const market of markets) {
    const args = [encodeMarketId(market.id), parseUnits('1000', WAD)] as const
    const hash = await wallet.writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'setPrice', args })
    await publicClient.waitForTransactionReceipt({ hash })
  }
  const request = (method: string, params: readonly unknown[]) => publicClient.request({ method, params } as never) as Promise<unknown>
  return {
    anvil,
    wallet,
    contract,
    request,
    send: async (raw) => (await request('eth_sendRawTransaction', [raw])) as Hex,
    nonce: () => publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' }),
  }
}

/** Signs n openPosition transactions ahead of time, so a send is one eth_sendRawTransaction. */
async function signBatch(chain: Chain, n: number): Promise<Hex[]> {
  const first = await chain.nonce()
  const signed: Hex[] = []
  for (let i = 0; i < n; i++) {
    const market = markets[i % markets.length]!
    const args = [encodeMarketId(market.id), i % 2 === 0, parseUnits(String(1 + (i % 7)), WAD), parseUnits('1000', WAD)] as const
    const data = encodeFunctionData({ abi: perpExchangeAbi, functionName: 'openPosition', args })
    const fees = { maxFeePerGas: parseUnits('100', 9), maxPriorityFeePerGas: parseUnits('1', 9) }
    signed.push(await chain.wallet.signTransaction({ to: chain.contract, data, nonce: first + i, gas: 500_000n, chain: foundry, ...fees }))
  }
  return signed
}

async function checkMinedOnAnswer(chain: Chain): Promise<void> {
  const [raw] = await signBatch(chain, 1)
  const hash = await chain.send(raw!)
  const receipt = await chain.request('eth_getTransactionReceipt', [hash])
  if (receipt === null) throw new Error('anvil answered eth_sendRawTransaction before mining: is automine off?')
}


interface Pacing {
  /** Resolves with the moment the transaction's log or record was observed. */
  readonly arrival: (txHash: Hex) => Promise<number>
  /** Resolves once the path is idle again (the block fully written). */
  readonly settled: () => Promise<void>
  readonly gapMs: number
}

/** Sends each transaction, waits for its arrival, lets the path settle and pause, and times each. */
async function timeSends(chain: Chain, signed: readonly Hex[], pacing: Pacing): Promise<Sample[]> {
  const samples: Sample[] = []
  for (const raw of signed) {
    const sent = performance.now()
    const hash = await chain.send(raw)
    const mined = performance.now()
    const seen = await pacing.arrival(hash.toLowerCase() as Hex)
    samples.push({ fromSend: seen - sent, fromMined: seen - mined })
    await pacing.settled()
    if (pacing.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, pacing.gapMs))
  }
  return samples
}

/** newHeads, then eth_getLogs by block hash, nothing else: the time each log reaches the client. */
async function measureBaseline(chain: Chain, options: Options): Promise<Sample[]> {
  progress(`baseline: ${options.warmup} + ${options.txs} transactions, newHeads + eth_getLogs(blockHash)`)
  const rpc: ChainRpc = createChainRpc({ url: chain.anvil.wsUrl, timeoutMs: 5_000, logger: silentLogger })
  const arrivals = createArrivals('log or record', WAIT_MS)
  const unsubscribe = await rpc.subscribeNewHeads!(
    (head) => {
      void rpc.getLogs({ address: chain.contract, blockHash: head.hash }).then((logs) => {
        const at = performance.now()
        for (const log of logs) arrivals.observe(log.transactionHash.toLowerCase(), at)
      })
    },
    (error) => progress(`baseline subscription error: ${error.message}`),
  )
  try {
    const pacing = { arrival: arrivals.wait, settled: async () => {}, gapMs: options.gapMs }
    await timeSends(chain, await signBatch(chain, options.warmup), pacing)
    return await timeSends(chain, await signBatch(chain, options.txs), pacing)
  } finally {
    await unsubscribe()
    await rpc.close()
  }
}

/** The indexer's path: the live tail into the log event sink, read back by a log consumer. */
async function measureTail(chain: Chain, path: string, options: Options): Promise<Sample[]> {
  progress(`live tail: ${options.warmup} + ${options.txs} transactions into the embedded log`)
  const log = createEmbeddedLog({ path })
  const rpc = createChainRpc({ url: chain.anvil.wsUrl, timeoutMs: 5_000, logger: silentLogger })
  const metrics = createMetricsRegistry()
  const { chainId } = chain.anvil
  const finalityDepth = 64
  const sinkDeps = { log, chainId, contract: chain.contract, startBlock: 0, partitions: 3, finalityDepth }
  const sink = createLogEventSink({ ...sinkDeps, logger: silentLogger, metrics })
  const decoder = createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' })
  const toRecord = createLogToRecord({ chainId, contract: chain.contract, decoder })
  const tailDeps = { rpc, sink, toRecord, contract: chain.contract, finalityDepth, confirmations: 0 }
  const tail = createLiveTail({ ...tailDeps, headMode: 'subscribe', pollIntervalMs: 1_000, logger: silentLogger, metrics })
  const failed = tail.run()
  failed.catch(() => undefined)
  const reader = readLog(log)
  try {
    // The blocks of the deployment are written first; the first measured block starts from an idle tail.
    await Promise.race([reader.checkpoints(await headOf(chain)), failed])
    const settled = async () => reader.checkpoints(await headOf(chain))
    const pacing = { arrival: reader.arrivals.wait, settled, gapMs: options.gapMs }
    const time = async (n: number) => Promise.race([timeSends(chain, await signBatch(chain, n), pacing), rejectOnly(failed)])
    await time(options.warmup)
    return await time(options.txs)
  } finally {
    await tail.stop()
    await reader.stop()
    await rpc.close()
    await log.close()
  }
}

function rejectOnly(running: Promise<void>): Promise<never> {
  return running.then(() => Promise.reject(new Error('the live tail stopped before the benchmark ended')))
}

async function headOf(chain: Chain): Promise<number> {
  return Number(await chain.request('eth_blockNumber', []))
}

/** A consumer of the events topic (validated, as every consumer reads) and of the sink's checkpoints. */
function readLog(log: EmbeddedLog) {
  const arrivals = createArrivals('log or record', WAIT_MS)
  let written = -1
  const waiters = new Set<() => void>()
  const events = consumeRecords({
    log,
    topics: [topics.events],
    groupId: 'bench-tail-latency',
    from: () => 0,
    schema: eventsTopicRecord,
    onRecords: async ({ records }) => {
      const at = performance.now()
      for (const { value } of records) if (value.type !== 'chain_reorg') arrivals.observe(value.chain.tx_hash, at)
    },
  })
  const checkpoints = log.consume({
    topics: [checkpointTopic],
    groupId: 'bench-tail-latency-checkpoints',
    from: () => 0,
    onBatch: async ({ records }) => {
      for (const record of records) written = (JSON.parse(record.value.toString('utf8')) as { next_block: number }).next_block - 1
      for (const wake of waiters) wake()
    },
  })
  return {
    arrivals,
    /** Resolves once the sink's checkpoint says block `number` is written. */
    checkpoints: (number: number) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (written < number) return
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
    stop: async () => {
      await events.stop()
      await checkpoints.stop()
    },
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN
}

function summary(label: string, values: readonly number[]): string[] {
  const sorted = [...values].sort((a, b) => a - b)
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length)
  const cells = [percentile(sorted, 0.5), percentile(sorted, 0.99), sorted.at(-1) ?? Number.NaN, mean].map((v) => v.toFixed(2).padStart(8))
  return [`| ${label.padEnd(52)} | ${cells.join(' | ')} |`]
}

function report(options: Options, tail: readonly Sample[], baseline: readonly Sample[], loadAtStart: string): void {
  const cpu = cpus()
  const p99 = percentile([...tail.map((s) => s.fromSend)].sort((a, b) => a - b), 0.99)
  const lines = [
    '',
    `tail-latency: ${options.txs} transactions (after ${options.warmup} warm-up), one per block, anvil automine, WebSocket RPC, ${options.gapMs} ms between blocks`,
    `machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, node ${process.version}, ${process.platform} ${process.arch}`,
    `load average at start: ${loadAtStart}, at end: ${loadText()}`,
    '',
    `| ${'ms'.padEnd(52)} |      p50 |      p99 |      max |     mean |`,
    `|${'-'.repeat(54)}|----------|----------|----------|----------|`,
    ...summary('live tail: send -> record readable on the log', tail.map((s) => s.fromSend)),
    ...summary('live tail: mined (send answered) -> record readable', tail.map((s) => s.fromMined)),
    ...summary('baseline: send -> eth_getLogs(blockHash) answered', baseline.map((s) => s.fromSend)),
    ...summary('baseline: mined (send answered) -> eth_getLogs answered', baseline.map((s) => s.fromMined)),
    '',
    `target: p99 from send < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS ? 'PASS' : 'MISS'} (${p99.toFixed(2)} ms)`,
    '',
  ]
  process.stdout.write(lines.join('\n'))
}

function loadText(): string {
  return loadavg().map((l) => l.toFixed(2)).join(', ')
}

function progress(message: string): void {
  process.stderr.write(`  ${message}\n`)
}
