import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { markets } from '../../contracts-abi/markets.ts'
import { devnetFeeds, startHermesServer, type HermesServer } from '../../scripts/devnet/hermes-server.ts'
import type { PricePoint } from '../../scripts/devnet/price-paths.ts'
import { createEmbeddedLog, type EmbeddedLog } from '../log/embedded-log.ts'
import type { StoredRecord } from '../log/log.ts'
import { createRecordWriter } from '../log/typed-log.ts'
import { tickRecord, type TickRecord } from '../records/schemas.ts'
import { topics } from '../records/topics.ts'
import { silentLogger } from '../runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from '../runtime/metrics.ts'
import { createHermesTickSource, HermesRefusedError } from './hermes-tick-source.ts'
import { priceFeedToTick } from './price-feed-to-tick.ts'
import { createPriceServiceTickSource, PriceServiceRefusedError } from './price-service-tick-source.ts'
import { createTickIngest, type TickIngest } from './tick-ingest.ts'
import { backoffDelay, type TickSource } from './tick-source.ts'

const feeds = Object.fromEntries(markets.map((m) => [m.pythFeedId, m.id]))
const marketOfFeed = new Map<string, string>(markets.map((m) => [m.pythFeedId, m.id]))
const btcFeed = markets[0].pythFeedId
const fastBackoff = { initialMs: 50, maxMs: 400 }
const apiKey = 'devnet-test-key'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function startServer(options: { apiKey?: string; port?: number } = {}): Promise<HermesServer> {
  const key = options.apiKey === undefined ? {} : { apiKey: options.apiKey }
  const port = options.port ?? 0
  const server = await startHermesServer({ port, feeds: devnetFeeds, intervalMs: 0, seed: 5, ...key })
  cleanups.push(() => server.close())
  return server
}

interface Collected {
  readonly ticks: TickRecord[]
  readonly errors: { error: Error; fatal: boolean }[]
}

function collect(source: TickSource): Collected {
  const collected: Collected = { ticks: [], errors: [] }
  source.start({
    onTicks: (ticks) => void collected.ticks.push(...ticks),
    onError: (error, fatal) => void collected.errors.push({ error, fatal }),
  })
  cleanups.push(() => source.stop())
  return collected
}

function hermesSource(url: string, key?: string, sourceFeeds: Record<string, string> = feeds): TickSource {
  const withKey = key === undefined ? {} : { apiKey: key }
  const logger = silentLogger
  return createHermesTickSource({ endpoint: url, feeds: sourceFeeds, logger, backoff: fastBackoff, ...withKey })
}

function priceServiceSource(url: string, sourceFeeds: Record<string, string> = feeds): TickSource {
  return createPriceServiceTickSource({ endpoint: url, feeds: sourceFeeds, logger: silentLogger, backoff: fastBackoff })
}

async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

function expectedTick(point: PricePoint): TickRecord {
  return priceFeedToTick({
    feedId: point.id,
    price: point.price.toString(),
    conf: point.conf.toString(),
    expo: point.expo,
    publishTime: point.publish_time,
    marketId: marketOfFeed.get(point.id) ?? '',
  })
}

function byId(ticks: readonly TickRecord[], id: string): TickRecord | undefined {
  return ticks.find((t) => t.id === id)
}

/**
 * Publishes until every collector has received two publications in a row, so each is subscribed:
 * one could have come from the latest-prices request a source makes when it (re)connects.
 */
async function publishUntilAllReceive(
  server: HermesServer,
  collectors: readonly Collected[],
): Promise<readonly PricePoint[]> {
  const deadline = Date.now() + 15_000
  let streak = 0
  while (Date.now() < deadline) {
    const points = server.publishNow()
    const ids = points.map((p) => expectedTick(p).id)
    const allReceived = () => collectors.every((c) => ids.every((id) => c.ticks.some((t) => t.id === id)))
    const received = await waitFor(allReceived, 'a publication', 300).catch(() => false)
    streak = received ? streak + 1 : 0
    if (streak === 2) return points
  }
  throw new Error('timed out waiting for every source to receive a publication')
}

describe('tick sources against the local Hermes server', () => {
  it('deliver identical tick records from both client libraries for the same published updates', async () => {
    const server = await startServer()
    const hermes = collect(hermesSource(server.url))
    const priceService = collect(priceServiceSource(server.url))
    await publishUntilAllReceive(server, [hermes, priceService])
    const pushed = server.pushPrice(btcFeed, 6_612_345_678_901n)
    const published = [...server.publishNow(), pushed, ...server.publishNow()]
    for (const point of published) {
      const expected = expectedTick(point)
      const fromHermes = await waitFor(() => byId(hermes.ticks, expected.id), `hermes tick ${expected.id}`)
      const fromPriceService = await waitFor(() => byId(priceService.ticks, expected.id), `price-service tick`)
      expect(fromHermes).toEqual(fromPriceService)
      expect(fromHermes).toEqual(expected)
      expect(tickRecord.safeParse(fromHermes).success).toBe(true)
    }
    expect(byId(hermes.ticks, expectedTick(pushed).id)?.data.price).toBe('66123.45678901')
    expect([...hermes.errors, ...priceService.errors].filter((e) => e.fatal)).toEqual([])
  })

  it('start with the latest price of every feed before any new update', async () => {
    const server = await startServer()
    const hermes = collect(hermesSource(server.url))
    const priceService = collect(priceServiceSource(server.url))
    await waitFor(() => hermes.ticks.length >= 3 && priceService.ticks.length >= 3, 'the latest prices')
    expect(new Set(hermes.ticks.map((t) => t.market_id))).toEqual(new Set(markets.map((m) => m.id)))
    expect(hermes.ticks.slice(0, 3)).toEqual(priceService.ticks.slice(0, 3))
  })

  it('the hermes source sends the API key when one is required, and streams', async () => {
    const server = await startServer({ apiKey })
    const hermes = collect(hermesSource(server.url, apiKey))
    const points = await publishUntilAllReceive(server, [hermes])
    const expected = expectedTick(points[0] as PricePoint)
    expect(byId(hermes.ticks, expected.id)).toEqual(expected)
    expect(hermes.errors).toEqual([])
  })

  it('the hermes source fails clearly and for good without the required API key, or with a wrong one', async () => {
    const server = await startServer({ apiKey })
    const anonymous = collect(hermesSource(server.url))
    const wrong = collect(hermesSource(server.url, 'not-the-key'))
    const missing = await waitFor(() => anonymous.errors[0], 'the refusal')
    expect(missing.fatal).toBe(true)
    expect(missing.error).toBeInstanceOf(HermesRefusedError)
    expect(missing.error.message).toMatch(/requires an API key \(none configured\): HTTP 401/)
    const refused = await waitFor(() => wrong.errors[0], 'the refusal of the wrong key')
    expect(refused.error.message).toMatch(/refused the API key: HTTP 401/)
    server.publishNow()
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(anonymous.errors).toHaveLength(1)
    expect(anonymous.ticks).toEqual([])
  })

  it('the price-service source stops with a clear refusal when the server requires a key', async () => {
    const server = await startServer({ apiKey })
    const priceService = collect(priceServiceSource(server.url))
    const refusal = await waitFor(() => priceService.errors.find((e) => e.fatal), 'the refusal')
    expect(refusal.error).toBeInstanceOf(PriceServiceRefusedError)
    expect(refusal.error.message).toMatch(/401/)
  })

  it('both sources fail for good on a feed id the server does not know', async () => {
    const server = await startServer()
    const unknown = { [`0x${'cd'.repeat(32)}`]: 'doge-usdc-perp' }
    const fromHermes = collect(hermesSource(server.url, undefined, unknown))
    const fromPriceService = collect(priceServiceSource(server.url, unknown))
    const hermesRefusal = await waitFor(() => fromHermes.errors.find((e) => e.fatal), 'hermes refusal')
    expect(hermesRefusal.error.message).toMatch(/does not serve the configured feed ids: HTTP 404/)
    const priceServiceRefusal = await waitFor(() => fromPriceService.errors.find((e) => e.fatal), 'the refusal')
    expect(priceServiceRefusal.error.message).toMatch(/404/)
  })

  it('both sources survive the server dropping every connection, and go on', async () => {
    const server = await startServer()
    const hermes = collect(hermesSource(server.url))
    const priceService = collect(priceServiceSource(server.url))
    await publishUntilAllReceive(server, [hermes, priceService])
    server.dropConnections()
    await publishUntilAllReceive(server, [hermes, priceService])
    server.dropConnections()
    const points = await publishUntilAllReceive(server, [hermes, priceService])
    const id = expectedTick(points[1] as PricePoint).id
    expect(byId(hermes.ticks, id)).toEqual(byId(priceService.ticks, id))
    expect(hermes.errors.some((e) => !e.fatal)).toBe(true)
    expect([...hermes.errors, ...priceService.errors].filter((e) => e.fatal)).toEqual([])
  })

  it('the hermes source retries with backoff while the server is down and resumes when it is back', async () => {
    const first = await startServer()
    const hermes = collect(hermesSource(first.url))
    await publishUntilAllReceive(first, [hermes])
    await first.close()
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(hermes.errors.length).toBeGreaterThanOrEqual(2)
    const second = await startServer({ port: first.port })
    await publishUntilAllReceive(second, [hermes])
    expect(hermes.errors.filter((e) => e.fatal)).toEqual([])
  })

  it('the price-service source reports websocket errors while the server is down, never exits, and resumes', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`process.exit(${String(code)}) was called`)
    })
    cleanups.push(() => exit.mockRestore())
    const first = await startServer()
    const priceService = collect(priceServiceSource(first.url))
    await publishUntilAllReceive(first, [priceService])
    await first.close()
    await waitFor(() => priceService.errors.some((e) => /ECONNREFUSED/.test(String(e.error.cause))), 'a websocket error')
    const second = await startServer({ port: first.port })
    await publishUntilAllReceive(second, [priceService])
    expect(priceService.errors.filter((e) => e.fatal)).toEqual([])
    expect(exit).not.toHaveBeenCalled()
  })
})

describe('jittered exponential backoff', () => {
  it('doubles up to the cap and keeps half of each step fixed', () => {
    const policy = { initialMs: 100, maxMs: 1_000 }
    const attempts = [0, 1, 2, 3, 4, 10]
    expect(attempts.map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500])
    expect(attempts.map((n) => backoffDelay(n, policy, () => 1))).toEqual([100, 200, 400, 800, 1_000, 1_000])
  })
})

describe('tick ingest into a real embedded log', () => {
  async function openLog(): Promise<EmbeddedLog> {
    const dir = mkdtempSync(join(tmpdir(), 'pyth-ticks-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const log = createEmbeddedLog({ path: join(dir, 'log.db') })
    cleanups.push(() => log.close())
    await log.ensureTopics([{ name: topics.ticks, partitions: 3 }])
    return log
  }

  async function readTicks(log: EmbeddedLog): Promise<{ records: StoredRecord[]; ticks: TickRecord[] }> {
    const total = (await log.endOffsets(topics.ticks)).reduce((sum, end) => sum + end, 0)
    const records: StoredRecord[] = []
    const consumer = log.consume({
      topics: [topics.ticks],
      groupId: 'test-reader',
      from: () => 0,
      onBatch: async (batch) => void records.push(...batch.records),
    })
    await waitFor(() => records.length >= total, 'the whole topic')
    await consumer.stop()
    return { records, ticks: records.map((r) => tickRecord.parse(JSON.parse(r.value.toString('utf8')))) }
  }

  interface RunningIngest {
    readonly ingest: TickIngest
    readonly metrics: MetricsRegistry
  }

  function startIngest(log: EmbeddedLog, source: TickSource, resume: boolean): RunningIngest {
    const metrics = createMetricsRegistry()
    const writer = createRecordWriter({ log, topic: topics.ticks, schema: tickRecord, keyOf: (r) => r.market_id })
    const resumeFrom = resume ? { resumeFrom: { log, topic: topics.ticks } } : {}
    const logger = silentLogger
    const ingest = createTickIngest({ source, writer, logger, metrics, flushIntervalMs: 10, ...resumeFrom })
    cleanups.push(() => ingest.stop())
    return { ingest, metrics }
  }

  const duplicatesSkipped = /perp_pyth_ticks_duplicate_total\{[^}]*\} [1-9]/

  it('writes valid tick records keyed by market and skips re-delivered and older ticks', async () => {
    const log = await openLog()
    let push: (ticks: readonly TickRecord[]) => void = () => {}
    const scripted: TickSource = {
      name: 'scripted',
      start: (handlers) => void (push = handlers.onTicks),
      stop: async () => {},
    }
    const { ingest, metrics } = startIngest(log, scripted, false)
    await ingest.start()
    const tick = (market: 0 | 1 | 2, time: number, price: string): TickRecord =>
      priceFeedToTick({
        feedId: markets[market].pythFeedId,
        price,
        conf: '1000',
        expo: -8,
        publishTime: time,
        marketId: markets[market].id,
      })
    const opening = [tick(0, 100, '6500000000000'), tick(1, 100, '350000000000'), tick(2, 100, '15000000000')]
    push(opening)
    push([tick(0, 101, '6500100000000')])
    push(opening)
    push([tick(0, 99, '1'), tick(0, 101, '2'), tick(1, 102, '350100000000')])
    await waitFor(() => ingest.lastPublishTimes().get(markets[1].pythFeedId) === 102, 'the last tick accepted')
    await ingest.stop()
    await ingest.done

    const { records, ticks } = await readTicks(log)
    const written = [...opening, tick(0, 101, '6500100000000'), tick(1, 102, '350100000000')]
    const order = (a: TickRecord, b: TickRecord) => (a.id < b.id ? -1 : 1)
    expect([...ticks].sort(order)).toEqual([...written].sort(order))
    expect(records.map((r) => r.key)).toEqual(ticks.map((t) => t.market_id))
    const rendered = metrics.render()
    expect(rendered).toMatch(/perp_pyth_ticks_total\{market_id="btc-usdc-perp"\} 2/)
    expect(rendered).toMatch(/perp_pyth_ticks_duplicate_total\{market_id="btc-usdc-perp"\} 3/)
  })

  it('ingests from the hermes source end to end, and a restart resumes after the last written tick', async () => {
    const server = await startServer()
    const log = await openLog()
    const firstRun = startIngest(log, hermesSource(server.url), true)
    await firstRun.ingest.start()
    const points = server.publishNow()
    const accepted = (run: { ingest: TickIngest }, published: readonly PricePoint[]) => () =>
      published.every((p) => run.ingest.lastPublishTimes().get(p.id) === p.publish_time)
    await waitFor(accepted(firstRun, points), 'ticks of the first run')
    server.dropConnections()
    // After the reconnect the source re-delivers the latest prices; the floors skip them.
    await waitFor(() => duplicatesSkipped.test(firstRun.metrics.render()), 'a re-delivered tick skipped')
    await firstRun.ingest.stop()
    await firstRun.ingest.done
    const afterFirstRun = (await readTicks(log)).ticks

    const secondRun = startIngest(log, hermesSource(server.url), true)
    await secondRun.ingest.start()
    const floors = Object.fromEntries(points.map((p) => [p.id, p.publish_time]))
    expect(Object.fromEntries(secondRun.ingest.lastPublishTimes())).toEqual(floors)
    await waitFor(() => duplicatesSkipped.test(secondRun.metrics.render()), 'the latest prices skipped on restart')
    const next = server.publishNow()
    await waitFor(accepted(secondRun, next), 'ticks of the second run')
    await secondRun.ingest.stop()
    await secondRun.ingest.done

    const all = (await readTicks(log)).ticks
    expect(all.length).toBe(afterFirstRun.length + next.length)
    expect(new Set(all.map((t) => t.id)).size).toBe(all.length)
    for (const feed of Object.keys(feeds)) {
      const times = all.filter((t) => t.data.feed_id === feed).map((t) => t.data.publish_time)
      expect(times).toEqual([...times].sort((a, b) => a - b))
    }
    for (const point of next) expect(byId(all, expectedTick(point).id)).toEqual(expectedTick(point))
  })
})
