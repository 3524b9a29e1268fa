// The client against the real gateway (`serve` on the embedded log, uWebSockets.js on a socket),
// with a writer on the same log standing in for the indexer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fundingUpdated, marketListed, priceTick } from '../../projections/test-support/records.ts'
import { encodeCursor } from '../protocol/cursor.ts'
import { startServeFixture } from '../test-support/serve-fixture.ts'
import type { ServeFixture } from '../test-support/serve-fixture.ts'
import { createNodePerpClient } from './node-perp-client.ts'
import type { PerpClient } from './perp-client.ts'
import type { InvalidFrameError } from './client-errors.ts'
import type { ClientFrameOf, Subscription } from './reconnecting-subscription.ts'
import { until } from '../../test/support/until.ts'

const BTC = 'btc-usdc-perp'

describe('perp client against the gateway', () => {
  let fixture: ServeFixture
  let client: PerpClient
  const subscriptions: Subscription[] = []
  const invalid: InvalidFrameError[] = []

  beforeAll(async () => {
    fixture = await startServeFixture()
    await fixture.events.write([marketListed(BTC, { block: 1 })])
    await fixture.ticks.write([priceTick(BTC, Math.floor(Date.now() / 1000), '50000')])
    client = createNodePerpClient({ baseUrl: fixture.wsUrl('').replace(/\/$/, ''), heartbeat: false })
  })

  afterAll(async () => {
    for (const subscription of subscriptions) subscription.close()
    await fixture?.close()
  })

  function events(from: string | undefined, frames: Array<ClientFrameOf<'events'>>): Subscription {
    const subscription = client.events({
      ...(from === undefined ? {} : { from }),
      onMessage: (frame) => frames.push(frame),
      onInvalid: (error) => invalid.push(error),
    })
    subscriptions.push(subscription)
    return subscription
  }

  const fundingRates = (frames: Array<ClientFrameOf<'events'>>): string[] =>
    frames.flatMap((frame) => (frame.type === 'funding_rate_update' ? [frame.data.funding_rate] : []))

  it('validates the price stream of a listed market', async () => {
    const prices: string[] = []
    subscriptions.push(
      client.prices(BTC, {
        onMessage: (frame) => {
          if (frame.type === 'price_update') prices.push(frame.price)
        },
        onInvalid: (error) => invalid.push(error),
      }),
    )
    await until(() => prices.length > 0, 'a price update')
    expect(prices[0]).toBe('50000')
    expect(invalid).toEqual([])
  })

  it('replays from a saved cursor exactly the raw events it has not delivered', async () => {
    const first: Array<ClientFrameOf<'events'>> = []
    const live = events(encodeCursor([]), first)
    await until(() => first.some((frame) => frame.type === 'market_listed'), 'the replayed listing')
    await fixture.events.write([fundingUpdated(BTC, { block: 2 }, { funding_rate: '0.0001', cumulative_funding_index: '1' })])
    await until(() => fundingRates(first).length === 1, 'the live funding update')
    const saved = live.cursor()
    expect(saved).toBeDefined()
    live.close()

    await fixture.events.write([fundingUpdated(BTC, { block: 3 }, { funding_rate: '0.0002', cumulative_funding_index: '2' })])
    const resumed: Array<ClientFrameOf<'events'>> = []
    events(saved, resumed)
    await until(() => fundingRates(resumed).length === 1, 'the missed funding update')
    await fixture.events.write([fundingUpdated(BTC, { block: 4 }, { funding_rate: '0.0003', cumulative_funding_index: '3' })])
    await until(() => fundingRates(resumed).length === 2, 'the next live funding update')
    expect(fundingRates(first)).toEqual(['0.0001'])
    expect(fundingRates(resumed)).toEqual(['0.0002', '0.0003'])
    expect(resumed.some((frame) => frame.type === 'market_listed')).toBe(false)
    expect(invalid).toEqual([])
  })
})
