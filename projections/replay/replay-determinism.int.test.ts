import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generatePerpWorkload } from '../../bench/replay-workload.ts'
import { createKafkaLog, type KafkaLog } from '../../indexer/log/kafka-log.ts'
import { createRecordWriter } from '../../indexer/log/typed-log.ts'
import { eventsTopicRecord, tickRecord, type EventsTopicRecord, type TickRecord } from '../../indexer/records/schemas.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import { kafkaBrokersOrSkip, uniqueTopic } from '../../test/support/kafka.ts'
import type { ProjectionRecord } from '../fold/projection-record.ts'
import { createProjectionRuntime } from '../runtime/projection-runtime.ts'
import { openReadModelStore } from '../store/sqlite-read-model-store.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { createRandom, interleave } from '../test-support/random.ts'
import { createReplay } from './replay.ts'

const { brokers } = kafkaBrokersOrSkip()
const CHUNKS = 12

describe.skipIf(brokers.length === 0)('replay against a live fold from Kafka', () => {
  let dir: string
  let log: KafkaLog
  const names = { events: uniqueTopic('perp.events'), ticks: uniqueTopic('pyth.ticks') }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'replay-determinism-'))
    log = createKafkaLog({ brokers, clientId: 'replay-determinism', logger: silentLogger })
    await log.ensureTopics([{ name: names.events, partitions: 3 }, { name: names.ticks, partitions: 2 }])
  })

  afterAll(async () => {
    await log?.close()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('gives the state hash of the live fold that ran while the records were appended, which is that of the canonical chain', async () => {
    // The simulation: a chain with reorgs on three markets and a realistic load on ten others,
    // appended in chunks, each market's records in log order, while the live fold runs.
    const markets = ['reorg-a-perp', 'reorg-b-perp', 'reorg-c-perp']
    const history = generateChainHistory(createRandom(41), { markets, blocks: 150, reorgChance: 0.15, ticksPerMarket: 120 })
    const load = [...generatePerpWorkload({ records: 20_000, seed: 5 })]
    const loadEvents = load.flatMap((chunk) => chunk.events)
    const loadTicks = load.flatMap((chunk) => chunk.ticks)
    const eventStreams = [...history.events, loadEvents]
    const tickStreams = [...history.ticks, loadTicks]
    const slice = <T>(streams: readonly (readonly T[])[], chunk: number): T[] =>
      streams.flatMap((stream) => stream.slice(Math.floor((stream.length * chunk) / CHUNKS), Math.floor((stream.length * (chunk + 1)) / CHUNKS)))

    const store = openReadModelStore({ path: join(dir, 'live.db') })
    const runtime = createProjectionRuntime({ log, store, groupId: uniqueTopic('live'), logger: silentLogger, metrics: createMetricsRegistry(), topics: names, maxBatchRecords: 300 })
    let failed = false
    const live = runtime.run()
    // Awaited below; a failure meanwhile must not go unhandled.
    live.catch(() => (failed = true))
    const events = createRecordWriter<EventsTopicRecord>({ log, topic: names.events, schema: eventsTopicRecord, keyOf: (r) => r.market_id })
    const ticks = createRecordWriter<TickRecord>({ log, topic: names.ticks, schema: tickRecord, keyOf: (r) => r.market_id })
    const foldedWhileAppending: number[] = []
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      await events.write(slice(eventStreams, chunk))
      await ticks.write(slice(tickStreams, chunk))
      await new Promise((resolve) => setTimeout(resolve, 150))
      foldedWhileAppending.push(runtime.offsets().reduce((sum, o) => sum + o.next_offset, 0))
    }
    const ends = [...(await log.endOffsets(names.events)), ...(await log.endOffsets(names.ticks))]
    const total = ends.reduce((a, b) => a + b, 0)
    const deadline = Date.now() + 120_000
    while (runtime.offsets().reduce((sum, o) => sum + o.next_offset, 0) < total && Date.now() < deadline && !failed) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const liveHash = runtime.stateHash()
    await runtime.stop()
    await live
    store.close()
    // The fold was running during the appends, not only after them.
    expect(foldedWhileAppending.some((n) => n > 0 && n < total), `folded after each chunk: ${foldedWhileAppending.join(', ')}`).toBe(true)

    const replay = createReplay({ log, targetPath: join(dir, 'replayed.db'), logger: silentLogger, metrics: createMetricsRegistry(), topics: names, maxBatchRecords: 1_000 })
    const result = await replay.run()
    expect(result.records).toBe(total)
    expect(result.stateHash).toBe(liveHash)

    // As the replay command runs it: the ticks folded in a worker thread with a Kafka client of its own.
    const tickWorker = { log: { kafkaBrokers: brokers, dataDir: dir }, logLevel: 'silent' as const }
    const inWorker = createReplay({ log, targetPath: join(dir, 'replayed-in-worker.db'), logger: silentLogger, metrics: createMetricsRegistry(), topics: names, tickWorker })
    const workerResult = await inWorker.run()
    expect(workerResult.records).toBe(total)
    expect(workerResult.stateHash).toBe(liveHash)

    const canonical = foldIntoMemory()
    const chainAlone = interleave<ProjectionRecord>([...history.canonical, ...history.ticks, loadEvents, loadTicks], createRandom(2))
    canonical.fold(chainAlone)
    expect(result.stateHash).toBe(canonical.hash())
  }, 300_000)
})
