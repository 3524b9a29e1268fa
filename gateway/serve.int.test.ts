import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { EventsTopicRecord } from '../indexer/records/schemas.ts'
import {
  addressOf,
  fundingUpdated,
  hashOf,
  marketListed,
  positionClosed,
  positionOpened,
  priceTick,
} from '../projections/test-support/records.ts'
import { framesByPath, type PathKind } from './protocol/messages.ts'
import type { ReceivedFrame } from './test-support/fake-transport.ts'
import { startServeFixture, type ServeFixture } from './test-support/serve-fixture.ts'
import { openClient, type TestClient } from './test-support/ws-client.ts'

const MARKETS = ['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp'] as const
const [BTC] = MARKETS
const alice = addressOf('alice')
const bob = addressOf('bob')
const NOW = Math.floor(Date.now() / 1000)
const rawTypes = new Set(['position_opened', 'position_closed', 'position_liquidated', 'funding_rate_update', 'market_listed', 'chain_reorg'])

const raw = (client: TestClient): ReceivedFrame[] => client.frames.filter((f) => rawTypes.has(f.type))
/** What identifies a raw event across frames: its type and transaction. */
const idOf = (frame: ReceivedFrame): string => `${frame.type}:${(frame['data'] as { transaction_hash: string }).transaction_hash}`
const idOfRecord = (record: EventsTopicRecord): string =>
  `${record.type === 'funding_updated' ? 'funding_rate_update' : record.type}:${'tx_hash' in record.chain ? record.chain.tx_hash : ''}`

function expectValidFrames(kind: PathKind, client: TestClient): void {
  for (const frame of client.frames) expect(framesByPath[kind].safeParse(frame).success, JSON.stringify(frame)).toBe(true)
}

/** Within a market (one partition) the frames come in the log's order; markets interleave freely. */
function expectLogOrderPerMarket(received: readonly string[], expected: readonly string[], records: readonly EventsTopicRecord[]): void {
  for (const market of MARKETS) {
    const inMarket = (ids: readonly string[]) => ids.filter((id) => records.some((r) => r.market_id === market && idOfRecord(r) === id))
    expect(inMarket(received)).toEqual(inMarket(expected))
  }
}

/** An open of a long in `market` at `block`, alternating traders; ids follow the block. */
function opening(market: string, block: number): EventsTopicRecord {
  return positionOpened(market, { block }, { position_id: hashOf(`position:${block}`), trader: block % 2 === 0 ? alice : bob, side: 'long', size: '1', collateral: '10000', entry_price: '50000' })
}

describe('serve on the embedded log, with real SQLite and real sockets', () => {
  let fixture: ServeFixture
  const clients: TestClient[] = []

  beforeEach(async () => {
    fixture = await startServeFixture()
  })

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close()
    await fixture.close()
  })

  async function client(path: string): Promise<TestClient> {
    const opened = await openClient(fixture.wsUrl(path))
    clients.push(opened)
    return opened
  }

  it('pushes records appended to the log to every path as frames of the spec', async () => {
    const events = await client('events')
    const positions = await client(`positions/${alice.toUpperCase().replace('0X', '0x')}`)
    await fixture.events.write([marketListed(BTC, { block: 1 })])
    await events.waitFor((f) => f.some((x) => x.type === 'market_listed'), 'market_listed')
    const prices = await client(`prices/${BTC}`)
    const stats = await client(`market-stats/${BTC}`)
    const liquidations = await client('liquidations')

    await fixture.ticks.write([priceTick(BTC, NOW, '46000')])
    const [p1, p3] = [hashOf('position:1'), hashOf('position:3')]
    await fixture.events.write([
      positionOpened(BTC, { block: 2 }, { position_id: p1, trader: alice, side: 'long', size: '1.5', collateral: '10000', entry_price: '50000' }),
      positionOpened(BTC, { block: 3 }, { position_id: p3, trader: bob, side: 'long', size: '1', collateral: '2600', entry_price: '50000' }),
    ])
    await positions.waitFor((f) => f.some((x) => x.type === 'liquidation_warning'), 'a liquidation warning')
    expect(positions.frames[0]).toEqual({ type: 'connected', user_address: alice, message: 'Connected to position updates' })
    expect(positions.ofType('position_opened').map((f) => (f['data'] as { position_id: string }).position_id)).toEqual([p1])
    await positions.waitFor((f) => f.some((x) => x.type === 'positions_update' && (x['positions'] as unknown[]).length === 1), 'positions_update with P1')

    await prices.waitFor((f) => f.some((x) => x.type === 'price_update'), 'price_update')
    expect(prices.ofType('price_update')[0]).toMatchObject({ market_id: BTC, price: '46000', timestamp: NOW })

    await liquidations.waitFor((f) => f.some((x) => x.type === 'liquidation_alert' && x['count'] === 2), 'both candidates')
    const alert = liquidations.ofType('liquidation_alert').find((x) => x['count'] === 2)!
    expect((alert['candidates'] as { position_id: string }[]).map((c) => c.position_id)).toEqual([p3, p1])

    // Before the first funding update the listing's funding state holds: rate 0 since the listing.
    await stats.waitFor((f) => f.some((x) => x.type === 'market_stats'), 'market_stats once the market has a price')
    expect(stats.ofType('market_stats')[0]).toMatchObject({ current_price: '46000', funding_rate: '0', last_funding_update: expect.stringMatching(/Z$/) })
    await fixture.events.write([fundingUpdated(BTC, { block: 4 }, { funding_rate: '0.0001', cumulative_funding_index: '0', long_open_interest: '125000', timestamp: NOW - 60 })])
    const funded = (x: { [key: string]: unknown }) => x['type'] === 'market_stats' && x['funding_rate'] === '0.0001'
    await stats.waitFor((f) => f.some(funded), 'market_stats after the first funding update')
    expect(stats.ofType('funding_rate_update')).toMatchObject([{ data: { market_id: BTC, funding_rate: '0.0001', long_oi: '125000', short_oi: '0' } }])
    expect(stats.frames.find(funded)).toMatchObject({ current_price: '46000', total_long_oi: '125000', last_funding_update: new Date((NOW - 60) * 1000).toISOString().replace('.000Z', 'Z') })
    await events.waitFor((f) => raw(events).length === 4, 'four raw events')

    expectValidFrames('events', events)
    expectValidFrames('positions', positions)
    expectValidFrames('prices', prices)
    expectValidFrames('market-stats', stats)
    expectValidFrames('liquidations', liquidations)
  })

  it('resumes from a cursor with every event exactly once, while events keep flowing', async () => {
    const first = await client('events')
    const batch1 = [...MARKETS.map((m, i) => marketListed(m, { block: 1, logIndex: i })), ...[2, 3, 4, 5, 6, 7].map((b) => opening(MARKETS[b % 3]!, b))]
    for (const record of batch1) await fixture.events.write([record])
    await first.waitFor(() => raw(first).length === batch1.length, 'the first batch')
    const cut = raw(first)[4]!
    const last = raw(first).at(-1)!
    await first.close()

    // While no client is connected.
    const batch2 = [8, 9, 10, 11, 12].map((b) => opening(MARKETS[b % 3]!, b))
    await fixture.events.write(batch2)
    const watcher = await client('events')
    await watcher.waitFor(() => raw(watcher).length === batch2.length, 'the second batch folded')

    // Reconnect from the last cursor received, and from one in the middle, with events still flowing.
    const resumed = await client(`events?from=${String(last['cursor'])}`)
    const fromMiddle = await client(`events?from=${String(cut['cursor'])}`)
    const batch3 = [13, 14, 15, 16, 17, 18].map((b) => (b === 18 ? positionClosed(MARKETS[13 % 3]!, { block: b }, { position_id: hashOf('position:13'), trader: bob, exit_price: '50100' }) : opening(MARKETS[b % 3]!, b)))
    for (const record of batch3) await fixture.events.write([record])

    const all = [...batch1, ...batch2, ...batch3].map(idOfRecord)
    const afterLast = [...batch2, ...batch3].map(idOfRecord)
    // A cursor covers exactly the frames pushed up to its own, in the order the gateway pushed them.
    const upToCut = new Set(raw(first).slice(0, raw(first).indexOf(cut) + 1).map(idOf))
    const afterCut = all.filter((id) => !upToCut.has(id))
    await resumed.waitFor(() => raw(resumed).length >= afterLast.length, 'every missed and new event')
    await fromMiddle.waitFor(() => raw(fromMiddle).length >= afterCut.length, 'every event after the cut')
    await new Promise((resolve) => setTimeout(resolve, 300))

    expect(raw(resumed).map(idOf).sort()).toEqual([...afterLast].sort())
    expect(raw(fromMiddle).map(idOf).sort()).toEqual([...afterCut].sort())
    expect(new Set(raw(fromMiddle).map(idOf)).size).toBe(raw(fromMiddle).length)
    expectValidFrames('events', resumed)
    expectLogOrderPerMarket(raw(resumed).map(idOf), afterLast, [...batch1, ...batch2, ...batch3])
    expectLogOrderPerMarket(raw(fromMiddle).map(idOf), afterCut, [...batch1, ...batch2, ...batch3])
  })

  it('gives a client that was away for 10 s while events flowed every event exactly once after it resumes', async () => {
    const listings = MARKETS.map((m, i) => marketListed(m, { block: 1, logIndex: i }))
    await fixture.events.write(listings)
    const before = await client('events')
    await before.waitFor(() => raw(before).length === listings.length, 'the listings')
    // One opening every 100 ms, from now until the client is back and past it.
    const written: EventsTopicRecord[] = [...listings]
    let flowing = true
    const flow = (async () => {
      for (let block = 2; flowing; block++) {
        const record = opening(MARKETS[block % 3]!, block)
        await fixture.events.write([record])
        written.push(record)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const last = raw(before).at(-1)!
    const seenBefore = raw(before).map(idOf)
    await before.close()
    await new Promise((resolve) => setTimeout(resolve, 10_000))
    const after = await client(`events?from=${String(last['cursor'])}`)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    flowing = false
    await flow
    await after.waitFor(() => seenBefore.length + raw(after).length >= written.length, 'every event written')
    await new Promise((resolve) => setTimeout(resolve, 300))

    const received = [...seenBefore, ...raw(after).map(idOf)]
    expect(written.length).toBeGreaterThan(50)
    expect(received.length).toBe(new Set(received).size)
    expect([...received].sort()).toEqual(written.map(idOfRecord).sort())
    expectValidFrames('events', after)
    expectLogOrderPerMarket(raw(after).map(idOf), written.map(idOfRecord).filter((id) => !seenBefore.includes(id)), written)
  }, 30_000)

  it('resumes a positions path with the user’s events only', async () => {
    await fixture.events.write(MARKETS.map((m, i) => marketListed(m, { block: 1, logIndex: i })))
    const first = await client(`positions/${alice}`)
    await fixture.events.write([opening(BTC, 2)])
    await first.waitFor((f) => f.some((x) => x.type === 'position_opened'), 'alice’s first open')
    const cursor = String(first.ofType('position_opened')[0]!['cursor'])
    await first.close()
    const missed = [3, 4, 5, 6].map((b) => opening(MARKETS[b % 3]!, b))
    await fixture.events.write(missed)
    const watcher = await client('events')
    await watcher.waitFor(() => raw(watcher).length === 4, 'the missed events folded')
    const resumed = await client(`positions/${alice}?from=${cursor}`)
    await fixture.events.write([opening(BTC, 8), opening(BTC, 9)])
    const expected = [...missed, opening(BTC, 8), opening(BTC, 9)].filter((r) => r.type === 'position_opened' && r.data.trader === alice).map(idOfRecord)
    await resumed.waitFor(() => raw(resumed).length >= expected.length, 'alice’s events')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(raw(resumed).map(idOf).sort()).toEqual([...expected].sort())
    expectLogOrderPerMarket(raw(resumed).map(idOf), expected, [...missed, opening(BTC, 8), opening(BTC, 9)])
    expect(resumed.frames.slice(0, 2).map((f) => f.type)).toEqual(['connected', 'positions_update'])
  })
})
