// Replay throughput: the `replay` command folding a realistic 1M-record log (bench/replay-workload.ts)
// into a fresh read-model file, from the embedded log and from Kafka, in a child process of its own
// so its peak RSS is the fold's alone. Beside it, in the same run and on the same log: a raw read of
// the same records through consume() (no decoding, no fold) and the typed read (JSON and zod, no
// fold), so the figures read as ratios and the cost of each stage shows.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEmbeddedLog } from '../indexer/log/embedded-log.ts'
import { createKafkaLog } from '../indexer/log/kafka-log.ts'
import type { Log } from '../indexer/log/log.ts'
import { consumeRecords } from '../indexer/log/typed-log.ts'
import { topics } from '../indexer/records/topics.ts'
import { silentLogger } from '../indexer/runtime/logger.ts'
import { projectionRecord, projectionRecordShortcut, projectionRecordTextShortcut } from '../projections/fold/projection-record.ts'
import { startKafkaBroker } from '../test/support/kafka-broker.ts'
import { readBenchArgs, type BenchBackend } from './bench-args.ts'
import { generatePerpWorkload } from './replay-workload.ts'

export const description = 'replay of 1M realistic records (10 markets, 100k open positions, ticks every second) into SQLite read models, embedded log and Kafka'

const TARGET_RECORDS_PER_S = 150_000
const TARGET_PEAK_RSS_MB = 500
const PARTITIONS = 3
const root = join(import.meta.dirname, '..')

const HELP = `Usage: npm run bench -- replay [options]

  --records <n>      records in the log, both topics (default 1000000)
  --markets <n>      markets (default 10)
  --batch <n>        MAX_BATCH_RECORDS of the replay (default 2000)
  --repeats <n>      replays per backend (default 1)
  --cpu-prof 1       run each replay under node --cpu-prof, profiles in bench/results/ (default: not)
  --backend <name>   embedded, kafka or both (default both)
  --brokers <list>   use this Kafka (a throwaway one: the default topic names are written to)
`

interface Settings {
  readonly records: number
  readonly markets: number
  readonly batch: number
  readonly repeats: number
  readonly profile: boolean
  readonly backends: ReadonlySet<BenchBackend>
  readonly brokers: string | undefined
}

interface Row {
  readonly backend: BenchBackend
  readonly name: string
  readonly recordsPerS: number
  readonly peakRssMb?: number
  readonly cpuMicrosPerRecord?: number
  readonly baseline?: number
}

function progress(message: string): void {
  process.stderr.write(`  ${message}\n`)
}

/** Appends the workload as the indexer would have (JSON records keyed by market), outside any timing. */
async function fillLog(log: Log, settings: Settings): Promise<number> {
  await log.ensureTopics([{ name: topics.events, partitions: PARTITIONS }, { name: topics.ticks, partitions: PARTITIONS }])
  let appended = 0
  for (const chunk of generatePerpWorkload({ records: settings.records, markets: settings.markets, secondsPerChunk: 2_000 })) {
    for (const [topic, records] of [[topics.events, chunk.events], [topics.ticks, chunk.ticks]] as const) {
      await log.append(topic, records.map((record) => ({ key: record.market_id, value: Buffer.from(JSON.stringify(record)) })))
      appended += records.length
    }
    progress(`appended ${appended.toLocaleString('en-US')} records`)
  }
  return appended
}

/** Reads every record of both topics from offset 0; `typed` decodes and validates them as the runtime does. */
async function timeRead(log: Log, total: number, typed: boolean): Promise<{ rate: number; cpuMicros: number }> {
  const started = performance.now()
  const cpuAtStart = process.cpuUsage()
  let seen = 0
  let allSeen!: () => void
  const finished = new Promise<void>((resolve) => (allSeen = resolve))
  const count = (n: number): void => {
    seen += n
    if (seen >= total) allSeen()
  }
  const options = { log, topics: [topics.events, topics.ticks], groupId: `bench-read-${Date.now()}`, from: () => 0, maxBatchRecords: 2_000 }
  const consumer = typed
    ? consumeRecords({ ...options, schema: projectionRecord, shortcut: projectionRecordShortcut, textShortcut: projectionRecordTextShortcut, onRecords: async (batch) => count(batch.records.length) })
    : log.consume({ ...options, onBatch: async (batch) => count(batch.records.length) })
  await Promise.race([finished, consumer.done])
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuAtStart)
  await consumer.stop()
  return { rate: total / seconds, cpuMicros: (cpu.user + cpu.system) / total }
}

/**
 * The replay script of package.json with --cpu-prof added to its node flags (node refuses
 * --cpu-prof in NODE_OPTIONS, so it cannot be passed through npm): its leading VAR=value words as
 * environment, then node's arguments.
 */
function profiledReplayCommand(): { readonly env: Record<string, string>; readonly args: string[] } {
  const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  const words = (scripts['replay'] ?? '').split(' ')
  const env: Record<string, string> = {}
  while (words[0]?.includes('=') === true) {
    const [name = '', value = ''] = words.shift()!.split('=')
    env[name] = value
  }
  const [node, ...args] = words
  if (node !== 'node') throw new Error(`the replay script does not run node: ${scripts['replay']}`)
  return { env, args: ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench', 'results')}`, ...args] }
}

interface ReplayRun {
  readonly recordsPerSecond: number
  readonly peakRssBytes: number
  readonly records: number
  readonly foldCpuSeconds: number
}

/**
 * `npm run replay` in a child process, so the replay runs exactly as users run it (its Node flags
 * included); its final log line has the rate and its own peak RSS (npm's process is not counted).
 */
function runReplayCommand(env: Record<string, string>, settings: Settings): Promise<ReplayRun> {
  const profiled = settings.profile ? profiledReplayCommand() : undefined
  const [command, args] = profiled === undefined ? ['npm', ['run', '--silent', 'replay']] : [process.execPath, profiled.args]
  const child = spawn(command, args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'info', MAX_BATCH_RECORDS: String(settings.batch), ...profiled?.env, ...env },
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      const line = stderr.split('\n').find((l) => l.includes('"msg":"read models replaced"'))
      if (code !== 0 || line === undefined) return reject(new Error(`replay exited ${code}:\n${stderr.slice(-3000)}`))
      resolve(JSON.parse(line) as ReplayRun)
    })
  })
}

async function measure(backend: BenchBackend, log: Log, env: Record<string, string>, settings: Settings): Promise<Row[]> {
  const total = await fillLog(log, settings)
  progress(`${backend}: raw read`)
  const raw = await timeRead(log, total, false)
  progress(`${backend}: typed read`)
  const typed = await timeRead(log, total, true)
  const replays: ReplayRun[] = []
  for (let run = 0; run < settings.repeats; run++) {
    progress(`${backend}: replay ${run + 1}/${settings.repeats}`)
    replays.push(await runReplayCommand({ ...env, READ_MODEL_PATH: join(tmpdir(), `bench-replay-${process.pid}.db`) }, settings))
  }
  await rm(join(tmpdir(), `bench-replay-${process.pid}.db`), { force: true })
  const median = [...replays].sort((a, b) => a.recordsPerSecond - b.recordsPerSecond)[Math.floor(replays.length / 2)]!
  return [
    {
      ...{ backend, name: 'replay command (read, decode, fold, commit)', recordsPerS: median.recordsPerSecond, baseline: raw.rate },
      ...{ peakRssMb: Math.max(...replays.map((r) => r.peakRssBytes)) / 2 ** 20, cpuMicrosPerRecord: (median.foldCpuSeconds * 1e6) / median.records },
    },
    { backend, name: 'typed read only (JSON + record checks, no fold)', recordsPerS: typed.rate, cpuMicrosPerRecord: typed.cpuMicros, baseline: raw.rate },
    { backend, name: 'baseline: raw read of the same records', recordsPerS: raw.rate, cpuMicrosPerRecord: raw.cpuMicros },
  ]
}

async function benchEmbedded(settings: Settings): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-replay-'))
  const log = createEmbeddedLog({ path: join(dir, 'log.db') })
  try {
    return await measure('embedded', log, { DATA_DIR: dir }, settings)
  } finally {
    await log.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function benchKafka(settings: Settings): Promise<Row[]> {
  const broker = settings.brokers === undefined ? await startKafkaBroker({ name: 'bench-replay-kafka' }) : undefined
  const brokers = settings.brokers ?? broker?.brokers ?? ''
  const log = createKafkaLog({ brokers: brokers.split(','), clientId: 'bench-replay', logger: silentLogger })
  try {
    return await measure('kafka', log, { KAFKA_BROKERS: brokers }, settings)
  } finally {
    await log.close()
    await broker?.stop()
  }
}

function formatTable(rows: readonly Row[]): string {
  const count = (n: number): string => Math.round(n).toLocaleString('en-US')
  const header = ['backend', 'measurement', 'records/s', 'vs raw read', 'CPU µs/rec', 'peak RSS MB']
  const body = rows.map((row) => [
    row.backend,
    row.name,
    count(row.recordsPerS),
    row.baseline === undefined ? '' : `${(row.recordsPerS / row.baseline).toFixed(2)}x`,
    row.cpuMicrosPerRecord === undefined ? '' : row.cpuMicrosPerRecord.toFixed(1),
    row.peakRssMb === undefined ? '' : row.peakRssMb.toFixed(0),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n')
}

function formatTargets(rows: readonly Row[]): string[] {
  const replay = rows.find((r) => r.backend === 'embedded' && r.name.startsWith('replay'))
  if (replay === undefined) return []
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS')
  return [
    `  embedded replay >= ${count(TARGET_RECORDS_PER_S)} records/s: ${verdict(replay.recordsPerS >= TARGET_RECORDS_PER_S)} (${count(replay.recordsPerS)})`,
    ...rows.filter((r) => r.peakRssMb !== undefined).map((r) => `  ${r.backend} replay peak RSS < ${TARGET_PEAK_RSS_MB} MB: ${verdict(r.peakRssMb! < TARGET_PEAK_RSS_MB)} (${r.peakRssMb!.toFixed(0)} MB)`),
  ]
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US')
}

function formatLoad(): string {
  const load = loadavg()
  const busy = (load[0] ?? 0) > cpus().length ? ' (above the core count: other work competed for the CPUs)' : ''
  return `${load.map((l) => l.toFixed(2)).join(', ')}${busy}`
}

export async function run(args: readonly string[]): Promise<void> {
  const parsed = readBenchArgs('replay', args)
  if (parsed === undefined) {
    process.stdout.write(HELP)
    return
  }
  const settings: Settings = {
    ...{ records: parsed.int('records', 1_000_000), markets: parsed.int('markets', 10), batch: parsed.int('batch', 2_000) },
    ...{ repeats: parsed.int('repeats', 1), profile: parsed.int('cpu-prof', 2) === 1, backends: parsed.backends, brokers: parsed.brokers },
  }
  const cpu = cpus()
  process.stdout.write(
    `replay benchmark: ${count(settings.records)} records, ${settings.markets} markets, ${PARTITIONS} partitions per topic, batches of ${count(settings.batch)}\n` +
      `machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, node ${process.version}, ${process.platform} ${process.arch}\nload average at start: ${formatLoad()}\n\n`,
  )
  const rows: Row[] = []
  if (settings.backends.has('embedded')) rows.push(...(await benchEmbedded(settings)))
  if (settings.backends.has('kafka')) rows.push(...(await benchKafka(settings)))
  process.stdout.write(`${formatTable(rows)}\n\nload average at end: ${formatLoad()}\n\ntargets:\n${formatTargets(rows).join('\n')}\n`)
}
