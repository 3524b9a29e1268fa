import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { HermesClient } from '@pythnetwork/hermes-client'
import { PriceServiceConnection, type PriceFeed } from '@pythnetwork/price-service-client'
import { parseAccumulatorUpdateData, parsePriceFeedMessage } from '@pythnetwork/price-service-sdk'
import { afterEach, describe, expect, it } from 'vitest'
import { devnetFeeds, startHermesServer, type HermesServer } from './hermes-server.ts'

const [btc, eth, sol] = devnetFeeds.map((f) => f.id) as [string, string, string]
const unknownFeed = `0x${'ab'.repeat(32)}`
const quietLogger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

let server: HermesServer | undefined
const cleanups: (() => void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup()
  await server?.close()
  server = undefined
})

async function start(apiKey?: string): Promise<HermesServer> {
  const key = apiKey === undefined ? {} : { apiKey }
  server = await startHermesServer({ port: 0, feeds: devnetFeeds, intervalMs: 0, seed: 7, ...key })
  return server
}

/** A price-service connection whose websocket errors are collected instead of ending the process. */
function priceService(url: string): { connection: PriceServiceConnection; errors: Error[] } {
  const connection = new PriceServiceConnection(url, {
    logger: quietLogger,
    priceFeedRequestConfig: { verbose: true, binary: true },
  })
  const errors: Error[] = []
  connection.onWsError = (error) => void errors.push(error)
  cleanups.push(() => connection.closeWebSocket())
  return { connection, errors }
}

type Stream = Awaited<ReturnType<HermesClient['getPriceUpdatesStream']>>

function firstError(events: Stream): Promise<{ code?: number | undefined }> {
  return new Promise((resolve) => (events.onerror = (event) => resolve(event)))
}

async function waitFor<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('hermes-client against the local Hermes server', () => {
  it('gets the latest parsed updates, with a binary accumulator update carrying the same prices', async () => {
    const { url } = await start()
    const client = new HermesClient(url, { httpRetries: 0 })
    const published = server?.publishNow() ?? []
    const update = await client.getLatestPriceUpdates([btc, eth, sol], { parsed: true })
    expect(update.parsed?.map((p) => `0x${p.id}`)).toEqual([btc, eth, sol])
    const btcPoint = published.find((p) => p.id === btc)
    expect(update.parsed?.[0]).toMatchObject({
      price: {
        price: btcPoint?.price.toString(),
        conf: btcPoint?.conf.toString(),
        expo: -8,
        publish_time: btcPoint?.publish_time,
      },
      metadata: { prev_publish_time: btcPoint?.prev_publish_time },
    })
    expect(update.binary.encoding).toBe('hex')
    const accumulator = parseAccumulatorUpdateData(Buffer.from(update.binary.data[0] ?? '', 'hex'))
    const messages = accumulator.updates.map((u) => parsePriceFeedMessage(u.message))
    expect(messages.map((m) => `0x${m.feedId.toString('hex')}`)).toEqual([btc, eth, sol])
    expect(messages[0]?.price.toString()).toBe(btcPoint?.price.toString())
    expect(messages[0]?.publishTime.toNumber()).toBe(btcPoint?.publish_time)
  })

  it('lists the price feeds with their symbols, filtered by query', async () => {
    const { url } = await start()
    const client = new HermesClient(url, { httpRetries: 0 })
    const feeds = await client.getPriceFeeds()
    expect(feeds.map((f) => f.attributes['symbol'])).toEqual(['Crypto.BTC/USD', 'Crypto.ETH/USD', 'Crypto.SOL/USD'])
    const onlyBtc = await client.getPriceFeeds({ query: 'btc' })
    expect(onlyBtc.map((f) => `0x${f.id}`)).toEqual([btc])
  })

  it('streams every published update over SSE, including a pushed price', async () => {
    const { url } = await start()
    const client = new HermesClient(url, { httpRetries: 0 })
    const events = await client.getPriceUpdatesStream([btc, eth], { parsed: true })
    cleanups.push(() => events.close())
    const received: { id: string; price: string; publish_time: number }[][] = []
    events.onmessage = (event) => {
      type Parsed = { id: string; price: { price: string; publish_time: number } }
      const data = JSON.parse(String(event.data)) as { parsed: Parsed[] }
      const summary = (p: Parsed) => ({ id: `0x${p.id}`, price: p.price.price, publish_time: p.price.publish_time })
      received.push(data.parsed.map(summary))
    }
    await waitFor(() => (events.readyState === events.OPEN ? true : undefined), 'the stream to open')
    const first = server?.publishNow() ?? []
    const pushed = server?.pushPrice(btc, 7_123_400_000_000n)
    await waitFor(() => (received.length >= 2 ? true : undefined), 'two SSE updates')
    expect(received[0]).toEqual(
      first
        .filter((p) => p.id !== sol)
        .map((p) => ({ id: p.id, price: p.price.toString(), publish_time: p.publish_time })),
    )
    expect(received[1]).toEqual([{ id: btc, price: '7123400000000', publish_time: pushed?.publish_time }])
  })

  it('answers 404 naming unknown feed ids, on the REST endpoint and the stream', async () => {
    const { url } = await start()
    const client = new HermesClient(url, { httpRetries: 0 })
    await expect(client.getLatestPriceUpdates([btc, unknownFeed])).rejects.toThrow(
      /status: 404.*Price ids not found: (ab){32}$/,
    )
    const events = await client.getPriceUpdatesStream([unknownFeed], { parsed: true })
    cleanups.push(() => events.close())
    const error = await firstError(events)
    expect(error.code).toBe(404)
    const options = { parsed: true, ignoreInvalidPriceIds: true }
    const ignored = await client.getLatestPriceUpdates([btc, unknownFeed], options)
    expect(ignored.parsed?.map((p) => `0x${p.id}`)).toEqual([btc])
  })

  it('requires the API key as a bearer token when one is configured', async () => {
    const { url } = await start('devnet-secret')
    const anonymous = new HermesClient(url, { httpRetries: 0 })
    await expect(anonymous.getLatestPriceUpdates([btc])).rejects.toThrow(/status: 401.*unauthorized/)
    const wrong = new HermesClient(url, { httpRetries: 0, headers: { Authorization: 'Bearer nope' } })
    await expect(wrong.getPriceFeeds()).rejects.toThrow(/status: 401/)
    const events = await anonymous.getPriceUpdatesStream([btc], { parsed: true })
    cleanups.push(() => events.close())
    const error = await firstError(events)
    expect(error.code).toBe(401)
    const keyed = new HermesClient(url, { httpRetries: 0, headers: { Authorization: 'Bearer devnet-secret' } })
    const update = await keyed.getLatestPriceUpdates([btc], { parsed: true })
    expect(update.parsed?.map((p) => `0x${p.id}`)).toEqual([btc])
  })
})

describe('price-service-client against the local Hermes server', () => {
  it('gets the latest price feeds as PriceFeed objects with ids without 0x, metadata and VAA', async () => {
    const { url } = await start()
    const { connection } = priceService(url)
    const feeds = (await connection.getLatestPriceFeeds([btc, eth.slice(2)])) ?? []
    expect(feeds.map((f) => f.id)).toEqual([btc.slice(2), eth.slice(2)])
    const price = feeds[0]?.getPriceUnchecked()
    expect(price?.expo).toBe(-8)
    expect(BigInt(price?.price ?? '0')).toBe(devnetFeeds[0]?.initialPrice)
    expect(feeds[0]?.getMetadata()?.emitterChain).toBe(26)
    const vaa = Buffer.from(feeds[0]?.getVAA() ?? '', 'base64')
    expect(parseAccumulatorUpdateData(vaa).updates).toHaveLength(1)
  })

  it('pushes price_update messages to websocket subscribers and stops after unsubscribe', async () => {
    const { url } = await start()
    const { connection, errors } = priceService(url)
    const received: PriceFeed[] = []
    await connection.subscribePriceFeedUpdates([btc, sol], (feed) => void received.push(feed))
    // The subscribe message is in flight once subscribePriceFeedUpdates resolves; a published
    // update reaches the socket only after the server has processed it.
    await waitFor(() => {
      server?.publishNow()
      return received.length >= 2 ? true : undefined
    }, 'price updates over the websocket')
    expect(new Set(received.map((f) => f.id))).toEqual(new Set([btc.slice(2), sol.slice(2)]))
    const pushed = server?.pushPrice(sol, 16_000_000_000n)
    const isPushed = (f: PriceFeed) =>
      f.id === sol.slice(2) && f.getPriceUnchecked().publishTime === pushed?.publish_time
    const solFeed = await waitFor(() => received.find(isPushed), 'the pushed SOL price')
    expect(solFeed.getPriceUnchecked().price).toBe('16000000000')
    await connection.unsubscribePriceFeedUpdates([btc])
    await new Promise((resolve) => setTimeout(resolve, 100))
    const count = received.length
    server?.pushPrice(btc, 7_000_000_000_000n)
    server?.pushPrice(sol, 16_100_000_000n)
    await waitFor(() => (received.length > count ? true : undefined), 'the SOL update after unsubscribing BTC')
    expect(received.slice(count).map((f) => f.id)).toEqual([sol.slice(2)])
    expect(errors).toEqual([])
  })

  it('answers 404 for unknown ids and an error response to a websocket subscription of one', async () => {
    const { url } = await start()
    const { connection, errors } = priceService(url)
    await expect(connection.getLatestPriceFeeds([unknownFeed])).rejects.toMatchObject({ response: { status: 404 } })
    await connection.subscribePriceFeedUpdates([unknownFeed], () => {})
    const error = await waitFor(() => errors[0], 'the websocket error response')
    expect(error.message).toMatch(/not found/)
  })

  it('refuses the websocket and REST calls without the API key when one is configured', async () => {
    const { url } = await start('devnet-secret')
    const { connection, errors } = priceService(url)
    await expect(connection.getLatestPriceFeeds([btc])).rejects.toMatchObject({ response: { status: 401 } })
    await connection.subscribePriceFeedUpdates([btc], () => {})
    const error = await waitFor(() => errors[0], 'the websocket upgrade error')
    expect(error.message).toMatch(/401/)
  })
})

describe('replay and command line', () => {
  it('replays a recorded path instead of the random walk when given a replay file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hermes-replay-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'path.jsonl')
    const line = (price: string, time: number) =>
      JSON.stringify({ id: btc, price, conf: '1000', expo: -8, publish_time: time })
    writeFileSync(file, [line('6500000000000', 100), line('6600000000000', 101)].join('\n'))
    server = await startHermesServer({ port: 0, feeds: devnetFeeds, intervalMs: 0, replayFile: file })
    const client = new HermesClient(server.url, { httpRetries: 0 })
    const first = await client.getLatestPriceUpdates([btc], { parsed: true })
    expect(first.parsed?.[0]?.price).toMatchObject({ price: '6500000000000', publish_time: 100 })
    expect(server.publishNow().map((p) => [p.price, p.publish_time])).toEqual([[6_600_000_000_000n, 101]])
    const second = await client.getLatestPriceUpdates([btc], { parsed: true })
    expect(second.parsed?.[0]?.price).toMatchObject({ price: '6600000000000', publish_time: 101 })
    await expect(client.getLatestPriceUpdates([eth])).rejects.toThrow(/404/)
    expect(() => server?.pushPrice(btc, 1n)).toThrow(/random-walk/)
  })

  it('prints its options with --help', async () => {
    const cli = join(import.meta.dirname, 'hermes-server.ts')
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, '--help'])
    expect(stdout).toMatch(/Usage: tsx scripts\/devnet\/hermes-server.ts/)
    expect(stdout).toMatch(/--api-key <value>\s+HERMES_API_KEY/)
    expect(stdout).toMatch(/--port <value>/)
  })
})
