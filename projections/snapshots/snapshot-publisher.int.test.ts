import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEmbeddedLog, type EmbeddedLog } from '../../indexer/log/embedded-log.ts'
import type { StoredRecord } from '../../indexer/log/log.ts'
import { createRecordWriter } from '../../indexer/log/typed-log.ts'
import { eventsTopicRecord, tickRecord } from '../../indexer/records/schemas.ts'
import { snapshotRecord, type SnapshotRecord } from '../../indexer/records/snapshot-records.ts'
import { topics } from '../../indexer/records/topics.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import { createProjectionRuntime } from '../runtime/projection-runtime.ts'
import { openReadModelStore, type SqliteReadModelStore } from '../store/sqlite-read-model-store.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { createRandom } from '../test-support/random.ts'
import { marketSnapshot, positionSnapshot } from './snapshot-of.ts'
import { createSnapshotPublisher } from './snapshot-publisher.ts'

describe('snapshot publisher on an embedded log, after the projection runtime commits', () => {
  let dir: string
  let log: EmbeddedLog
  let store: SqliteReadModelStore

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'snapshots-'))
    log = createEmbeddedLog({ path: join(dir, 'log.db'), pollIntervalMs: 20 })
    await log.ensureTopics([
      { name: topics.events, partitions: 3 },
      { name: topics.ticks, partitions: 2 },
      { name: topics.snapshots, partitions: 3, compacted: true },
    ])
    store = openReadModelStore({ path: join(dir, 'read-models.db') })
  })

  afterEach(async () => {
    store.close()
    await log.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function readTopic(topic: string): Promise<StoredRecord[]> {
    // Compaction leaves gaps in the offsets, so the reader waits for each partition's last offset.
    const ends = await log.endOffsets(topic)
    const next = ends.map(() => 0)
    const records: StoredRecord[] = []
    const consumer = log.consume({
      topics: [topic],
      groupId: 'reader',
      from: () => 0,
      onBatch: async (batch) => {
        records.push(...batch.records)
        next[batch.partition] = batch.records.at(-1)!.offset + 1
      },
    })
    while (next.some((offset, partition) => offset < ends[partition]!)) await new Promise((resolve) => setTimeout(resolve, 10))
    await consumer.stop()
    return records.sort((a, b) => a.partition - b.partition || a.offset - b.offset)
  }

  function newestById(records: readonly StoredRecord[]): Map<string, SnapshotRecord> {
    return new Map(records.map((record) => [record.key, snapshotRecord.parse(JSON.parse(record.value.toString('utf8')))]))
  }

  /** Folds a random history with reorgs through a runtime with a publisher, until both are done. */
  async function foldWithSnapshots(seed: number, maxPending = 20_000, resyncFirst = false) {
    const history = generateChainHistory(createRandom(seed), { blocks: 60, reorgChance: 0.2, ticksPerMarket: 30 })
    await createRecordWriter({ log, topic: topics.events, schema: eventsTopicRecord, keyOf: (r) => r.market_id }).write(history.events.flat())
    await createRecordWriter({ log, topic: topics.ticks, schema: tickRecord, keyOf: (r) => r.market_id }).write(history.ticks.flat())
    const metrics = createMetricsRegistry()
    const publisher = createSnapshotPublisher({ log, logger: silentLogger, metrics, maxPending, maxAppend: 7 })
    // As the projections command does at every start, on read models that may be empty.
    if (resyncFirst) await publisher.resync({ markets: [], positionPages: store.positionPages(100) })
    const runtime = createProjectionRuntime({ log, store, groupId: 'g', logger: silentLogger, metrics, maxBatchRecords: 5, beforeBatch: publisher.ready })
    runtime.changes.subscribe(publisher.onChange)
    const stopAt = [topics.events, topics.ticks].map(async (topic) => (await log.endOffsets(topic)).map((next_offset, partition) => ({ topic, partition, next_offset })))
    const done = runtime.run()
    const ends = (await Promise.all(stopAt)).flat()
    while (!ends.every((end) => runtime.offsets().some((o) => o.topic === end.topic && o.partition === end.partition && o.next_offset === end.next_offset) || end.next_offset === 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await runtime.stop()
    await done
    await publisher.stop()
    return { history, publisher }
  }

  /** What the compacted topic must hold: the read models' every position and listed market. */
  function expectedSnapshots(): Map<string, SnapshotRecord> {
    const ticks = new Map(store.loadTicks().map((tick) => [tick.market_id, tick]))
    const expected = new Map<string, SnapshotRecord>(store.loadMarkets().map((row) => [row.market_id, marketSnapshot(row, ticks.get(row.market_id))]))
    for (const page of store.positionPages(10)) for (const row of page) expected.set(row.position_id, positionSnapshot(row))
    return expected
  }

  it('leaves, per id, the snapshot of the committed row as the newest: every position and market, keyed by its id', async () => {
    const { history } = await foldWithSnapshots(31)
    const records = await readTopic(topics.snapshots)
    for (const record of records) expect(JSON.parse(record.value.toString('utf8'))).toMatchObject({ id: record.key })
    const newest = newestById(records)
    const expected = expectedSnapshots()
    const opened = new Set(history.events.flat().flatMap((r) => (r.type === 'position_opened' ? [r.data.position_id] : [])))
    for (const [id, snapshot] of expected) expect(newest.get(id), id).toEqual(snapshot)
    // Positions opened only on orphaned branches were published, then removed by the reorg.
    const removed = [...newest.values()].filter((s) => s.type === 'position_removed')
    expect(removed.length).toBeGreaterThan(0)
    for (const snapshot of removed) expect(expected.has(snapshot.id) || !opened.has(snapshot.id)).toBe(false)
    expect(newest.size).toBe(expected.size + removed.length)
  })

  it('after compaction keeps exactly one snapshot per id, the newest', async () => {
    await foldWithSnapshots(32)
    const before = newestById(await readTopic(topics.snapshots))
    expect(await log.compact(topics.snapshots)).toBeGreaterThan(0)
    const after = await readTopic(topics.snapshots)
    expect(after.length).toBe(before.size)
    expect(newestById(after)).toEqual(before)
  })

  it('holds the fold back while more snapshots wait than allowed, and still publishes them all', async () => {
    await foldWithSnapshots(33, 3)
    const newest = newestById(await readTopic(topics.snapshots))
    for (const [id, snapshot] of expectedSnapshots()) expect(newest.get(id), id).toEqual(snapshot)
  })

  it('publishes what a fresh fold changes after a resync of empty read models, however few may wait', async () => {
    await foldWithSnapshots(35, 3, true)
    const newest = newestById(await readTopic(topics.snapshots))
    for (const [id, snapshot] of expectedSnapshots()) expect(newest.get(id), id).toEqual(snapshot)
  }, 30_000)

  it('resync publishes every market and position of the read models', async () => {
    await foldWithSnapshots(34)
    await log.ensureTopics([{ name: 'resynced', partitions: 2, compacted: true }])
    const publisher = createSnapshotPublisher({ log, logger: silentLogger, metrics: createMetricsRegistry(), topic: 'resynced', maxAppend: 4 })
    const ticks = new Map(store.loadTicks().map((tick) => [tick.market_id, tick]))
    const markets = store.loadMarkets().map((row) => ({ market_id: row.market_id, row, tick: ticks.get(row.market_id) }))
    await publisher.resync({ markets, positionPages: store.positionPages(3) })
    expect(newestById(await readTopic('resynced'))).toEqual(expectedSnapshots())
  })
})
