// Backfill throughput: perp events generated on a real anvil (openPositions in bulk, closes, funding
// updates), backfilled by the indexer's own path (raw eth_getLogs, its decoder, the typed writer)
// into the embedded log and into Kafka, beside viem's getContractEvents path (getLogs with
// formatting and decodeEventLog, into memory only) measured in the same run on the same chain, so
// the ratio survives a noisy machine. Each contender runs several times; the table shows medians.
//
// Beside them, the ceiling: raw eth_getLogs over the same ranges, each answer only JSON-parsed (what
// anvil delivers, before any decoding or writing). And per run the CPU time per event of this
// process and of anvil, which shares the machine's cores: the budget a rate must fit in.
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { perpExchangeAbi } from '../contracts-abi/perp-exchange.abi.ts'
import { createBackfill } from '../indexer/chain/backfill.ts'
import { createEventDecoder } from '../indexer/chain/event-decoder.ts'
import { createChainRpc } from '../indexer/chain/json-rpc.ts'
import { createLogEventSink } from '../indexer/chain/log-event-sink.ts'
import { createLogToRecord } from '../indexer/chain/log-to-record.ts'
import { createEmbeddedLog } from '../indexer/log/embedded-log.ts'
import { createKafkaLog } from '../indexer/log/kafka-log.ts'
import type { Log } from '../indexer/log/log.ts'
import { silentLogger } from '../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../indexer/runtime/metrics.ts'
import { startAnvil } from '../test/support/anvil.ts'
import { startKafkaBroker } from '../test/support/kafka-broker.ts'
import { deployPerpDevnet, generatePerpEvents, type PerpDevnet } from '../test/support/perp-load.ts'
import { readBenchArgs } from './bench-args.ts'
import { median } from './median.ts'

export const description = 'backfill of 200k anvil events into the embedded log and Kafka (events/s), against viem getContractEvents'

const HELP = `Usage: npm run bench -- backfill [options]

  --events <n>       events generated on anvil (default 200000)
  --repeats <n>      runs per contender (default 3)
  --concurrency <n>  eth_getLogs in flight, for every contender (default 4)
  --backend <name>   embedded, kafka or both (default both)
  --brokers <list>   use this Kafka instead of starting one with scripts/kafka.sh
`

const TARGET_EVENTS_PER_S = 100_000
const TARGET_RATIO = 4
const PARTITIONS = 3
/** viem's ranges hold about this many logs each, like the indexer's adaptive target. */
const BASELINE_LOGS_PER_RANGE = 5_000
const RAW = 'ceiling: raw eth_getLogs, JSON.parse only'
const BASELINE = 'viem getContractEvents (memory only)'
const EMBEDDED = 'indexer backfill -> embedded log'

interface Settings {
  readonly events: number
  readonly repeats: number
  readonly concurrency: number
  readonly backends: ReadonlySet<'embedded' | 'kafka'>
  readonly brokers: string | undefined
}

function parseArgs(argv: readonly string[]): Settings | undefined {
  const args = readBenchArgs('backfill', argv)
  if (args === undefined) return undefined
  return {
    events: args.int('events', 200_000),
    repeats: args.int('repeats', 3),
    concurrency: args.int('concurrency', 4),
    backends: args.backends,
    brokers: args.brokers,
  }
}

interface Chain {
  readonly devnet: PerpDevnet
  readonly head: number
  readonly events: number
  /** anvil's pid, for its CPU time. */
  readonly anvilPid: number
}

// USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux this runs on.
const CLOCK_TICKS_PER_S = 100

/** A process's user + system CPU time in ms, or undefined where /proc cannot tell (not Linux). */
function processCpuMs(pid: number): number | undefined {
  try {
    // The fields after the command name (which may hold spaces) start at the state, field 3.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S
  } catch {
    return undefined
  }
}

/** The indexer's backfill from block 0 to the head into `log`; returns the events written and the time. */
async function ourBackfill(chain: Chain, log: Log, topics: { events: string; checkpoints: string }, concurrency: number) {
  const metrics = createMetricsRegistry()
  const { devnet } = chain
  const rpc = createChainRpc({ url: devnet.rpcUrl, timeoutMs: 60_000, logger: silentLogger, metrics })
  const sink = createLogEventSink({
    log,
    chainId: devnet.chainId,
    contract: devnet.contract,
    startBlock: 0,
    partitions: PARTITIONS,
    finalityDepth: 0,
    logger: silentLogger,
    metrics,
    eventsTopic: topics.events,
    checkpointTopic: topics.checkpoints,
  })
  const toRecord = createLogToRecord({ chainId: devnet.chainId, contract: devnet.contract, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) })
  const backfill = createBackfill({ rpc, sink, toRecord, contract: devnet.contract, concurrency, maxRange: 2_000, logger: silentLogger, metrics, progress: () => ({ update: () => {}, finish: () => {} }) })
  const { nextBlock } = await sink.resume()
  const result = await backfill.run({ from: nextBlock, to: chain.head })
  await rpc.close()
  return { events: result.events, ms: result.elapsedMs }
}

/** Blocks 0 to the head in ranges of about BASELINE_LOGS_PER_RANGE logs, `concurrency` fetched at a time. */
async function overRanges(chain: Chain, concurrency: number, fetch: (from: number, to: number) => Promise<number>) {
  const span = Math.max(1, Math.floor((BASELINE_LOGS_PER_RANGE * (chain.head + 1)) / chain.events))
  const started = performance.now()
  let next = 0
  let events = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next <= chain.head) {
        const from = next
        next += span
        // Awaited before the sum is read: `events += await ...` would add to a stale total.
        const fetched = await fetch(from, Math.min(chain.head, from + span - 1))
        events += fetched
      }
    }),
  )
  return { events, ms: performance.now() - started }
}

/** viem's path: getContractEvents (getLogs, formatting, decodeEventLog). */
async function viemBaseline(chain: Chain, concurrency: number) {
  const client = createPublicClient({ transport: http(chain.devnet.rpcUrl, { retryCount: 0, timeout: 60_000 }) })
  return overRanges(chain, concurrency, async (from, to) => {
    const logs = await client.getContractEvents({ address: chain.devnet.contract, abi: perpExchangeAbi, fromBlock: BigInt(from), toBlock: BigInt(to) })
    return logs.length
  })
}

/** The ceiling: raw eth_getLogs through the indexer's HTTP client, each answer JSON-parsed and nothing else. */
async function rawFetch(chain: Chain, concurrency: number) {
  const rpc = createChainRpc({ url: chain.devnet.rpcUrl, timeoutMs: 60_000, logger: silentLogger })
  try {
    return await overRanges(chain, concurrency, async (fromBlock, toBlock) => (await rpc.getLogs({ address: chain.devnet.contract, fromBlock, toBlock })).length)
  } finally {
    await rpc.close()
  }
}

type Sample = {
  readonly events: number
  readonly ms: number
  /** CPU time of this process and of anvil during the run (ms); undefined where not measurable. */
  readonly cpuMs: number
  readonly anvilCpuMs: number | undefined
}

/** Runs one contender, with this process's and anvil's CPU time over it. */
async function measured(chain: Chain, run: () => Promise<{ events: number; ms: number }>): Promise<Sample> {
  const anvilAtStart = processCpuMs(chain.anvilPid)
  const cpuAtStart = process.cpuUsage()
  const { events, ms } = await run()
  const cpu = process.cpuUsage(cpuAtStart)
  const anvilAtEnd = processCpuMs(chain.anvilPid)
  const anvilCpuMs = anvilAtStart === undefined || anvilAtEnd === undefined ? undefined : anvilAtEnd - anvilAtStart
  return { events, ms, cpuMs: (cpu.user + cpu.system) / 1000, anvilCpuMs }
}

async function embeddedRun(chain: Chain, dir: string, run: string, concurrency: number) {
  const log = createEmbeddedLog({ path: join(dir, `log-${run}.db`) })
  try {
    return await ourBackfill(chain, log, { events: 'perp.events.v1', checkpoints: 'perp.indexer.checkpoints.v1' }, concurrency)
  } finally {
    await log.close()
  }
}

async function kafkaRun(chain: Chain, log: Log, run: string, concurrency: number) {
  const stamp = `${Date.now().toString(36)}.${run}`
  return ourBackfill(chain, log, { events: `bench.backfill.events.${stamp}`, checkpoints: `bench.backfill.checkpoints.${stamp}` }, concurrency)
}

async function prepareChain(settings: Settings): Promise<{ chain: Chain; stop: () => Promise<void> }> {
  const anvil = await startAnvil()
  const devnet = await deployPerpDevnet(anvil)
  const started = performance.now()
  const closes = Math.round(settings.events * 0.01)
  const fundingUpdates = Math.round(settings.events * 0.01)
  const generated = await generatePerpEvents(devnet, { opens: settings.events - closes - fundingUpdates, closes, fundingUpdates })
  const head = await createChainRpc({ url: devnet.rpcUrl, timeoutMs: 10_000, logger: silentLogger }).blockNumber()
  progress(`generated ${generated} events over ${head} blocks in ${Math.round((performance.now() - started) / 1000)} s`)
  return { chain: { devnet, head, events: generated + 3, anvilPid: anvil.pid }, stop: () => anvil.stop() }
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = parseArgs(args)
  if (settings === undefined) {
    process.stdout.write(HELP)
    return
  }
  const { chain, stop } = await prepareChain(settings)
  const dir = await mkdtemp(join(tmpdir(), 'bench-backfill-'))
  const broker = settings.backends.has('kafka') && settings.brokers === undefined ? await startKafkaBroker({ name: 'bench-kafka' }) : undefined
  const brokers = settings.brokers ?? broker?.brokers
  const kafkaLog = brokers === undefined ? undefined : createKafkaLog({ brokers: brokers.split(','), clientId: 'bench-backfill', logger: silentLogger })
  const samples = new Map<string, Sample[]>()
  const record = (name: string, sample: Sample): void => {
    if (sample.events !== chain.events) throw new Error(`${name} saw ${sample.events} of ${chain.events} events`)
    samples.set(name, [...(samples.get(name) ?? []), sample])
  }
  try {
    progress('warm-up (untimed)')
    await rawFetch(chain, settings.concurrency)
    await viemBaseline(chain, settings.concurrency)
    await embeddedRun(chain, dir, 'warm', settings.concurrency)
    for (let i = 0; i < settings.repeats; i++) {
      progress(`run ${i + 1}/${settings.repeats}`)
      record(RAW, await measured(chain, () => rawFetch(chain, settings.concurrency)))
      record(BASELINE, await measured(chain, () => viemBaseline(chain, settings.concurrency)))
      if (settings.backends.has('embedded')) record(EMBEDDED, await measured(chain, () => embeddedRun(chain, dir, String(i), settings.concurrency)))
      if (kafkaLog !== undefined) record('indexer backfill -> Kafka', await measured(chain, () => kafkaRun(chain, kafkaLog, String(i), settings.concurrency)))
    }
  } finally {
    await kafkaLog?.close()
    await broker?.stop()
    await rm(dir, { recursive: true, force: true })
    await stop()
  }
  process.stdout.write(report(settings, chain, samples))
}

function report(settings: Settings, chain: Chain, samples: ReadonlyMap<string, Sample[]>): string {
  const rate = (s: Sample): number => s.events / (s.ms / 1000)
  const count = (n: number): string => Math.round(n).toLocaleString('en-US')
  const medians = new Map([...samples].map(([name, list]) => [name, median(list.map(rate))]))
  const baseline = medians.get(BASELINE) ?? Number.NaN
  const perEvent = (list: readonly Sample[], cpu: (s: Sample) => number | undefined): string => {
    const values = list.map((s) => cpu(s)).filter((v): v is number => v !== undefined)
    return values.length === list.length ? ((median(values) * 1000) / list[0]!.events).toFixed(1) : 'n/a'
  }
  const lines = [
    `backfill: ${count(chain.events)} events over ${count(chain.head)} blocks, ${settings.repeats} runs each, ${settings.concurrency} requests in flight`,
    `load average ${loadavg().map((l) => l.toFixed(2)).join(', ')} on ${cpus().length} cores`,
    '',
    `| contender | median events/s | min..max events/s | vs viem | CPU µs/event: this process | anvil |`,
    `|---|---|---|---|---|---|`,
  ]
  for (const [name, list] of samples) {
    const rates = list.map(rate)
    const mid = medians.get(name) ?? 0
    const cpu = `${perEvent(list, (s) => s.cpuMs)} | ${perEvent(list, (s) => s.anvilCpuMs)}`
    lines.push(`| ${name} | ${count(mid)} | ${count(Math.min(...rates))}..${count(Math.max(...rates))} | ${(mid / baseline).toFixed(2)}x | ${cpu} |`)
  }
  lines.push('', 'CPU µs/event: medians over the runs, all threads of the process; at 100,000 events/s each µs/event is a tenth of a core.')
  const embedded = medians.get(EMBEDDED)
  if (embedded !== undefined) {
    lines.push('', `target: embedded >= ${count(TARGET_EVENTS_PER_S)} events/s: ${embedded >= TARGET_EVENTS_PER_S ? 'met' : 'NOT met'} (${count(embedded)})`)
    lines.push(`target: embedded >= ${TARGET_RATIO}x viem: ${embedded >= TARGET_RATIO * baseline ? 'met' : 'NOT met'} (${(embedded / baseline).toFixed(2)}x)`)
  }
  return `${lines.join('\n')}\n`
}

function progress(message: string): void {
  process.stderr.write(`  ${message}\n`)
}
