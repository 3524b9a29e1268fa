import { describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../runtime/logger.ts'
import { followListedFeeds, type ListedFeeds } from './listed-feed-ticks.ts'
import type { TickIngest } from './tick-ingest.ts'

interface FakeIngest extends TickIngest {
  readonly feeds: ListedFeeds
  stopped: boolean
  fail(error: Error): void
}

function fakeIngest(feeds: ListedFeeds): FakeIngest {
  let reject: (error: Error) => void = () => undefined
  let resolve: () => void = () => undefined
  const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  const ingest: FakeIngest = {
    feeds,
    stopped: false,
    done,
    start: () => Promise.resolve(),
    stop: () => {
      ingest.stopped = true
      resolve()
      return Promise.resolve()
    },
    lastPublishTimes: () => new Map(),
    fail: (error) => reject(error),
  }
  return ingest
}

async function setup(initial: ListedFeeds) {
  let listed = initial
  const started: FakeIngest[] = []
  const onFatal = vi.fn<(error: Error) => void>()
  const ticks = followListedFeeds({
    logger: silentLogger,
    onFatal,
    checkIntervalMs: 10,
    listedFeeds: () => listed,
    startIngest: (feeds) => {
      const ingest = fakeIngest(feeds)
      started.push(ingest)
      return Promise.resolve(ingest)
    },
  })
  const settle = () => new Promise((resolve) => setTimeout(resolve, 40))
  await settle()
  return { ticks, started, onFatal, settle, list: (feeds: ListedFeeds) => (listed = feeds) }
}

describe('Pyth ticks that follow the listed markets', () => {
  it('starts no ingest while no market is listed, and one as soon as a market is', async () => {
    const { ticks, started, settle, list } = await setup({})
    expect(started).toHaveLength(0)
    list({ '0xaa': 'btc-usdc-perp' })
    await settle()
    expect(started.map((i) => i.feeds)).toEqual([{ '0xaa': 'btc-usdc-perp' }])
    await ticks.stop()
  })

  it('rebuilds the ingest for the new set when a market is listed later, stopping the old one first', async () => {
    const { ticks, started, settle, list } = await setup({ '0xaa': 'btc-usdc-perp' })
    list({ '0xaa': 'btc-usdc-perp', '0xbb': 'eth-usdc-perp' })
    await settle()
    expect(started.map((i) => i.feeds)).toEqual([{ '0xaa': 'btc-usdc-perp' }, { '0xaa': 'btc-usdc-perp', '0xbb': 'eth-usdc-perp' }])
    expect(started[0]?.stopped).toBe(true)
    expect(started[1]?.stopped).toBe(false)
    await ticks.stop()
    expect(started[1]?.stopped).toBe(true)
  })

  it('keeps the running ingest while the set is unchanged, whatever the order the markets come in', async () => {
    const { ticks, started, settle, list } = await setup({ '0xaa': 'btc-usdc-perp', '0xbb': 'eth-usdc-perp' })
    list({ '0xbb': 'eth-usdc-perp', '0xaa': 'btc-usdc-perp' })
    await settle()
    expect(started).toHaveLength(1)
    await ticks.stop()
  })

  it('reports an ingest that stops for good, and not one it stopped itself', async () => {
    const { ticks, started, onFatal, settle, list } = await setup({ '0xaa': 'btc-usdc-perp' })
    list({ '0xaa': 'btc-usdc-perp', '0xbb': 'eth-usdc-perp' })
    await settle()
    expect(onFatal).not.toHaveBeenCalled()
    started[1]?.fail(new Error('API key refused'))
    await settle()
    expect(onFatal).toHaveBeenCalledWith(new Error('API key refused'))
    await ticks.stop()
  })
})
