import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEmbeddedLog, type EmbeddedLog } from '../../indexer/log/embedded-log.ts'
import { createRecordWriter } from '../../indexer/log/typed-log.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import { eventsTopicRecord, tickRecord, type EventsTopicRecord, type TickRecord } from '../../indexer/records/schemas.ts'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import type { ConsumerOffset } from '../store/read-model-store.ts'
import { openReadModelStore, type SqliteReadModelStore } from '../store/sqlite-read-model-store.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { createRandom, interleave } from '../test-support/random.ts'
import { priceTick } from '../test-support/records.ts'
import { TopicRecordMismatchError } from './batch-applier.ts'
import type { ProjectionChange } from './change-feed.ts'
import { createProjectionRuntime, type ProjectionRuntime } from './projection-runtime.ts'

const topics = { events: 'perp.events.v1', ticks: 'pyth.ticks.v1' }

/** Where each appended record landed: "topic/partition" -> records in offset order. */
type Placement = Map<string, ProjectionRecord[]>

async function waitFor(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function foldedCount(metrics: MetricsRegistry): number {
  const lines = metrics.render().split('\n').filter((line) => line.startsWith('perp_projection_records_total{'))
  return lines.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)
}

interface Snapshot {
  readonly offsets: ConsumerOffset[]
  readonly hash: string
}

const REPO_ROOT = new URL('../..', import.meta.url).pathname
const STORE_MODULE = new URL('../store/sqlite-read-model-store.ts', import.meta.url).href
const HASH_MODULE = new URL('../store/state-hash.ts', import.meta.url).href

/**
 * A child process that reads the read-model file over and over while the fold runs, each time the
 * offsets and the state hash in one read transaction, and prints them as JSON lines.
 */
function startSnapshotReader(path: string) {
  const script = `
    import Database from 'better-sqlite3'
    import { createSqliteReadModelStore } from ${JSON.stringify(STORE_MODULE)}
    import { stateHash } from ${JSON.stringify(HASH_MODULE)}
    const db = new Database(${JSON.stringify(path)}, { readonly: true, fileMustExist: true })
    const store = createSqliteReadModelStore(db)
    const snapshot = db.transaction(() => ({ offsets: store.loadOffsets(), hash: stateHash(store) }))
    for (;;) {
      process.stdout.write(JSON.stringify(snapshot()) + '\\n')
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)
    }`
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const snapshots: Snapshot[] = []
  let pending = ''
  let first: () => void = () => undefined
  const firstSnapshot = new Promise<void>((resolve) => (first = resolve))
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines.filter(Boolean)) snapshots.push(JSON.parse(line) as Snapshot)
    if (snapshots.length > 0) first()
  })
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  return {
    firstSnapshot,
    stop: async (): Promise<Snapshot[]> => {
      child.kill('SIGTERM')
      await exited
      return snapshots
    },
  }
}

describe('projection runtime on an embedded log and a SQLite file', () => {
  let dir: string
  let log: EmbeddedLog
  let placement: Placement
  const stores: SqliteReadModelStore[] = []
  const running: { runtime: ProjectionRuntime; done: Promise<void> }[] = []

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'projection-runtime-'))
    log = createEmbeddedLog({ path: join(dir, 'log.db'), pollIntervalMs: 20 })
    await log.ensureTopics([
      { name: topics.events, partitions: 3 },
      { name: topics.ticks, partitions: 2 },
      { name: `${topics.events}.dlq`, partitions: 1 },
    ])
    placement = new Map()
  })

  afterEach(async () => {
    for (const { runtime, done } of running.splice(0)) {
      await runtime.stop()
      await done.catch(() => undefined)
    }
    for (const store of stores.splice(0)) store.close()
    await log.close()
    await rm(dir, { recursive: true, force: true })
  })

  function openStore(): SqliteReadModelStore {
    const store = openReadModelStore({ path: join(dir, 'read-models.db') })
    stores.push(store)
    return store
  }

  function start(store: SqliteReadModelStore, metrics = createMetricsRegistry(), extra: { deadLetterTopic?: string; maxBatchRecords?: number } = {}) {
    const runtime = createProjectionRuntime({ log, store, groupId: 'replica-1', logger: silentLogger, metrics, maxBatchRecords: 7, ...extra })
    const changes: ProjectionChange[] = []
    runtime.changes.subscribe((change) => changes.push(change))
    const done = runtime.run()
    running.push({ runtime, done })
    return { runtime, changes, done, metrics }
  }

  async function append(events: readonly EventsTopicRecord[], ticks: readonly TickRecord[]): Promise<void> {
    const eventWriter = createRecordWriter({ log, topic: topics.events, schema: eventsTopicRecord, keyOf: (r) => r.market_id })
    const tickWriter = createRecordWriter({ log, topic: topics.ticks, schema: tickRecord, keyOf: (r) => r.market_id })
    const place = (topic: string, records: readonly ProjectionRecord[], positions: { partition: number }[]) =>
      records.forEach((record, i) => {
        const key = `${topic}/${positions[i]!.partition}`
        placement.set(key, [...(placement.get(key) ?? []), record])
      })
    place(topics.events, events, await eventWriter.write(events))
    place(topics.ticks, ticks, await tickWriter.write(ticks))
  }

  async function caughtUp(runtime: ProjectionRuntime): Promise<void> {
    const ends = new Map<string, number>()
    for (const topic of [topics.events, topics.ticks]) (await log.endOffsets(topic)).forEach((end, p) => ends.set(`${topic}/${p}`, end))
    const done = () => [...ends].every(([key, end]) => end === 0 || runtime.offsets().some((o) => `${o.topic}/${o.partition}` === key && o.next_offset === end))
    await waitFor(done, 'the runtime to reach the end of every partition')
  }

  /** The hash of folding exactly the records below the given offsets. */
  function hashBelow(offsets: readonly ConsumerOffset[]): string {
    const fold = foldIntoMemory()
    fold.fold(offsets.flatMap((o) => (placement.get(`${o.topic}/${o.partition}`) ?? []).slice(0, o.next_offset)))
    return fold.hash()
  }

  function history(seed: number) {
    const generated = generateChainHistory(createRandom(seed), { blocks: 30, reorgChance: 0.2, ticksPerMarket: 15 })
    return { events: generated.events.flat(), ticks: generated.ticks.flat(), generated }
  }

  it('commits each batch with its offset in one transaction: a reader in another process never sees one without the other', async () => {
    const { events, ticks, generated } = history(21)
    await append(events, ticks)
    const store = openStore()
    const reader = startSnapshotReader(join(dir, 'read-models.db'))
    let snapshots: Snapshot[]
    let runtime: ProjectionRuntime
    try {
      await reader.firstSnapshot
      runtime = start(store, createMetricsRegistry(), { maxBatchRecords: 1 }).runtime
      await caughtUp(runtime)
    } finally {
      snapshots = await reader.stop()
    }

    const states = new Map(snapshots.map((s) => [JSON.stringify(s.offsets), s]))
    expect(states.size, 'snapshots taken while the fold ran').toBeGreaterThan(3)
    for (const snapshot of states.values()) expect(snapshot.hash).toBe(hashBelow(snapshot.offsets))
    const canonical = foldIntoMemory()
    canonical.fold(interleave<ProjectionRecord>([...generated.canonical, ...generated.ticks], createRandom(1)))
    expect(runtime.stateHash()).toBe(canonical.hash())
  })

  it('after a restart, resumes from the stored offsets: nothing is read twice and nothing is lost', async () => {
    const { events, ticks } = history(22)
    const half = Math.floor(events.length / 2)
    await append(events.slice(0, half), ticks.slice(0, 10))
    const first = start(openStore())
    await caughtUp(first.runtime)
    await first.runtime.stop()
    await first.done
    stores.pop()!.close()

    const second = start(openStore())
    await append(events.slice(half), ticks.slice(10))
    await caughtUp(second.runtime)
    expect(foldedCount(second.metrics)).toBe(events.length - half + ticks.length - 10)
    expect(foldedCount(first.metrics)).toBe(half + 10)
    expect(second.runtime.stateHash()).toBe(hashBelow(second.runtime.offsets()))
  })

  it('tells the change feed after each commit, once another connection sees the commit, which records, positions and markets changed', async () => {
    const { events, ticks } = history(23)
    await append(events, ticks)
    const { runtime, changes } = start(openStore())
    let throwing = 0
    runtime.changes.subscribe(() => {
      throwing++
      throw new Error('a failing listener')
    })
    const observer = new Database(join(dir, 'read-models.db'), { readonly: true })
    const committedFirst: boolean[] = []
    runtime.changes.subscribe((change) => {
      const stored = observer.prepare('SELECT next_offset FROM consumer_offsets WHERE topic = ? AND partition = ?').get(change.topic, change.partition)
      committedFirst.push((stored as { next_offset?: number } | undefined)?.next_offset === change.nextOffset)
    })
    await caughtUp(runtime)
    observer.close()
    expect(committedFirst.length).toBe(changes.length)
    expect(committedFirst.every(Boolean)).toBe(true)
    const folded = changes.flatMap((change) => change.records)
    const opened = events.filter((r) => r.type === 'position_opened').map((r) => (r.type === 'position_opened' ? r.data.position_id : ''))
    const touched = new Set(changes.flatMap((change) => change.positionIds))
    expect(opened.every((id) => touched.has(id))).toBe(true)
    expect(new Set(changes.flatMap((change) => change.marketIds))).toEqual(new Set(events.map((r) => r.market_id)))
    expect(folded.filter((r) => r.type === 'chain_reorg').length).toBeGreaterThan(0)
    expect(folded.length).toBeLessThanOrEqual(events.length + ticks.length)
    expect(throwing).toBe(changes.length)
  })

  it('stops at a record on the wrong topic without committing past it', async () => {
    const tick = priceTick('btc-usdc-perp', 5, '1')
    const [position] = await log.append(topics.events, [{ key: tick.market_id, value: Buffer.from(JSON.stringify(tick)) }])
    const { runtime, done } = start(openStore())
    await expect(done).rejects.toBeInstanceOf(TopicRecordMismatchError)
    expect(runtime.offsets().filter((o) => o.partition === position!.partition && o.topic === topics.events)).toEqual([])
  })

  it('with a dead-letter topic, sets an unreadable record aside and goes on past it', async () => {
    const { events } = history(24)
    await log.append(topics.events, [{ key: 'btc-usdc-perp', value: Buffer.from('not json') }])
    await append(events.slice(0, 20), [])
    const { runtime } = start(openStore(), createMetricsRegistry(), { deadLetterTopic: `${topics.events}.dlq` })
    await caughtUp(runtime)
    expect(await log.endOffsets(`${topics.events}.dlq`)).toEqual([1])
    const expected = foldIntoMemory()
    expected.fold(events.slice(0, 20))
    expect(runtime.stateHash()).toBe(expected.hash())
  })
})
