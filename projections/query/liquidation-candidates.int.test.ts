import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEmbeddedLog, type EmbeddedLog } from '../../indexer/log/embedded-log.ts'
import { createRecordWriter } from '../../indexer/log/typed-log.ts'
import { eventsTopicRecord, tickRecord, type EventsTopicRecord, type TickRecord } from '../../indexer/records/schemas.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import { createProjectionRuntime, type ProjectionRuntime } from '../runtime/projection-runtime.ts'
import { openReadModelStore, type SqliteReadModelStore } from '../store/sqlite-read-model-store.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { createRandom } from '../test-support/random.ts'
import { createReadModelQueries, type ReadModelQueries } from './read-model-queries.ts'

const topics = { events: 'perp.events.v1', ticks: 'pyth.ticks.v1' }
const MARKETS = ['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp']

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Every answer the gateway may ask for: all markets, each market, and a short list. */
function answers(queries: ReadModelQueries) {
  return [queries.liquidationCandidates(), ...MARKETS.map((marketId) => queries.liquidationCandidates({ marketId })), queries.liquidationCandidates({ limit: 3 })]
}

describe('liquidation candidates from the index, through the projection runtime on SQLite', () => {
  let dir: string
  let log: EmbeddedLog
  let store: SqliteReadModelStore
  let reader: Database.Database
  let runtime: ProjectionRuntime | undefined
  let done: Promise<void> | undefined

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liquidation-candidates-'))
    log = createEmbeddedLog({ path: join(dir, 'log.db'), pollIntervalMs: 20 })
    await log.ensureTopics([
      { name: topics.events, partitions: 3 },
      { name: topics.ticks, partitions: 2 },
    ])
    store = openReadModelStore({ path: join(dir, 'read-models.db') })
    // The gateway's side: its own connection to the file the runtime commits to.
    reader = new Database(join(dir, 'read-models.db'), { readonly: true })
  })

  afterEach(async () => {
    await runtime?.stop()
    await done?.catch(() => undefined)
    runtime = undefined
    done = undefined
    reader.close()
    store.close()
    await log.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function append(events: readonly EventsTopicRecord[], ticks: readonly TickRecord[]): Promise<void> {
    await createRecordWriter({ log, topic: topics.events, schema: eventsTopicRecord, keyOf: (r) => r.market_id }).write(events)
    await createRecordWriter({ log, topic: topics.ticks, schema: tickRecord, keyOf: (r) => r.market_id }).write(ticks)
  }

  async function caughtUp(running: ProjectionRuntime): Promise<void> {
    const ends = new Map<string, number>()
    for (const topic of [topics.events, topics.ticks]) (await log.endOffsets(topic)).forEach((end, p) => ends.set(`${topic}/${p}`, end))
    const reached = () =>
      [...ends].every(([key, end]) => end === 0 || running.offsets().some((o) => `${o.topic}/${o.partition}` === key && o.next_offset === end))
    await waitFor(reached, 'the runtime to reach the end of every partition')
  }

  it.each([41, 42, 43])('answers exactly as the full scan after every commit of a random history with reorgs (seed %i)', async (seed) => {
    const history = generateChainHistory(createRandom(seed), { blocks: 150, reorgChance: 0.2, ticksPerMarket: 60 })
    const events = history.events.flat()
    const ticks = history.ticks.flat()
    const half = Math.floor(events.length / 2)
    const halfTicks = Math.floor(ticks.length / 2)
    await append(events.slice(0, half), ticks.slice(0, halfTicks))

    runtime = createProjectionRuntime({ log, store, groupId: 'replica-1', logger: silentLogger, metrics: createMetricsRegistry(), maxBatchRecords: 5 })
    const scan = createReadModelQueries(reader)
    const followedFromStart = createReadModelQueries(reader, runtime.changes)
    let checks = 0
    let candidatesSeen = 0
    const mismatches: string[] = []
    // The feed swallows what a listener throws, so failures are collected instead.
    const check = (name: string, queries: ReadModelQueries) => () => {
      checks++
      try {
        const expected = answers(scan)
        candidatesSeen += expected[0]!.length
        if (JSON.stringify(answers(queries)) !== JSON.stringify(expected)) mismatches.push(`${name}: differs after check ${checks}`)
      } catch (error) {
        mismatches.push(`${name}: ${String(error)}`)
      }
    }
    // Subscribed after the queries it checks, so it runs once their index has taken the change.
    runtime.changes.subscribe(check('followed from the start', followedFromStart))
    done = runtime.run()
    await caughtUp(runtime)

    // A second index, loaded from the file as it is now, then following the rest.
    const loadedMidway = createReadModelQueries(reader, runtime.changes)
    expect(answers(loadedMidway)).toEqual(answers(scan))
    runtime.changes.subscribe(check('loaded midway', loadedMidway))
    await append(events.slice(half), ticks.slice(halfTicks))
    await caughtUp(runtime)

    expect(mismatches).toEqual([])
    expect(checks).toBeGreaterThan(20)
    expect(candidatesSeen).toBeGreaterThan(100)
    const final = answers(scan)
    expect(final[0]!.length).toBeGreaterThan(0)
    expect(answers(followedFromStart)).toEqual(final)
    expect(answers(loadedMidway)).toEqual(final)
    followedFromStart.close()
    loadedMidway.close()
  })
})
