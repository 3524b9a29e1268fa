// The liquidation-candidate index on 1M open positions: on each tick (a new mark price for one
// market, now and then with a funding update), the market's at-risk set is recomputed by the index,
// and, in the same run, by a full scan of the market's positions (the baseline, scanAtRisk: what the
// query did before the index). Both give the same list, least healthy first; the benchmark checks it
// on every tick it scans.
//
// The book is made to look like a live exchange's: entries spread around the start price, leverage
// from 1x up to what an initial margin of twice the maintenance margin allows (10x at m = 5%), and
// nothing liquidatable at the start (the contract would have liquidated it). After each tick the
// liquidatable positions of the set are liquidated (removed from the index) and as many new ones
// open at the new price (inserted), so the book keeps its size while the price walks.
//
// The index's work is the size of the at-risk set, so its tail is set as much by the garbage
// collector as by the index: the report also shows the index calls that no collection paused (from
// the runtime's gc performance entries), and how many it did.
import { cpus, loadavg } from 'node:os'
import { PerformanceObserver, performance } from 'node:perf_hooks'
import { WAD, divWad, mulWad } from '../indexer/records/decimal.ts'
import { createRandom, type Random } from '../projections/test-support/random.ts'
import { scanAtRisk, type AtRiskPosition, type IndexedPosition } from '../projections/query/at-risk-position.ts'
import { createLiquidationIndex, type LiquidationIndex } from '../projections/query/liquidation-index.ts'
import { isLiquidatable, type MarketRiskParameters, type Side } from '../projections/risk/risk.ts'
import { readBenchArgs } from './bench-args.ts'

export const description = 'liquidation candidates on 1M open positions: at-risk set per tick, index vs full scan (p50/p99)'

const HELP = `Usage: npm run bench -- liquidation-scan [options]

  --positions <n>     open positions (default 1000000)
  --markets <n>       markets they are spread over (default 10)
  --ticks <n>         measured ticks (default 2000), after 100 untimed
  --scan-every <n>    run the full-scan baseline on every n-th tick (default 10; a scan takes some 300 times as long)
  --max-leverage <n>  positions open at 1x up to n x, or what twice the maintenance margin allows
                      if that is less (default 20: 10x at m = 5%)
  --seed <n>          the random book and price paths (default 1)

It runs under node --max-semi-space-size=64, the flag serve runs with (it reruns itself so).
`

const TARGET_P99_MS = 2
const WARM_UP_TICKS = 100
/** Per market: a start price and a maintenance margin ratio, in thousandths. */
const MARKET_SHAPES: readonly { readonly price: bigint; readonly ratio: bigint }[] = [
  { price: 65_000n * WAD, ratio: 50n },
  { price: 3_500n * WAD, ratio: 50n },
  { price: 150n * WAD, ratio: 50n },
  { price: 600n * WAD, ratio: 40n },
  { price: 25n * WAD, ratio: 60n },
  { price: (6n * WAD) / 10n, ratio: 80n },
  { price: 7n * WAD, ratio: 50n },
  { price: 180n * WAD, ratio: 50n },
  { price: 12n * WAD, ratio: 100n },
  { price: (9n * WAD) / 100n, ratio: 100n },
]

interface Options {
  readonly positions: number
  readonly markets: number
  readonly ticks: number
  readonly scanEvery: number
  readonly maxLeverage: number
  readonly seed: number
}

interface SimulatedMarket {
  readonly id: string
  /** In tenths: 1/(2m), at most --max-leverage. */
  readonly maxLeverageTenths: number
  parameters: MarketRiskParameters
  price: bigint
  /** Its open positions, for the scan. */
  readonly open: Map<string, IndexedPosition>
}

interface Book {
  readonly markets: readonly SimulatedMarket[]
  readonly random: Random
  nextId: number
}

interface Span {
  readonly start: number
  readonly end: number
}

interface Measurements {
  readonly indexMs: number[]
  /** When each index call ran (performance.now()), to tell the calls a garbage collection paused. */
  readonly indexSpans: Span[]
  readonly scanMs: number[]
  readonly atRiskSizes: number[]
  readonly updateUs: number[]
  fundingUpdates: number
}

const emptyMeasurements = (): Measurements => ({ indexMs: [], indexSpans: [], scanMs: [], atRiskSizes: [], updateUs: [], fundingUpdates: 0 })

/** value · numerator / denominator, truncated: a WAD amount scaled by a plain fraction. */
const scaled = (value: bigint, numerator: bigint, denominator: bigint): bigint => (value * numerator) / denominator

/** A position opening at the market's price now, sized and levered at random, not liquidatable at once. */
function openPosition(book: Book, market: SimulatedMarket, spreadBasisPoints: number): IndexedPosition {
  const { random } = book
  for (;;) {
    const side: Side = random.chance(0.5) ? 'long' : 'short'
    const entryPrice = scaled(market.price, BigInt(10_000 + random.int(2 * spreadBasisPoints + 1) - spreadBasisPoints), 10_000n)
    const notional = BigInt(100 + random.int(99_901)) * WAD
    const leverageTenths = BigInt(10 + random.int(market.maxLeverageTenths - 9))
    // Funding accrued since it opened: up to 0.01% of the price either way.
    const accrued = scaled(market.price, BigInt(random.int(201) - 100), 1_000_000n)
    const facts = {
      side,
      size: divWad(notional, entryPrice),
      collateral: scaled(notional, 10n, leverageTenths),
      entryPrice,
      entryFundingIndex: market.parameters.cumulativeFundingIndex - accrued,
    }
    if (isLiquidatable(facts, market.parameters, market.price)) continue
    const positionId = `0x${(book.nextId++).toString(16).padStart(64, '0')}`
    return { positionId, marketId: market.id, facts }
  }
}

function createBook(options: Options): Book {
  const random = createRandom(options.seed)
  const markets = Array.from({ length: options.markets }, (_, i): SimulatedMarket => {
    const shape = MARKET_SHAPES[i % MARKET_SHAPES.length]!
    const parameters = { maintenanceMarginRatio: (shape.ratio * WAD) / 1000n, liquidationFeeRatio: WAD / 100n, cumulativeFundingIndex: 0n }
    const maxLeverageTenths = Math.min(10 * options.maxLeverage, Number(5000n / shape.ratio))
    return { id: `market-${i}`, maxLeverageTenths, parameters, price: shape.price, open: new Map() }
  })
  const book: Book = { markets, random, nextId: 0 }
  for (let n = 0; n < options.positions; n++) {
    const market = markets[n % markets.length]!
    const position = openPosition(book, market, 800)
    market.open.set(position.positionId, position)
  }
  return book
}

/** A tick: the price moves up to 0.2% either way; one tick in ten also moves the funding index by up to 0.001% of it. */
function moveMarket(book: Book, market: SimulatedMarket): boolean {
  const { random } = book
  market.price = scaled(market.price, BigInt(10_000 + random.int(41) - 20), 10_000n)
  if (!random.chance(0.1)) return false
  const rate = BigInt(random.int(21) - 10)
  const index = market.parameters.cumulativeFundingIndex + mulWad(market.price, rate * 10n ** 12n)
  market.parameters = { ...market.parameters, cumulativeFundingIndex: index }
  return true
}

class IndexMismatchError extends Error {
  override readonly name = 'IndexMismatchError'
  constructor(readonly marketId: string, readonly tick: number) {
    super(`index and full scan disagree on market ${marketId} at tick ${tick}`)
  }
}

function sameList(a: readonly AtRiskPosition[], b: readonly AtRiskPosition[]): boolean {
  return a.length === b.length && a.every((p, i) => p.positionId === b[i]!.positionId && p.healthFactor === b[i]!.healthFactor)
}

const elapsedMs = (started: number): number => performance.now() - started

/** Liquidates what is liquidatable in the set and opens as many new positions: the index updates of a tick. */
function liquidateAndReplace(book: Book, index: LiquidationIndex, market: SimulatedMarket, atRisk: readonly AtRiskPosition[], out: Measurements): void {
  for (const candidate of atRisk) {
    // Liquidatable (equity < maintenance) is health below 1, or no health (a zero maintenance) with the position at risk.
    if (candidate.healthFactor !== undefined && candidate.healthFactor >= WAD) continue
    let started = performance.now()
    index.remove(candidate.positionId)
    out.updateUs.push(elapsedMs(started) * 1000)
    market.open.delete(candidate.positionId)
    const replacement = openPosition(book, market, 0)
    started = performance.now()
    index.upsert(replacement)
    out.updateUs.push(elapsedMs(started) * 1000)
    market.open.set(replacement.positionId, replacement)
  }
}

function runTick(book: Book, index: LiquidationIndex, tick: number, scan: boolean, out: Measurements | undefined): void {
  const market = book.markets[book.random.int(book.markets.length)]!
  if (moveMarket(book, market) && out !== undefined) out.fundingUpdates++
  let started = performance.now()
  const atRisk = index.atRisk(market.id, market.parameters, market.price)
  const span = { start: started, end: performance.now() }
  if (scan) {
    started = performance.now()
    const scanned = scanAtRisk(market.open.values(), market.id, market.parameters, market.price)
    out?.scanMs.push(elapsedMs(started))
    if (!sameList(atRisk, scanned)) throw new IndexMismatchError(market.id, tick)
  }
  out?.indexMs.push(span.end - span.start)
  out?.indexSpans.push(span)
  out?.atRiskSizes.push(atRisk.length)
  liquidateAndReplace(book, index, market, atRisk, out ?? emptyMeasurements())
}

/** The garbage collector's pauses while it runs. */
function observeGcPauses(): { stop(): Promise<Span[]> } {
  const pauses: Span[] = []
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ start: entry.startTime, end: entry.startTime + entry.duration })
  })
  observer.observe({ entryTypes: ['gc'] })
  return {
    stop: async () => {
      await new Promise((resolve) => setImmediate(resolve))
      observer.disconnect()
      return pauses
    },
  }
}

/** The index calls that no garbage collection paused, and how many it did. */
function withoutGc(out: Measurements, pauses: readonly Span[]): { clean: number[]; paused: number } {
  const clean: number[] = []
  out.indexSpans.forEach((span, i) => {
    if (!pauses.some((pause) => pause.start < span.end && pause.end > span.start)) clean.push(out.indexMs[i]!)
  })
  return { clean, paused: out.indexSpans.length - clean.length }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN
}

function stats(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b)
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length)
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN, mean, n: sorted.length }
}

function row(label: string, values: readonly number[], digits: number): string {
  const s = stats(values)
  const cells = [s.p50, s.p99, s.max, s.mean].map((v) => v.toFixed(digits).padStart(9))
  return `| ${label.padEnd(50)} | ${cells.join(' | ')} | ${String(s.n).padStart(7)} |`
}

const count = (n: number): string => n.toLocaleString('en-US')
const loadText = (): string => loadavg().map((l) => l.toFixed(2)).join(', ')

function report(options: Options, build: { ms: number; heapMb: number }, out: Measurements, pauses: readonly Span[], loadAtStart: string): void {
  const cpu = cpus()
  const gc = withoutGc(out, pauses)
  const pauseMs = stats(pauses.map((p) => p.end - p.start))
  const index = stats(out.indexMs)
  const scan = stats(out.scanMs)
  const sizes = stats(out.atRiskSizes)
  const perMarket = Math.round(options.positions / options.markets)
  const lines = [
    '',
    `liquidation-scan: ${count(options.positions)} open positions over ${options.markets} markets (about ${count(perMarket)} each), ` +
      `${count(options.ticks)} ticks after ${WARM_UP_TICKS} untimed, full scan on every ${options.scanEvery}th`,
    `book: entries within 8% of the start price, leverage 1x to 1/(2m) (at most ${options.maxLeverage}x), none liquidatable at the start; ` +
      'each tick moves one market by up to 0.2%, one in ten with a funding update',
    `machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, node ${process.version}, ${process.platform} ${process.arch}`,
    `load average at start: ${loadAtStart}, at end: ${loadText()}`,
    `index built from ${count(options.positions)} positions in ${build.ms.toFixed(0)} ms (one sort per market and side); heap ${build.heapMb.toFixed(0)} MB`,
    '',
    `| ${'per tick, ms'.padEnd(50)} |       p50 |       p99 |       max |      mean | samples |`,
    `|${'-'.repeat(52)}|-----------|-----------|-----------|-----------|---------|`,
    row("index: the tick's market's at-risk set", out.indexMs, 3),
    row('index, the calls no garbage collection paused', gc.clean, 3),
    row(`baseline: full scan of the market's ${count(perMarket)} positions`, out.scanMs, 3),
    '',
    `full scan / index: ${(scan.p50 / index.p50).toFixed(0)}x at p50, ${(scan.p99 / index.p99).toFixed(0)}x at p99; the same list on all ${count(scan.n)} ticks scanned`,
    `garbage collection: ${count(pauses.length)} pauses while measuring (p50 ${pauseMs.p50.toFixed(1)} ms, max ${pauseMs.max.toFixed(1)} ms), ` +
      `inside ${gc.paused} of the ${count(out.indexMs.length)} index calls`,
    `at-risk set per tick: p50 ${sizes.p50}, p99 ${sizes.p99}, max ${sizes.max} positions (${((100 * sizes.p50) / perMarket).toFixed(2)}% of the market at p50)`,
    `index updates (liquidations and the positions opened in their place): ${count(out.updateUs.length)}, ` +
      `µs each p50 ${stats(out.updateUs).p50.toFixed(1)}, p99 ${stats(out.updateUs).p99.toFixed(1)}; funding updates: ${out.fundingUpdates} (no re-keying)`,
    '',
    `target: index p99 < ${TARGET_P99_MS} ms per tick: ${index.p99 < TARGET_P99_MS ? 'PASS' : 'MISS'} (${index.p99.toFixed(3)} ms)`,
    '',
  ]
  process.stdout.write(lines.join('\n'))
}

function parseOptions(argv: readonly string[]): Options | undefined {
  const args = readBenchArgs('liquidation-scan', argv)
  if (args === undefined) return undefined
  return {
    positions: args.int('positions', 1_000_000),
    markets: args.int('markets', 10),
    ticks: args.int('ticks', 2000),
    scanEvery: args.int('scan-every', 10),
    maxLeverage: args.int('max-leverage', 20),
    seed: args.int('seed', 1),
  }
}

/**
 * The young generation `serve` runs with (package.json, docker-compose.yml): its queries make
 * short-lived objects, and with Node's default 16 MB semi-spaces a scavenge lands inside about 2%
 * of the ticks. The benchmark measures the configuration that is shipped, so it reruns itself
 * under the same flag when started without it.
 */
export const SERVE_NODE_FLAG = '--max-semi-space-size=64'

async function rerunWithServeFlag(argv: readonly string[]): Promise<void> {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, [SERVE_NODE_FLAG, '--import', 'tsx', `${import.meta.dirname}/run.ts`, 'liquidation-scan', ...argv], { stdio: 'inherit' })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`liquidation-scan under ${SERVE_NODE_FLAG} exited with ${code}`)
}

export async function run(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv)
  if (options === undefined) {
    process.stdout.write(HELP)
    return
  }
  if (!process.execArgv.includes(SERVE_NODE_FLAG)) return rerunWithServeFlag(argv)
  const loadAtStart = loadText()
  process.stderr.write(`  generating ${count(options.positions)} positions\n`)
  const book = createBook(options)
  const index = createLiquidationIndex()
  const started = performance.now()
  index.load(book.markets.flatMap((m) => [...m.open.values()]), new Map(book.markets.map((m) => [m.id, m.parameters.maintenanceMarginRatio])))
  const build = { ms: elapsedMs(started), heapMb: process.memoryUsage().heapUsed / 2 ** 20 }
  process.stderr.write(`  index built in ${build.ms.toFixed(0)} ms; ${WARM_UP_TICKS} warm-up ticks\n`)
  for (let tick = 0; tick < WARM_UP_TICKS; tick++) runTick(book, index, -1, tick % 10 === 0, undefined)
  const out = emptyMeasurements()
  const gc = observeGcPauses()
  for (let tick = 0; tick < options.ticks; tick++) {
    if (tick % 200 === 0) process.stderr.write(`  tick ${tick}/${options.ticks}\n`)
    runTick(book, index, tick, tick % options.scanEvery === 0, out)
    // Let the observer take its entries now and then, outside the timed calls.
    if (tick % 50 === 49) await new Promise((resolve) => setImmediate(resolve))
  }
  report(options, build, out, await gc.stop(), loadAtStart)
}
