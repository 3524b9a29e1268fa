// Decoding throughput: the indexer's own decoder (and the decoder plus the mapping to records)
// against viem's decodeEventLog, on the same in-memory raw logs in the same run, so the ratio does
// not depend on the machine. Raw eth_getLogs from anvil delivers ~190k events/s; decoding must not
// be what limits a backfill.
import { isDeepStrictEqual } from 'node:util'
import { decodeEventLog, encodeAbiParameters, encodeEventTopics } from 'viem'
import type { Hex } from 'viem'
import { encodeMarketId } from '../contracts-abi/market-id.ts'
import { perpExchangeAbi } from '../contracts-abi/perp-exchange.abi.ts'
import { markets } from '../contracts-abi/markets.ts'
import type { RawLog } from '../indexer/chain/chain-types.ts'
import { createEventDecoder } from '../indexer/chain/event-decoder.ts'
import { createLogToRecord } from '../indexer/chain/log-to-record.ts'

export const description = 'raw-log decoding: own decoder and log-to-record vs viem decodeEventLog (events/s)'

const usage = `Usage: npm run bench -- decode [--logs N] [--reps N]
  --logs N   raw logs generated in memory (default 200000)
  --reps N   timed repetitions of each contender (default 5)
`

const contract: Hex = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const chainId = 31337
const WAD = 10n ** 18n
const TARGET_RATIO = 4

/** Share of each event in the generated logs, after the market listings that open the chain. */
const mix = [
  ['PositionOpened', 0.45],
  ['PositionClosed', 0.3],
  ['FundingUpdated', 0.2],
  ['PositionLiquidated', 0.05],
] as const

interface Options {
  readonly logs: number
  readonly reps: number
}

export async function run(args: readonly string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage)
    return
  }
  const options = parseOptions(args)
  process.stdout.write(`decode: generating ${options.logs} raw logs...\n`)
  const logs = generateLogs(options.logs)
  checkAgreement(logs.slice(0, 2000))
  const contenders = createContenders()
  for (const contender of contenders) contender.pass(logs.slice(0, 20_000))
  const rates = new Map<string, number[]>(contenders.map((c) => [c.name, []]))
  for (let rep = 0; rep < options.reps; rep++) {
    for (const [name, rate] of timeRepetition(contenders, logs)) rates.get(name)?.push(rate)
  }
  report(options, contenders, rates)
}

function parseOptions(args: readonly string[]): Options {
  const value = (flag: string, fallback: number): number => {
    const at = args.indexOf(flag)
    if (at < 0) return fallback
    const parsed = Number(args[at + 1])
    if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`${flag} needs a positive integer\n${usage}`)
    return parsed
  }
  return { logs: value('--logs', 200_000), reps: value('--reps', 5) }
}

interface Contender {
  readonly name: string
  /** Handles every log once; returns how many events it produced. */
  pass(logs: readonly RawLog[]): number
}

function createContenders(): Contender[] {
  const checksum = createEventDecoder(perpExchangeAbi)
  const lowercase = createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' })
  const toRecord = createLogToRecord({ chainId, contract, decoder: lowercase })
  const count = (logs: readonly RawLog[], handle: (log: RawLog) => unknown): number => {
    let produced = 0
    for (const log of logs) if (handle(log) !== undefined) produced++
    return produced
  }
  return [
    {
      name: 'viem decodeEventLog',
      pass: (logs) =>
        count(logs, (log) => decodeEventLog({ abi: perpExchangeAbi, topics: log.topics as [Hex], data: log.data })),
    },
    { name: 'event decoder (checksum addresses)', pass: (logs) => count(logs, (log) => checksum.decode(log)) },
    { name: 'event decoder (lowercase addresses)', pass: (logs) => count(logs, (log) => lowercase.decode(log)) },
    { name: 'event decoder + log-to-record', pass: (logs) => count(logs, (log) => toRecord(log, 1_764_000_000)) },
  ]
}

/** Logs per turn: small enough that load from other processes falls on every contender alike. */
const CHUNK = 5_000

/**
 * One pass of every contender over all logs, taking turns chunk by chunk in a rotating order, so
 * that noise from a shared machine and cache warmth do not favour one of them. Returns events/s.
 */
function timeRepetition(contenders: readonly Contender[], logs: readonly RawLog[]): Map<string, number> {
  const elapsed = contenders.map(() => 0n)
  const produced = contenders.map(() => 0)
  for (let start = 0, turn = 0; start < logs.length; start += CHUNK, turn++) {
    const chunk = logs.slice(start, start + CHUNK)
    for (let k = 0; k < contenders.length; k++) {
      const index = (k + turn) % contenders.length
      const started = process.hrtime.bigint()
      produced[index] = (produced[index] ?? 0) + (contenders[index]?.pass(chunk) ?? 0)
      elapsed[index] = (elapsed[index] ?? 0n) + (process.hrtime.bigint() - started)
    }
  }
  return new Map(
    contenders.map((contender, index) => {
      if (produced[index] !== logs.length) {
        throw new Error(`${contender.name} produced ${produced[index]} of ${logs.length} events`)
      }
      return [contender.name, logs.length / (Number(elapsed[index]) / 1e9)]
    }),
  )
}

/** The bench is only meaningful if the contenders agree; viem is the reference. */
function checkAgreement(logs: readonly RawLog[]): void {
  const decoder = createEventDecoder(perpExchangeAbi)
  for (const log of logs) {
    const ours = decoder.decode(log)
    const viem = decodeEventLog({ abi: perpExchangeAbi, topics: log.topics as [Hex], data: log.data })
    if (!isDeepStrictEqual(ours, viem)) {
      throw new Error(`the decoder disagrees with viem on log ${log.transactionHash}:${log.logIndex}`)
    }
  }
}

function report(options: Options, contenders: readonly Contender[], rates: ReadonlyMap<string, number[]>): void {
  const summary = (name: string) => {
    const sorted = [...(rates.get(name) ?? [])].sort((a, b) => a - b)
    return { median: sorted[Math.floor(sorted.length / 2)] ?? 0, min: sorted[0] ?? 0, max: sorted.at(-1) ?? 0 }
  }
  const baseline = summary('viem decodeEventLog').median
  const shares = mix.map(([name, share]) => `${name} ${Math.round(share * 100)}%`).join(', ')
  const lines = [
    `decode: ${options.logs} raw logs (${markets.length} MarketListed, then ${shares}), ${options.reps} repetitions`,
    `${'contender'.padEnd(38)}${'events/s median'.padStart(16)}   (min–max)`,
  ]
  for (const { name } of contenders) {
    const { median, min, max } = summary(name)
    const ratio = name === 'viem decodeEventLog' ? '' : `   ${(median / baseline).toFixed(1)}× viem`
    lines.push(`${name.padEnd(38)}${rate(median).padStart(16)}   (${rate(min)}–${rate(max)})${ratio}`)
  }
  const endToEnd = summary('event decoder + log-to-record').median / baseline
  lines.push(`target: decoder + log-to-record ≥ ${TARGET_RATIO}× viem: ${endToEnd >= TARGET_RATIO ? 'met' : 'NOT met'}`)
  process.stdout.write(`${lines.join('\n')}\n`)
}

const rate = (perSecond: number): string => Math.round(perSecond).toLocaleString('en-US')

/** Deterministic pseudo-random numbers (mulberry32), so every run decodes the same logs. */
function createRandom(seed: number) {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  const hex = (bytes: number): string => {
    let out = ''
    for (let i = 0; i < bytes; i++) out += Math.floor(next() * 256).toString(16).padStart(2, '0')
    return out
  }
  /** A WAD amount between `low` and `high` whole units, with 18 random decimals. */
  const wad = (low: number, high: number): bigint =>
    BigInt(Math.floor(low + next() * (high - low))) * WAD + BigInt(`0x${hex(7)}`) % WAD
  return { next, hex, wad }
}

type Random = ReturnType<typeof createRandom>

const word = (value: bigint): string => BigInt.asUintN(256, value).toString(16).padStart(64, '0')
const topic = (value: bigint | string): Hex => `0x${typeof value === 'string' ? value.padStart(64, '0') : word(value)}`

function generateLogs(count: number): RawLog[] {
  const random = createRandom(20_251_126)
  const selectors = new Map(
    perpExchangeAbi
      .filter((item) => item.type === 'event')
      .map((item) => [item.name, encodeEventTopics({ abi: perpExchangeAbi, eventName: item.name })[0]]),
  )
  const traders = Array.from({ length: 1_000 }, () => random.hex(20))
  const marketIds = markets.map((market) => encodeMarketId(market.id).slice(2))
  const logs: RawLog[] = markets.slice(0, count).map((market, i) => marketListed(market, i, random))
  for (let i = logs.length; i < count; i++) {
    const pick = random.next()
    let acc = 0
    const name = mix.find(([, share]) => (acc += share) > pick)?.[0] ?? 'PositionOpened'
    const head = { selector: selectors.get(name) ?? '0x', marketId: marketIds[i % marketIds.length] ?? '' }
    const trader = traders[Math.floor(random.next() * traders.length)] ?? ''
    const { topics, data } = eventBody(name, head, trader, traders, random)
    logs.push(positioned(topics, data, i, random))
  }
  return logs
}

function eventBody(
  name: (typeof mix)[number][0],
  head: { readonly selector: string; readonly marketId: string },
  trader: string,
  traders: readonly string[],
  random: Random,
): { topics: Hex[]; data: string } {
  const position = [head.selector as Hex, topic(random.hex(32)), topic(trader), topic(head.marketId)]
  const price = random.wad(20, 70_000)
  const pnl = (): bigint => (random.next() < 0.5 ? -1n : 1n) * random.wad(0, 5_000)
  switch (name) {
    case 'PositionOpened': {
      const size = random.wad(0, 10)
      const collateral = random.wad(100, 50_000)
      const leverage = (size * price) / collateral
      const funding = pnl() / 1000n
      return { topics: position, data: [1n, size, collateral, leverage, price, funding].map(word).join('') }
    }
    case 'PositionClosed':
      return { topics: position, data: [price, pnl(), pnl() / 100n].map(word).join('') }
    case 'PositionLiquidated': {
      const liquidator = BigInt(`0x${traders[0] ?? '0'}`)
      return { topics: position, data: [liquidator, price, price / 100n, -random.wad(100, 50_000)].map(word).join('') }
    }
    case 'FundingUpdated': {
      const values = [pnl() / 10_000_000n, pnl(), random.wad(0, 10_000_000), random.wad(0, 10_000_000), 1_764_000_000n]
      return { topics: [head.selector as Hex, topic(head.marketId)], data: values.map(word).join('') }
    }
  }
}

function marketListed(market: (typeof markets)[number], index: number, random: Random): RawLog {
  const [selector] = encodeEventTopics({ abi: perpExchangeAbi, eventName: 'MarketListed' })
  const data = encodeAbiParameters(
    [{ type: 'string' }, { type: 'bytes32' }, { type: 'uint256' }, { type: 'uint256' }],
    [market.symbol, market.pythFeedId, 5n * 10n ** 16n, 10n ** 16n],
  )
  return positioned([selector, topic(encodeMarketId(market.id).slice(2))], data.slice(2), index, random)
}

/** Fifty logs to a block, as in a busy chain's eth_getLogs pages. */
function positioned(topics: Hex[], data: string, index: number, random: Random): RawLog {
  const block = 1_000 + Math.floor(index / 50)
  return {
    address: contract,
    topics,
    data: `0x${data}`,
    blockNumber: `0x${block.toString(16)}`,
    blockHash: `0x${word(BigInt(block) * 7919n)}`,
    transactionHash: `0x${random.hex(32)}`,
    logIndex: `0x${(index % 50).toString(16)}`,
  }
}
