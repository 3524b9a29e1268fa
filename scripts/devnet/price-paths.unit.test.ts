import { describe, expect, it } from 'vitest'
import {
  createPrng,
  createRandomWalk,
  createReplayPath,
  formatRecordedPath,
  normalizeFeedId,
  normalScaled,
  parseRecordedPath,
  PricePathError,
  type PricePoint,
} from './price-paths.ts'

const btc = '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43'
const eth = '0xff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace'
const feeds = [
  { id: btc, initialPrice: 6_500_000_000_000n, expo: -8 },
  { id: eth, initialPrice: 350_000_000_000n, expo: -8 },
]

function run(seed: number, steps: number): PricePoint[][] {
  const walk = createRandomWalk({ feeds, seed, startTime: 1_700_000_000 })
  return Array.from({ length: steps }, () => [...walk.next()])
}

describe('seeded PRNG', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const a = createPrng(42)
    const b = createPrng(42)
    const c = createPrng(43)
    const seqA = Array.from({ length: 5 }, a)
    expect(Array.from({ length: 5 }, b)).toEqual(seqA)
    expect(Array.from({ length: 5 }, c)).not.toEqual(seqA)
    for (const value of seqA) expect(Number.isInteger(value) && value >= 0 && value < 2 ** 32).toBe(true)
  })

  it('draws normal deviates with mean near 0 and standard deviation near 1', () => {
    const random = createPrng(7)
    const n = 20_000
    const samples = Array.from({ length: n }, () => Number(normalScaled(random)) / 2 ** 20)
    const mean = samples.reduce((s, x) => s + x, 0) / n
    const sd = Math.sqrt(samples.reduce((s, x) => s + (x - mean) ** 2, 0) / n)
    expect(Math.abs(mean)).toBeLessThan(0.03)
    expect(Math.abs(sd - 1)).toBeLessThan(0.03)
  })
})

describe('random walk', () => {
  it('is reproducible: the same seed and start time give the same path', () => {
    expect(run(1, 50)).toEqual(run(1, 50))
    expect(run(1, 50)).not.toEqual(run(2, 50))
  })

  it('advances publish_time by whole seconds, strictly increasing, and links prev_publish_time', () => {
    const walk = createRandomWalk({ feeds, seed: 3, startTime: 1_700_000_000.7 })
    expect(walk.latest().map((p) => p.publish_time)).toEqual([1_700_000_000, 1_700_000_000])
    const first = walk.next()
    expect(first.map((p) => p.publish_time)).toEqual([1_700_000_001, 1_700_000_001])
    const jumped = walk.next(1_700_000_010.9)
    expect(jumped.map((p) => p.publish_time)).toEqual([1_700_000_010, 1_700_000_010])
    expect(jumped.map((p) => p.prev_publish_time)).toEqual([1_700_000_001, 1_700_000_001])
    const behind = walk.next(1_600_000_000)
    expect(behind.map((p) => p.publish_time)).toEqual([1_700_000_011, 1_700_000_011])
  })

  it('moves geometrically: relative step sizes match the volatility and prices stay positive', () => {
    const path = run(11, 2_000).map((step) => step[0] as PricePoint)
    const moves = path.slice(1).map((p, i) => {
      const before = (path[i] as PricePoint).price
      return Number(p.price - before) / Number(before)
    })
    const sd = Math.sqrt(moves.reduce((s, x) => s + x * x, 0) / moves.length)
    expect(sd).toBeGreaterThan(0.00008)
    expect(sd).toBeLessThan(0.00012)
    expect(path.every((p) => p.price > 0n && p.expo === -8)).toBe(true)
  })

  it('keeps the confidence interval between 0.02% and 0.06% of the price', () => {
    for (const step of run(5, 200)) {
      for (const p of step) {
        expect(p.conf * 10_000n >= p.price * 2n - 10_000n).toBe(true)
        expect(p.conf * 10_000n <= p.price * 6n).toBe(true)
      }
    }
  })

  it('publishes a chosen price for one feed with set(), leaving the others alone', () => {
    const walk = createRandomWalk({ feeds, seed: 9, startTime: 1_700_000_000 })
    const before = walk.latest().find((p) => p.id === eth)
    const point = walk.set(btc.toUpperCase().replace('0X', '0x'), 7_000_000_000_000n)
    expect(point).toMatchObject({ id: btc, price: 7_000_000_000_000n, publish_time: 1_700_000_001 })
    expect(walk.latest().find((p) => p.id === eth)).toEqual(before)
    expect(() => walk.set(btc, 0n)).toThrow(PricePathError)
    expect(() => walk.set(`0x${'1'.repeat(64)}`, 1n)).toThrow(/unknown feed/)
  })

  it('moves the EMA toward the price', () => {
    const walk = createRandomWalk({ feeds, seed: 9, startTime: 1_700_000_000 })
    const point = walk.set(btc, 7_000_000_000_000n)
    expect(point.ema_price > 6_500_000_000_000n && point.ema_price < 7_000_000_000_000n).toBe(true)
  })

  it('rejects malformed feed ids and non-positive initial prices', () => {
    const badId = [{ id: 'btc', initialPrice: 1n, expo: -8 }]
    expect(() => createRandomWalk({ feeds: badId, seed: 1, startTime: 0 })).toThrow(/not a Pyth feed id/)
    expect(() => createRandomWalk({ feeds: [{ id: btc, initialPrice: 0n, expo: -8 }], seed: 1, startTime: 0 })).toThrow(
      /must be positive/,
    )
  })
})

describe('recorded paths', () => {
  const text = [
    `{"id":"${btc.slice(2)}","price":"6500000000000","conf":"2000000000","expo":-8,"publish_time":100}`,
    `{"id":"${eth}","price":350000000000,"conf":150000000,"expo":-8,"publish_time":100}`,
    '',
    `{"id":"${btc}","price":"6510000000000","conf":"2100000000","expo":-8,"publish_time":101}`,
  ].join('\n')

  it('parses JSON lines with prices as strings or integers, normalizing ids', () => {
    const points = parseRecordedPath(text)
    expect(points).toEqual([
      { id: btc, price: 6_500_000_000_000n, conf: 2_000_000_000n, expo: -8, publish_time: 100 },
      { id: eth, price: 350_000_000_000n, conf: 150_000_000n, expo: -8, publish_time: 100 },
      { id: btc, price: 6_510_000_000_000n, conf: 2_100_000_000n, expo: -8, publish_time: 101 },
    ])
    expect(parseRecordedPath(formatRecordedPath(points))).toEqual(points)
  })

  it('names the line of a malformed record', () => {
    expect(() => parseRecordedPath(`${text}\nnot json`)).toThrow(/line 5 is not JSON/)
    const fractional = `{"id":"${btc}","price":"1.5","conf":"1","expo":-8,"publish_time":1}`
    expect(() => parseRecordedPath(fractional)).toThrow(/line 1/)
    expect(() => parseRecordedPath('\n')).toThrow(/empty/)
  })

  it('replays groups of lines sharing a publish time, then loops with times shifted forward', () => {
    const replay = createReplayPath(parseRecordedPath(text))
    const summary = (points: readonly PricePoint[]) => points.map((p) => [p.id.slice(0, 6), p.price, p.publish_time])
    expect(summary(replay.next())).toEqual([
      [btc.slice(0, 6), 6_500_000_000_000n, 100],
      [eth.slice(0, 6), 350_000_000_000n, 100],
    ])
    expect(summary(replay.next())).toEqual([[btc.slice(0, 6), 6_510_000_000_000n, 101]])
    const lap = replay.next()
    expect(summary(lap)).toEqual([
      [btc.slice(0, 6), 6_500_000_000_000n, 102],
      [eth.slice(0, 6), 350_000_000_000n, 102],
    ])
    expect(lap[0]?.prev_publish_time).toBe(101)
    expect(replay.feedIds).toEqual([btc, eth])
  })

  it('refuses a recording that goes back in time for a feed', () => {
    const backwards = parseRecordedPath(
      [
        `{"id":"${btc}","price":"1","conf":"1","expo":-8,"publish_time":5}`,
        `{"id":"${btc}","price":"1","conf":"1","expo":-8,"publish_time":4}`,
      ].join('\n'),
    )
    const replay = createReplayPath(backwards)
    replay.next()
    expect(() => replay.next()).toThrow(/goes back in time/)
  })

  it('normalizes feed ids to 0x and lowercase hex', () => {
    expect(normalizeFeedId(btc.slice(2).toUpperCase())).toBe(btc)
    expect(() => normalizeFeedId('0x1234')).toThrow(PricePathError)
  })
})
