// Append and read throughput of the log, both backends, each beside a baseline measured in the same
// run on the same machine (raw better-sqlite3 for the embedded log, raw kafkajs for Kafka), so our
// figures read as ratios that survive a noisy machine. Every measurement is repeated; the table shows
// the median and the range. MB/s counts value bytes only.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { CompressionTypes, Kafka, logLevel } from 'kafkajs'
import { createEmbeddedLog } from '../indexer/log/embedded-log.ts'
import { createKafkaLog } from '../indexer/log/kafka-log.ts'
import type { Log, OutgoingRecord } from '../indexer/log/log.ts'
import { silentLogger } from '../indexer/runtime/logger.ts'
import { startKafkaBroker } from '../test/support/kafka-broker.ts'
import { readBenchArgs } from './bench-args.ts'
import { median } from './median.ts'

export const description =
  'append and read throughput of 500-byte records, embedded and Kafka log, against raw better-sqlite3 and raw kafkajs'

const TARGETS = { embedded: 200_000, kafka: 50_000 } as const
const TOPIC_PARTITIONS = 3
const MARKET_KEYS = 10

interface Settings {
  readonly records: number
  readonly batch: number
  readonly size: number
  readonly repeats: number
  readonly backends: ReadonlySet<'embedded' | 'kafka'>
  readonly brokers: string | undefined
}

const HELP = `Usage: npm run bench -- log [options]

  --records <n>     records per run (default 200000)
  --batch <n>       records per append call (default 10000)
  --size <bytes>    value size (default 500)
  --repeats <n>     runs per measurement (default 5)
  --backend <name>  embedded, kafka or both (default both)
  --brokers <list>  use this Kafka instead of starting one with scripts/kafka.sh
`

function parseArgs(argv: readonly string[]): Settings | undefined {
  const args = readBenchArgs('log', argv)
  if (args === undefined) return undefined
  return {
    records: args.int('records', 200_000),
    batch: args.int('batch', 10_000),
    size: args.int('size', 500),
    repeats: args.int('repeats', 5),
    backends: args.backends,
    brokers: args.brokers,
  }
}

/** The workload: records keyed over the market keys, in append-sized batches; values share one pool. */
function makeBatches(settings: Settings): OutgoingRecord[][] {
  const pool = randomBytes(1024 * 1024 + settings.size)
  const batches: OutgoingRecord[][] = []
  for (let start = 0; start < settings.records; start += settings.batch) {
    const batch: OutgoingRecord[] = []
    for (let i = start; i < Math.min(settings.records, start + settings.batch); i++) {
      const at = (i * 7919) % (pool.length - settings.size)
      batch.push({ key: `market-${i % MARKET_KEYS}`, value: pool.subarray(at, at + settings.size) })
    }
    batches.push(batch)
  }
  return batches
}

/** A short untimed run first, so that no measured run pays for JIT compilation or cold caches. */
function warmUpBatches(batches: readonly OutgoingRecord[][]): { batches: OutgoingRecord[][]; total: number } {
  const warm = batches.slice(0, 2)
  return { batches: warm, total: warm.reduce((n, b) => n + b.length, 0) }
}

/** One run of one measurement: wall time, and the CPU time this process spent in it. */
interface Sample {
  readonly ms: number
  readonly cpuMs: number
}

function startStopwatch(): () => Sample {
  const start = performance.now()
  const cpuStart = process.cpuUsage()
  return () => {
    const cpu = process.cpuUsage(cpuStart)
    return { ms: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000 }
  }
}

interface Row {
  readonly backend: string
  readonly name: string
  readonly samples: Sample[]
  /** The row this one is compared with. */
  readonly baseline?: Row
}

/** Times appending every batch, then reading them all back from offset 0 through consume(). */
async function measureLog(log: Log, topic: string, batches: readonly OutgoingRecord[][], total: number) {
  await log.ensureTopics([{ name: topic, partitions: TOPIC_PARTITIONS }])
  const appendWatch = startStopwatch()
  for (const batch of batches) await log.append(topic, batch)
  const append = appendWatch()
  const readWatch = startStopwatch()
  let seen = 0
  let allSeen!: () => void
  const finished = new Promise<void>((resolve) => (allSeen = resolve))
  const consumer = log.consume({
    topics: [topic],
    groupId: `${topic}-reader`,
    from: () => 0,
    maxBatchRecords: batches[0]?.length ?? 1,
    onBatch: async (batch) => {
      seen += batch.records.length
      if (seen >= total) allSeen()
    },
  })
  await Promise.race([finished, consumer.done])
  const read = readWatch()
  await consumer.stop()
  if (seen < total) throw new Error(`read ${seen} of ${total} records`)
  return { append, read }
}

async function embeddedRun(dir: string, run: number, batches: readonly OutgoingRecord[][], total: number) {
  const log = createEmbeddedLog({ path: join(dir, `log-${run}.db`) })
  try {
    return await measureLog(log, 'bench', batches, total)
  } finally {
    await log.close()
  }
}

/** The same rows into one plain table, one transaction per batch, with the embedded log's pragmas. */
function sqliteBaselineRun(dir: string, run: number, batches: readonly OutgoingRecord[][], total: number) {
  const db = new Database(join(dir, `raw-${run}.db`))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec('CREATE TABLE records (id INTEGER PRIMARY KEY, key TEXT NOT NULL, value BLOB NOT NULL, ts INTEGER NOT NULL)')
  const insert = db.prepare<[string, Buffer, number]>('INSERT INTO records (key, value, ts) VALUES (?, ?, ?)')
  const insertBatch = db.transaction((batch: readonly OutgoingRecord[], ts: number) => {
    for (const record of batch) insert.run(record.key, record.value, ts)
  })
  const appendWatch = startStopwatch()
  for (const batch of batches) insertBatch.immediate(batch, Date.now())
  const append = appendWatch()
  const readWatch = startStopwatch()
  let seen = 0
  for (const row of db.prepare<[], { value: Buffer }>('SELECT key, value, ts FROM records ORDER BY id').iterate()) {
    if (row.value.length > 0) seen++
  }
  const read = readWatch()
  db.close()
  if (seen !== total) throw new Error(`raw sqlite read ${seen} of ${total} rows`)
  return { append, read }
}

/** kafkajs alone, configured like our producer (idempotent, acks=all, no compression). */
async function kafkajsBaselineRun(log: Log, brokers: string, topic: string, batches: readonly OutgoingRecord[][], total: number) {
  // Created like our topics (same configuration), outside the timed part.
  await log.ensureTopics([{ name: topic, partitions: TOPIC_PARTITIONS }])
  const kafka = new Kafka({ clientId: 'bench-baseline', brokers: brokers.split(','), logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await producer.connect()
  const appendWatch = startStopwatch()
  for (const batch of batches) {
    const messages = batch.map((r) => ({ key: r.key, value: r.value }))
    await producer.send({ topic, messages, acks: -1, compression: CompressionTypes.None })
  }
  const append = appendWatch()
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxBytesPerPartition: 16 * 1024 * 1024, maxWaitTimeInMs: 100 })
  const readWatch = startStopwatch()
  let seen = 0
  let allSeen!: () => void
  const finished = new Promise<void>((resolve) => (allSeen = resolve))
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      seen += batch.messages.length
      if (seen >= total) allSeen()
    },
  })
  await finished
  const read = readWatch()
  await consumer.disconnect()
  return { append, read }
}

async function benchEmbedded(settings: Settings, batches: readonly OutgoingRecord[][]): Promise<Row[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-log-'))
  const ours = { append: [] as Sample[], read: [] as Sample[] }
  const raw = { append: [] as Sample[], read: [] as Sample[] }
  try {
    progress('embedded warm-up')
    const warm = warmUpBatches(batches)
    sqliteBaselineRun(dir, -1, warm.batches, warm.total)
    await embeddedRun(dir, -1, warm.batches, warm.total)
    for (let run = 0; run < settings.repeats; run++) {
      progress(`embedded run ${run + 1}/${settings.repeats}`)
      const base = sqliteBaselineRun(dir, run, batches, settings.records)
      raw.append.push(base.append)
      raw.read.push(base.read)
      const measured = await embeddedRun(dir, run, batches, settings.records)
      ours.append.push(measured.append)
      ours.read.push(measured.read)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return pairRows('embedded', ours, raw, 'raw better-sqlite3 INSERT', 'raw better-sqlite3 SELECT')
}

async function benchKafka(settings: Settings, batches: readonly OutgoingRecord[][]): Promise<Row[]> {
  const broker = settings.brokers === undefined ? await startKafkaBroker({ name: 'bench-kafka' }) : undefined
  const brokers = settings.brokers ?? broker?.brokers ?? ''
  const ours = { append: [] as Sample[], read: [] as Sample[] }
  const raw = { append: [] as Sample[], read: [] as Sample[] }
  const log = createKafkaLog({ brokers: brokers.split(','), clientId: 'bench-log', logger: silentLogger })
  try {
    const stamp = Date.now().toString(36)
    // The first producer and group of a fresh broker wait for its coordinators to load.
    progress(`kafka warm-up (${brokers})`)
    const warm = warmUpBatches(batches)
    await kafkajsBaselineRun(log, brokers, `bench.raw.${stamp}.warm`, warm.batches, warm.total)
    await measureLog(log, `bench.log.${stamp}.warm`, warm.batches, warm.total)
    for (let run = 0; run < settings.repeats; run++) {
      progress(`kafka run ${run + 1}/${settings.repeats} (${brokers})`)
      const base = await kafkajsBaselineRun(log, brokers, `bench.raw.${stamp}.${run}`, batches, settings.records)
      raw.append.push(base.append)
      raw.read.push(base.read)
      const measured = await measureLog(log, `bench.log.${stamp}.${run}`, batches, settings.records)
      ours.append.push(measured.append)
      ours.read.push(measured.read)
    }
  } catch (error) {
    if (broker !== undefined) process.stderr.write(`the broker's logs:\n${await broker.logTail()}\n`)
    throw error
  } finally {
    await log.close()
    await broker?.stop()
  }
  return pairRows('kafka', ours, raw, 'raw kafkajs producer.send', 'raw kafkajs consumer')
}

function pairRows(
  backend: string,
  ours: { append: Sample[]; read: Sample[] },
  raw: { append: Sample[]; read: Sample[] },
  rawAppend: string,
  rawRead: string,
): Row[] {
  const appendBase: Row = { backend, name: `append, baseline: ${rawAppend}`, samples: raw.append }
  const readBase: Row = { backend, name: `read, baseline: ${rawRead}`, samples: raw.read }
  return [
    { backend, name: 'append (our log)', samples: ours.append, baseline: appendBase },
    appendBase,
    { backend, name: 'read from 0 (our consume)', samples: ours.read, baseline: readBase },
    readBase,
  ]
}

function recordsPerSecond(ms: number, settings: Settings): number {
  return settings.records / (ms / 1000)
}

function formatTable(rows: readonly Row[], settings: Settings): string {
  const rate = (ms: number): number => recordsPerSecond(ms, settings)
  const count = (n: number): string => Math.round(n).toLocaleString('en-US')
  const header = ['backend', 'measurement', 'median rec/s', 'min..max rec/s', 'median MB/s', 'vs baseline', 'CPU µs/rec']
  const body = rows.map((row) => {
    const rates = row.samples.map((s) => rate(s.ms))
    const mid = rate(median(row.samples.map((s) => s.ms)))
    const base = row.baseline === undefined ? undefined : rate(median(row.baseline.samples.map((s) => s.ms)))
    const cpuMicros = (median(row.samples.map((s) => s.cpuMs)) * 1000) / settings.records
    return [
      row.backend,
      row.name,
      count(mid),
      `${count(Math.min(...rates))}..${count(Math.max(...rates))}`,
      ((mid * settings.size) / 1e6).toFixed(1),
      base === undefined ? '' : `${(mid / base).toFixed(2)}x`,
      cpuMicros.toFixed(1),
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)))
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n')
}

function formatTargets(rows: readonly Row[], settings: Settings): string[] {
  return (['embedded', 'kafka'] as const).flatMap((backend) => {
    const row = rows.find((r) => r.backend === backend && r.name === 'append (our log)')
    if (row === undefined) return []
    const rate = recordsPerSecond(median(row.samples.map((s) => s.ms)), settings)
    const verdict = rate >= TARGETS[backend] ? 'PASS' : 'MISS'
    return [`  ${backend} append >= ${TARGETS[backend].toLocaleString('en-US')} records/s: ${verdict} (median ${Math.round(rate).toLocaleString('en-US')})`]
  })
}

function formatLoad(): string {
  const load = loadavg()
  const busy = (load[0] ?? 0) > cpus().length ? ' (above the core count: other work competed for the CPUs)' : ''
  return `${load.map((l) => l.toFixed(2)).join(', ')}${busy}`
}

function progress(message: string): void {
  process.stderr.write(`  ${message}\n`)
}

export async function run(args: readonly string[]): Promise<void> {
  const settings = parseArgs(args)
  if (settings === undefined) {
    process.stdout.write(HELP)
    return
  }
  const cpu = cpus()
  const machine = `${cpu.length} x ${cpu[0]?.model ?? 'unknown cpu'}, node ${process.version}, ${process.platform} ${process.arch}`
  const workload =
    `${settings.records.toLocaleString('en-US')} records of ${settings.size} B, ${MARKET_KEYS} keys, ` +
    `${TOPIC_PARTITIONS} partitions, appends of ${settings.batch.toLocaleString('en-US')}, ${settings.repeats} runs each`
  process.stdout.write(`log benchmark: ${workload}\nmachine: ${machine}\nload average at start: ${formatLoad()}\n\n`)
  const batches = makeBatches(settings)
  const rows: Row[] = []
  if (settings.backends.has('embedded')) rows.push(...(await benchEmbedded(settings, batches)))
  if (settings.backends.has('kafka')) rows.push(...(await benchKafka(settings, batches)))
  const report = [
    formatTable(rows, settings),
    '',
    'Reads include starting the consumer (for Kafka: joining the group). "vs baseline" is our median over the',
    "baseline's. CPU µs/rec is this process's CPU time (user+system) per record: it includes SQLite for the",
    'embedded log but not the Kafka broker, and it varies less with machine load than the rates do.',
    '',
    `load average at end: ${formatLoad()}`,
    '',
    'targets:',
    ...formatTargets(rows, settings),
    '',
  ]
  process.stdout.write(`\n${report.join('\n')}`)
}
