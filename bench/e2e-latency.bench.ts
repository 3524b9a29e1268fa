// End-to-end latency: from a transaction mined on anvil to its position_opened frame at a WebSocket
// client of the gateway, through the whole system in one process: the indexer (newHeads over
// WebSocket RPC, eth_getLogs by block hash, the log event sink), the embedded log, `serve` (the
// projection's fold and commit, the gateway's push) and a `ws` client on /api/v1/ws/events.
//
// Clock start: anvil with automine mines a transaction before eth_sendRawTransaction answers (checked
// on the first one), so the answer is the moment the node says "mined"; "from send" is the upper
// bound. Transactions go one at a time, each once the previous one's frame arrived and a random
// 100-200 ms later (--gap-ms plus up to 100 ms), so every sample is one block through an idle system,
// as on a real chain, at a random phase of any periodic work.
//
// The indexer and serve share one embedded log (as `npm start` runs them), so serve's consumer is
// woken by the indexer's append in the same process. The breakdown splits each sample at the moment
// the log accepted the record (read back from the file after the run): mined -> appended is the
// indexer, appended -> frame is serve's wake-up, fold, commit and push.
//
// Baseline, in the same run and for the same blocks: a client's own newHeads subscription on anvil.
//
// Profiling, with --probe-poll-ms N: one more consumer of the events topic, on a connection of its
// own polling every N ms, timestamps each record when it sees it; with N = 1 it shows how soon a
// commit can be seen across connections, and how much of appended -> frame is serve's 50 ms poll.
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { createWalletClient, encodeFunctionData, http, parseUnits, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import WebSocket from 'ws'
import { encodeMarketId } from '../contracts-abi/market-id.ts'
import { markets } from '../contracts-abi/markets.ts'
import { perpExchangeAbi } from '../contracts-abi/perp-exchange.abi.ts'
import { createChainRpc } from '../indexer/chain/json-rpc.ts'
import { createEmbeddedLog } from '../indexer/log/embedded-log.ts'
import { topics } from '../indexer/records/topics.ts'
import { silentLogger } from '../indexer/runtime/logger.ts'
import { startE2eStack, type E2eStack } from '../test/support/e2e-stack.ts'
import { readBenchArgs } from './bench-args.ts'
import { readAppendTimes } from './e2e-latency/append-times.ts'
import { latencyTable, percentile } from './e2e-latency/latency-table.ts'
import { createArrivals, type Arrivals } from './arrivals.ts'

export const description = 'mined transaction to its position_opened frame at a WebSocket client (indexer, embedded log, serve), p50/p99'

const usage = `Usage: npm run bench -- e2e-latency [--txs N] [--warmup N] [--gap-ms N]
  --txs N     measured transactions, one block each (default 200)
  --warmup N  transactions sent first and not counted (default 20)
  --gap-ms N  least pause between a frame's arrival and the next transaction; up to 100 ms more at random (default 100)
  --probe-poll-ms N  also time a probe consumer polling the log file every N ms (default: no probe)
`

const TARGET_P99_MS = 50
const WAIT_MS = 10_000
const GAP_JITTER_MS = 100
const WAD = 18

interface Options {
  readonly txs: number
  readonly warmup: number
  readonly gapMs: number
  readonly probePollMs: number | undefined
}

/** Epoch milliseconds with sub-millisecond precision. */
const nowMs = (): number => performance.timeOrigin + performance.now()

interface Sample {
  readonly hash: Hex
  readonly sent: number
  readonly mined: number
  readonly frame: number
}


/** A client of /api/v1/ws/events that times each position_opened frame on arrival. */
async function openEventsClient(stack: E2eStack, arrivals: Arrivals): Promise<{ listed: () => number; close: () => void }> {
  const socket = new WebSocket(stack.wsUrl('events'))
  let listed = 0
  socket.on('message', (data) => {
    const at = nowMs()
    const frame = JSON.parse(String(data)) as { type: string; data?: { transaction_hash?: string } }
    if (frame.type === 'market_listed') listed++
    if (frame.type === 'position_opened' && frame.data?.transaction_hash !== undefined) arrivals.observe(frame.data.transaction_hash, at)
  })
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  return { listed: () => listed, close: () => socket.terminate() }
}

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`e2e-latency: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Signs n openPosition transactions of one trader ahead of time, so a send is one eth_sendRawTransaction. */
async function signOpens(stack: E2eStack, n: number): Promise<Hex[]> {
  const trader = stack.anvil.accounts[1]!
  const chain = { ...foundry, id: stack.anvil.chainId }
  const wallet = createWalletClient({ account: privateKeyToAccount(trader.privateKey), chain, transport: http(stack.anvil.rpcUrl) })
  const first = await stack.chain.publicClient.getTransactionCount({ address: trader.address, blockTag: 'pending' })
  const signed: Hex[] = []
  for (let i = 0; i < n; i++) {
    const market = markets[i % markets.length]!
    const args = [encodeMarketId(market.id), i % 2 === 0, parseUnits('0.01', WAD), parseUnits('1000', WAD)] as const
    const data = encodeFunctionData({ abi: perpExchangeAbi, functionName: 'openPosition', args })
    const fees = { maxFeePerGas: parseUnits('100', 9), maxPriorityFeePerGas: parseUnits('1', 9) }
    signed.push(await wallet.signTransaction({ to: stack.chain.contract, data, nonce: first + i, gas: 500_000n, chain, ...fees }))
  }
  return signed
}

async function timeSends(stack: E2eStack, signed: readonly Hex[], arrivals: Arrivals, gapMs: number): Promise<Sample[]> {
  const request = (method: string, params: readonly unknown[]) => stack.chain.publicClient.request({ method, params } as never) as Promise<unknown>
  const samples: Sample[] = []
  for (const raw of signed) {
    const sent = nowMs()
    const hash = ((await request('eth_sendRawTransaction', [raw])) as Hex).toLowerCase() as Hex
    const mined = nowMs()
    if (samples.length === 0 && (await request('eth_getTransactionReceipt', [hash])) === null) {
      throw new Error('e2e-latency: anvil answered eth_sendRawTransaction before mining: is automine off?')
    }
    samples.push({ hash, sent, mined, frame: await arrivals.wait(hash) })
    await new Promise((resolve) => setTimeout(resolve, gapMs + Math.random() * GAP_JITTER_MS))
  }
  return samples
}

/** The block of each transaction, once the run is over. */
async function blocksOf(stack: E2eStack, hashes: readonly Hex[]): Promise<Map<string, number>> {
  const blocks = new Map<string, number>()
  for (const hash of hashes) {
    const receipt = await stack.chain.publicClient.getTransactionReceipt({ hash })
    blocks.set(hash, Number(receipt.blockNumber))
  }
  return blocks
}

export async function run(args: readonly string[]): Promise<void> {
  const parsed = readBenchArgs('e2e-latency', args)
  if (parsed === undefined) {
    process.stdout.write(usage)
    return
  }
  const probePollMs = args.includes('--probe-poll-ms') ? parsed.int('probe-poll-ms', 1) : undefined
  const options: Options = { txs: parsed.int('txs', 200), warmup: parsed.int('warmup', 20), gapMs: parsed.int('gap-ms', 100), probePollMs }
  const loadAtStart = loadText()
  const stack = await startE2eStack({ backend: 'embedded', headMode: 'ws', snapshotIntervalMs: 1_000 })
  const heads = new Map<number, number>()
  const rpc = createChainRpc({ url: stack.anvil.wsUrl, timeoutMs: 5_000, logger: silentLogger })
  let client: { close: () => void } | undefined
  let probe: Probe | undefined
  try {
    const arrivals = createArrivals('position_opened frame', WAIT_MS)
    const events = await openEventsClient(stack, arrivals)
    client = events
    stack.startIndexer()
    await until(() => events.listed() === markets.length, 'the markets on the events path')
    if (options.probePollMs !== undefined) probe = startProbe(join(stack.dataDir, 'log.db'), options.probePollMs)
    const unsubscribe = await rpc.subscribeNewHeads!(
      (head) => heads.set(head.number, nowMs()),
      (error) => progress(`newHeads baseline error: ${error.message}`),
    )
    progress(`anvil ${stack.anvil.wsUrl}, serve on port ${stack.serve.port()}: ${options.warmup} + ${options.txs} transactions, ${options.gapMs}-${options.gapMs + GAP_JITTER_MS} ms apart`)
    await timeSends(stack, await signOpens(stack, options.warmup), arrivals, options.gapMs)
    const samples = await timeSends(stack, await signOpens(stack, options.txs), arrivals, options.gapMs)
    await unsubscribe()
    const blocks = await blocksOf(stack, samples.map((s) => s.hash))
    const appended = await readAppendTimes(join(stack.dataDir, 'log.db'), topics.events, 'position_opened')
    report(options, samples, { heads, blocks, appended, probed: probe?.seen ?? new Map() }, loadAtStart)
  } finally {
    await probe?.stop()
    client?.close()
    await rpc.close()
    await stack.close()
  }
}

interface Probe {
  /** When the probe saw each position_opened record, by transaction hash. */
  readonly seen: ReadonlyMap<string, number>
  stop(): Promise<void>
}

function startProbe(path: string, pollIntervalMs: number): Probe {
  const log = createEmbeddedLog({ path, pollIntervalMs })
  const seen = new Map<string, number>()
  const consumer = log.consume({
    topics: [topics.events],
    groupId: 'bench-e2e-latency-probe',
    from: () => 0,
    onBatch: async ({ records }) => {
      const at = nowMs()
      for (const record of records) {
        const value = JSON.parse(record.value.toString('utf8')) as { type?: string; chain?: { tx_hash?: string } }
        if (value.type === 'position_opened' && value.chain?.tx_hash !== undefined) seen.set(value.chain.tx_hash, at)
      }
    },
  })
  return {
    seen,
    stop: async () => {
      await consumer.stop()
      await log.close()
    },
  }
}

interface Observed {
  readonly heads: ReadonlyMap<number, number>
  readonly blocks: ReadonlyMap<string, number>
  readonly appended: ReadonlyMap<string, number>
  readonly probed: ReadonlyMap<string, number>
}

function report(options: Options, samples: readonly Sample[], observed: Observed, loadAtStart: string): void {
  const cpu = cpus()
  const fromMined = samples.map((s) => s.frame - s.mined)
  const p99 = percentile([...fromMined].sort((a, b) => a - b), 0.99)
  const defined = (values: readonly (number | undefined)[]): number[] => values.filter((v): v is number => v !== undefined)
  const appendedAt = (s: Sample) => observed.appended.get(s.hash)
  const headAt = (s: Sample) => observed.heads.get(observed.blocks.get(s.hash) ?? -1)
  const probedAt = (s: Sample) => observed.probed.get(s.hash)
  const probeRows =
    options.probePollMs === undefined
      ? []
      : [
          { label: `probe: appended -> seen by a consumer polling every ${options.probePollMs} ms`, samples: defined(samples.map((s) => mapDefined(appendedAt(s), (a) => mapDefined(probedAt(s), (p) => p - a)))) },
          { label: 'probe: seen by the probe -> frame at the client', samples: defined(samples.map((s) => mapDefined(probedAt(s), (p) => s.frame - p))) },
        ]
  const lines = [
    '',
    `e2e-latency: ${options.txs} transactions (after ${options.warmup} warm-up), one per block, anvil automine, indexer HEAD_MODE=ws, embedded log, ${options.gapMs}-${options.gapMs + GAP_JITTER_MS} ms apart`,
    `machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, node ${process.version}, ${process.platform} ${process.arch}`,
    `load average at start: ${loadAtStart}, at end: ${loadText()}`,
    '',
    ...latencyTable([
      { label: 'e2e: send -> position_opened frame at the client', samples: samples.map((s) => s.frame - s.sent) },
      { label: 'e2e: mined (send answered) -> frame', samples: fromMined },
      { label: 'indexer: mined -> record appended to the log (1 ms resolution)', samples: defined(samples.map((s) => mapDefined(appendedAt(s), (a) => a - s.mined))) },
      { label: 'serve: record appended -> frame at the client', samples: defined(samples.map((s) => mapDefined(appendedAt(s), (a) => s.frame - a))) },
      { label: 'baseline: mined (send answered) -> newHeads at a client', samples: defined(samples.map((s) => mapDefined(headAt(s), (h) => h - s.mined))) },
      { label: 'baseline: send -> newHeads at a client', samples: defined(samples.map((s) => mapDefined(headAt(s), (h) => h - s.sent))) },
      ...probeRows,
    ]),
    '',
    `target: p99 mined -> frame < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS ? 'PASS' : 'MISS'} (${p99.toFixed(2)} ms)`,
    '',
  ]
  process.stdout.write(lines.join('\n'))
}

function mapDefined<T, U>(value: T | undefined, f: (value: T) => U): U | undefined {
  return value === undefined ? undefined : f(value)
}

function loadText(): string {
  return loadavg().map((l) => l.toFixed(2)).join(', ')
}

function progress(message: string): void {
  process.stderr.write(`  ${message}\n`)
}
