import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createWorkingSet } from '../runtime/working-set.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { given } from '../test-support/given.ts'
import { createRandom, interleave, type Random } from '../test-support/random.ts'
import {
  chainReorg,
  fundingUpdated,
  hashOf,
  marketListed,
  positionClosed,
  positionLiquidated,
  positionOpened,
  priceTick,
} from '../test-support/records.ts'
import type { ProjectionRecord } from './projection-record.ts'

const BTC = 'btc-usdc-perp'
const [P1, P2] = [hashOf('position:1'), hashOf('position:2')]
const listed = marketListed(BTC, { block: 1 })
const opened = (id: string, block: number) =>
  positionOpened(BTC, { block }, { position_id: id, side: 'short', size: '3', collateral: '100', entry_price: '10' })
const fundingAt = (block: number, index: string) =>
  fundingUpdated(BTC, { block }, { funding_rate: '0.01', cumulative_funding_index: index })
const history: ProjectionRecord[] = [
  listed,
  opened(P1, 2),
  opened(P2, 3),
  positionClosed(BTC, { block: 4 }, { position_id: P1, exit_price: '9' }),
  positionLiquidated(BTC, { block: 5 }, { position_id: P2, liquidation_price: '14' }),
  fundingAt(6, '0.5'),
  priceTick(BTC, 100, '10.5'),
]

describe('a redelivered record changes nothing', () => {
  it.each(history.map((record) => [record.type, record] as const))('%s, right after it was folded', (_, record) => {
    const upTo = history.slice(0, history.indexOf(record) + 1)
    const result = given(...upTo).when(record)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: record.type === 'price_tick' ? 'stale-tick' : 'redelivered' })
    expect(result.hashAfter).toBe(result.hashBefore)
  })

  it('a funding update, after a newer one: the market keeps the newer', () => {
    const older = fundingAt(7, '1')
    const result = given(listed, older, fundingAt(8, '2')).when(older)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'redelivered' })
    expect(result.rows('markets')[0]?.cumulative_funding_index).toBe('2')
  })

  it('a chain event pruned from the journal as final, by its block', () => {
    const fold = foldIntoMemory(2)
    fold.fold([listed, ...[2, 3, 4, 5, 6].map((block) => fundingAt(block, String(block)))])
    const before = fold.hash()
    expect(fold.fold([fundingAt(3, '3')])[0]).toMatchObject({ outcome: 'skipped', reason: 'finalized' })
    expect(fold.hash()).toBe(before)
  })

  it('a chain event, after the working set was reloaded from the store (a restart)', () => {
    const fold = foldIntoMemory()
    fold.fold(history)
    const restarted = createWorkingSet(fold.store, { finalityDepth: 64 })
    expect(restarted.fold(history[3]!)).toMatchObject({ outcome: 'skipped', reason: 'redelivered' })
  })

  it('a reorg, and again after the new branch: the new branch stays', () => {
    const orphaned = opened(hashOf('orphan'), 7)
    const reorg = chainReorg(BTC, { block: 6 }, [{ block: 7 }], { block: 7, branch: 'b' })
    const replacement = positionOpened(BTC, { block: 7, branch: 'b' }, { position_id: hashOf('replacement'), side: 'long', size: '1', collateral: '5', entry_price: '10' })
    const result = given(...history, orphaned, reorg).when(reorg)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'nothing-to-undo' })
    const afterBranch = given(...history, orphaned, reorg, replacement).when(reorg)
    expect(afterBranch.hashAfter).toBe(afterBranch.hashBefore)
    expect(afterBranch.rows('positions').map((p) => p.position_id)).toContain(hashOf('replacement'))
  })

  it('on random histories, redeliveries anywhere after the original leave the same state', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (historySeed, redeliverySeed) => {
        const generated = generateChainHistory(createRandom(historySeed), { blocks: 20, reorgChance: 0.2 })
        const streams = [...generated.events, ...generated.ticks]
        const random = createRandom(redeliverySeed)
        const once = foldIntoMemory()
        once.fold(interleave<ProjectionRecord>(streams, createRandom(0)))
        const twice = foldIntoMemory()
        twice.fold(interleave(streams.map((stream) => withRedeliveries(stream, random)), random), 5)
        expect(twice.hash()).toBe(once.hash())
      }),
      { numRuns: 60 },
    )
  })
})

/**
 * The stream with copies of earlier records inserted later. Copies never cross a chain_reorg: an
 * orphaned record written again after its reorg would be a new fact on the log, not a redelivery.
 */
function withRedeliveries(stream: readonly ProjectionRecord[], random: Random): ProjectionRecord[] {
  const out: ProjectionRecord[] = []
  let since: ProjectionRecord[] = []
  for (const record of stream) {
    if (record.type === 'chain_reorg') since = []
    out.push(record)
    since.push(record)
    while (random.chance(0.3)) out.push(random.pick(since))
  }
  return out
}
