import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePerpWorkload } from '../bench/replay-workload.ts'
import { createEmbeddedLog, type EmbeddedLog } from '../indexer/log/embedded-log.ts'
import { createRecordWriter } from '../indexer/log/typed-log.ts'
import { eventsTopicRecord, tickRecord } from '../indexer/records/schemas.ts'
import { snapshotRecord, type SnapshotRecord } from '../indexer/records/snapshot-records.ts'
import { topics } from '../indexer/records/topics.ts'
import { silentLogger } from '../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../indexer/runtime/metrics.ts'
import { createReplay } from './replay/replay.ts'
import { positionSnapshot } from './snapshots/snapshot-of.ts'
import { openReadModelStore } from './store/sqlite-read-model-store.ts'
import { stateHash } from './store/state-hash.ts'

const root = join(import.meta.dirname, '..')
const RECORDS = 200_000
const seed = Date.now() % 1_000_000
let state = seed
const random = (): number => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)

let dir: string
let log: EmbeddedLog
let total: number
let uninterruptedHash: string
const children = new Set<ChildProcess>()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'projections-crash-'))
  log = createEmbeddedLog({ path: join(dir, 'log.db') })
  await log.ensureTopics([{ name: topics.events, partitions: 3 }, { name: topics.ticks, partitions: 3 }])
  const events = createRecordWriter({ log, topic: topics.events, schema: eventsTopicRecord, keyOf: (r) => r.market_id })
  const ticks = createRecordWriter({ log, topic: topics.ticks, schema: tickRecord, keyOf: (r) => r.market_id })
  for (const chunk of generatePerpWorkload({ records: RECORDS, seed: 7 })) {
    await events.write(chunk.events)
    await ticks.write(chunk.ticks)
  }
  const ends = [...(await log.endOffsets(topics.events)), ...(await log.endOffsets(topics.ticks))]
  total = ends.reduce((a, b) => a + b, 0)
  const replay = createReplay({ log, targetPath: join(dir, 'uninterrupted.db'), logger: silentLogger, metrics: createMetricsRegistry() })
  uninterruptedHash = (await replay.run()).stateHash
}, 600_000)

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL')
  await log?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** `projections/main.ts` as its own process on the embedded log in `dir`, small batches so a kill lands between many commits. */
function startProjections(): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'projections/main.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '', DATA_DIR: dir, MAX_BATCH_RECORDS: '500', METRICS_PORT: '0', LOG_LEVEL: 'info' },
  })
  children.add(child)
  let text = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (text = (text + chunk).slice(-20_000)))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => children.delete(child))
  return { child, exited, stderr: () => text }
}

/** Records folded and committed, as another process reading the read-model file sees them. */
function foldedRecords(): number {
  const path = join(dir, 'read-models.db')
  if (!existsSync(path)) return 0
  const db = new Database(path, { readonly: true, fileMustExist: true })
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'consumer_offsets'").get()
    if (table === undefined) return 0
    return (db.prepare('SELECT coalesce(sum(next_offset), 0) AS n FROM consumer_offsets').get() as { n: number }).n
  } catch {
    return 0
  } finally {
    db.close()
  }
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** The newest snapshot per id on perp.snapshots.v1, every record checked against its schema. */
async function newestSnapshots(): Promise<Map<string, SnapshotRecord>> {
  const ends = await log.endOffsets(topics.snapshots)
  const newest = new Map<string, SnapshotRecord>()
  for (let partition = 0; partition < ends.length; partition++) {
    let seen = 0
    const consumer = log.consume({
      topics: [topics.snapshots],
      groupId: 'check',
      from: (_t, p) => (p === partition ? 0 : Number.MAX_SAFE_INTEGER),
      onBatch: async (batch) => {
        if (batch.partition !== partition) return
        for (const record of batch.records) newest.set(record.key, snapshotRecord.parse(JSON.parse(record.value.toString('utf8'))))
        seen += batch.records.length
      },
    })
    await waitUntil(() => seen >= ends[partition]!, 60_000, 'the snapshots to be read')
    await consumer.stop()
  }
  return newest
}

describe(`projections process killed with SIGKILL during a ${RECORDS.toLocaleString('en-US')}-record fold (seed ${seed})`, () => {
  it('resumes after each kill and ends with the state hash of an uninterrupted fold, and snapshots of every position', async () => {
    const countsAtKill: number[] = []
    for (let kill = 0; kill < 3; kill++) {
      // Each kill lands at a random point of its own stretch of the fold, found by reading the
      // committed offsets: a wall-clock delay would land after the end on a fast machine.
      const target = Math.floor(total * (0.15 + 0.25 * kill + random() * 0.15))
      const projections = startProjections()
      await waitUntil(() => foldedRecords() >= target, 300_000, `${target} records folded`)
      projections.child.kill('SIGKILL')
      await projections.exited
      countsAtKill.push(foldedRecords())
    }
    expect(countsAtKill.at(-1)!, `records folded at each kill: ${countsAtKill.join(', ')}`).toBeLessThan(total)
    expect(countsAtKill[0]!).toBeGreaterThan(0)

    const last = startProjections()
    await waitUntil(() => foldedRecords() >= total, 300_000, 'the fold to reach the end of the log')
    last.child.kill('SIGTERM')
    expect(await last.exited, last.stderr().slice(-3000)).toBe(0)

    const store = openReadModelStore({ path: join(dir, 'read-models.db') })
    try {
      expect(store.loadOffsets().reduce((sum, o) => sum + o.next_offset, 0)).toBe(total)
      expect(stateHash(store)).toBe(uninterruptedHash)
      // Snapshots queued at a kill were lost, and the resync at each start published them again.
      const snapshots = await newestSnapshots()
      let positions = 0
      for (const page of store.positionPages(5_000)) {
        for (const row of page) expect(snapshots.get(row.position_id)).toEqual(positionSnapshot(row))
        positions += page.length
      }
      expect(positions).toBeGreaterThan(20_000)
    } finally {
      store.close()
    }
  }, 900_000)
})
