import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { createRandom, interleave } from '../test-support/random.ts'
import { hashOf, marketListed, positionOpened, priceTick } from '../test-support/records.ts'
import type { ProjectionRecord } from './projection-record.ts'

function foldedHash(records: readonly ProjectionRecord[], batchSize?: number): string {
  const fold = foldIntoMemory()
  fold.fold(records, batchSize)
  return fold.hash()
}

describe('order independence', () => {
  it('a tick folds to the same state before and after the chain events of its market', () => {
    const events = [
      marketListed('btc-usdc-perp', { block: 1 }),
      positionOpened('btc-usdc-perp', { block: 2 }, { position_id: hashOf('p'), side: 'long', size: '1', collateral: '10', entry_price: '50' }),
    ]
    const tick = priceTick('btc-usdc-perp', 10, '51')
    expect(foldedHash([tick, ...events])).toBe(foldedHash([...events, tick]))
    expect(foldedHash([events[0]!, tick, events[1]!])).toBe(foldedHash([...events, tick]))
  })

  it('on random histories, every interleaving of the partitions and every batching folds to the same state', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.tuple(fc.integer(), fc.integer({ min: 1, max: 50 })), { minLength: 3, maxLength: 6 }), (historySeed, orders) => {
        const history = generateChainHistory(createRandom(historySeed), { blocks: 20 })
        // One partition after the other: events market by market, then the ticks.
        const reference = foldedHash([...history.events.flat(), ...history.ticks.flat()])
        for (const [orderSeed, batchSize] of orders) {
          const interleaved = interleave<ProjectionRecord>([...history.events, ...history.ticks], createRandom(orderSeed))
          expect(foldedHash(interleaved, batchSize)).toBe(reference)
        }
      }),
      { numRuns: 40 },
    )
  })
})
