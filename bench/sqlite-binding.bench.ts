// How a multi-row INSERT's values are handed to better-sqlite3: as one array argument, or spread as
// arguments. Both stores insert this way (the read models 16 rows a statement, the embedded log 64);
// better-sqlite3 reads each element of an array argument through a V8 API call, and arguments
// straight off the call. Same rows, same statement, into files laid out by the stores themselves,
// alternating in one run: the array is the baseline.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { createEmbeddedLog } from '../indexer/log/embedded-log.ts'
import { readModelTables } from '../projections/fold/read-model-rows.ts'
import { openReadModelStore } from '../projections/store/sqlite-read-model-store.ts'
import { readBenchArgs } from './bench-args.ts'
import { median } from './median.ts'

export const description = 'multi-row INSERT values as one array vs spread arguments: read-model positions and log records (µs/row)'

const usage = `Usage: npm run bench -- sqlite-binding [--rows N] [--reps N]
  --rows N   rows inserted per repetition and case (default 100000)
  --reps N   repetitions of each contender, alternating (default 5)
`

type Value = string | number | Buffer | null

/** A fresh file laid out as a store lays it out, and the table the rows go into. */
interface Target {
  readonly db: Database.Database
  readonly table: string
  readonly columns: readonly string[]
}

interface Case {
  readonly name: string
  readonly rowsPerInsert: number
  readonly rows: readonly (readonly Value[])[]
  open(path: string): Promise<Target>
}

const hex = (n: number, bytes: number): string => `0x${n.toString(16).padStart(bytes * 2, '0')}`

function positionRows(count: number): Value[][] {
  const rows: Value[][] = []
  for (let i = 0; i < count; i++) {
    // Column order of readModelTables.positions; an open position (close columns null), as most are.
    rows.push([
      ...[hex(i * 2654435761, 32), 'btc-usdc-perp', hex(i % 5000, 20), i % 2 === 0 ? 'long' : 'short'],
      ...['1.25', '2500.5', '5', `${60000 + (i % 1000)}.125`, '0.000123456789', 'open'],
      ...[1000 + i, hex(i + 1, 32), hex(i + 7, 32), i % 4, 1_700_000_000 + i],
      ...[null, null, null, null, null, null, null, null, null, null],
    ])
  }
  rows.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1))
  return rows
}

function logRows(count: number): Value[][] {
  const value = Buffer.from(JSON.stringify({ v: 1, type: 'position_opened', market_id: 'btc-usdc-perp', data: { size: '1.25', trader: hex(7, 20) } }))
  return Array.from({ length: count }, (_, i) => [i, 'btc-usdc-perp', value, '{"schema":"perp.events.v1"}', 1_700_000_000_000])
}

const LOG_TOPIC = 'bench.binding'

function cases(rows: number): Case[] {
  return [
    {
      name: 'read-model positions (25 columns, 16 rows a statement)',
      rowsPerInsert: 16,
      rows: positionRows(rows),
      // A replay's fresh file: the bulk store's settings and tables.
      open: async (path) => ({ db: openReadModelStore({ path, bulk: true }).db, table: 'positions', columns: readModelTables.positions.columns }),
    },
    {
      name: 'log records (5 columns, 64 rows a statement)',
      rowsPerInsert: 64,
      rows: logRows(rows),
      // The embedded log's file and partition table, written through a connection of our own set
      // as the log's is (its page size and WAL are the file's; synchronous is the connection's).
      open: async (path) => {
        const log = createEmbeddedLog({ path })
        await log.ensureTopics([{ name: LOG_TOPIC, partitions: 1 }])
        await log.close()
        const db = new Database(path)
        db.pragma('synchronous = FULL')
        return { db, table: `"records/${LOG_TOPIC}/0"`, columns: ['"offset"', 'key', 'value', 'headers', 'ts'] }
      },
    },
  ]
}

/** CPU µs per row of inserting every row of the case, 10k rows a transaction. */
async function timeInsert(testCase: Case, path: string, spread: boolean): Promise<number> {
  rmSync(path, { force: true })
  const { db, table, columns } = await testCase.open(path)
  const { rowsPerInsert, rows } = testCase
  const width = columns.length
  const tuple = `(${Array<string>(width).fill('?').join(', ')})`
  const insert = db.prepare<unknown[]>(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array<string>(rowsPerInsert).fill(tuple).join(', ')}`)
  const values = new Array<Value>(width * rowsPerInsert)
  const insertAll = db.transaction((from: number, to: number) => {
    for (let i = from; i + rowsPerInsert <= to; i += rowsPerInsert) {
      for (let j = 0; j < rowsPerInsert; j++) {
        const row = rows[i + j]!
        for (let k = 0; k < width; k++) values[j * width + k] = row[k]!
      }
      if (spread) insert.run(...values)
      else insert.run(values)
    }
  })
  const started = process.cpuUsage()
  for (let from = 0; from < rows.length; from += 10_000) insertAll(from, Math.min(rows.length, from + 10_000))
  const cpu = process.cpuUsage(started)
  db.close()
  rmSync(`${path}-wal`, { force: true })
  rmSync(`${path}-shm`, { force: true })
  return (cpu.user + cpu.system) / rows.length
}

export async function run(args: readonly string[]): Promise<void> {
  const options = readBenchArgs('sqlite-binding', args)
  if (options === undefined) {
    process.stdout.write(usage)
    return
  }
  const rows = options.int('rows', 100_000)
  const reps = options.int('reps', 5)
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-binding-'))
  try {
    process.stdout.write(`sqlite-binding: ${rows} rows per case, ${reps} alternating repetitions, CPU µs per row (medians)\n\n`)
    process.stdout.write('| rows | array (baseline) | spread | spread / array |\n|------|------------------|--------|----------------|\n')
    for (const testCase of cases(rows)) {
      const path = join(dir, 'bench.db')
      await timeInsert(testCase, path, true)
      await timeInsert(testCase, path, false)
      const array: number[] = []
      const spread: number[] = []
      for (let rep = 0; rep < reps; rep++) {
        array.push(await timeInsert(testCase, path, false))
        spread.push(await timeInsert(testCase, path, true))
      }
      const a = median(array)
      const s = median(spread)
      process.stdout.write(`| ${testCase.name} | ${a.toFixed(2)} | ${s.toFixed(2)} | ${(s / a).toFixed(2)}x |\n`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
