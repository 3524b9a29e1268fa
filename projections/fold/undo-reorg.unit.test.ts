import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ChainEventRecord } from '../../indexer/records/schemas.ts'
import { generateChainHistory } from '../test-support/chain-history.ts'
import { foldIntoMemory } from '../test-support/fold-into-memory.ts'
import { given } from '../test-support/given.ts'
import { createRandom, interleave } from '../test-support/random.ts'
import {
  chainReorg,
  fundingUpdated,
  hashOf,
  marketListed,
  positionClosed,
  positionLiquidated,
  positionOpened,
  priceTick,
  type At,
} from '../test-support/records.ts'
import type { ProjectionRecord } from './projection-record.ts'
import { ReorgBeyondFinalityError, ReorgMismatchError } from './undo-reorg.ts'

const BTC = 'btc-usdc-perp'
const ETH = 'eth-usdc-perp'
const [P1, P2, P3] = [hashOf('position:1'), hashOf('position:2'), hashOf('position:3')]

const openAt = (id: string, at: At) =>
  positionOpened(BTC, at, { position_id: id, side: 'long', size: '2', collateral: '1000', entry_price: '100' })
const open = (id: string, block: number, branch = 'main', logIndex = 0) => openAt(id, { block, branch, logIndex })

// Blocks 1 and 2 are canonical; block 3 of branch "a" is orphaned; block 3 of branch "b" replaces it.
const listed = marketListed(BTC, { block: 1 })
const openedP1 = open(P1, 2)
const orphaned = [
  positionClosed(BTC, { block: 3, branch: 'a' }, { position_id: P1, exit_price: '120', realized_pnl: '40' }),
  open(P2, 3, 'a', 1),
  fundingUpdated(BTC, { block: 3, branch: 'a', logIndex: 2 }, { funding_rate: '0.001', cumulative_funding_index: '0.1' }),
]
const reorg = chainReorg(BTC, { block: 2 }, [{ block: 3, branch: 'a' }], { block: 3, branch: 'b' })
const canonical = [
  open(P3, 3, 'b'),
  positionLiquidated(BTC, { block: 3, branch: 'b', logIndex: 1 }, { position_id: P1, liquidation_price: '60', realized_pnl: '-1000' }),
]

function hashOfFold(records: readonly ProjectionRecord[], batchSize?: number, finalityDepth?: number): string {
  const fold = foldIntoMemory(finalityDepth)
  fold.fold(records, batchSize)
  return fold.hash()
}

describe('chain_reorg', () => {
  it('folding events, a reorg and the canonical events gives the state of the canonical events alone', () => {
    const withReorg = hashOfFold([listed, openedP1, ...orphaned, reorg, ...canonical])
    expect(withReorg).toBe(hashOfFold([listed, openedP1, ...canonical]))
  })

  it('restores every row the orphaned events wrote, as of the common ancestor', () => {
    const result = given(listed, openedP1, ...orphaned).when(reorg)
    expect(result.step.outcome).toBe('applied')
    expect(result.hashAfter).toBe(hashOfFold([listed, openedP1]))
    expect(result.rows('positions').map((p) => [p.position_id, p.status])).toEqual([[P1, 'open']])
    expect(result.rows('funding_history')).toEqual([])
    expect(result.rows('markets')[0]).toMatchObject({ long_open_interest: '200', cumulative_funding_index: '0' })
  })

  it('undoes the same whether the orphaned events were committed in earlier batches or not', () => {
    const records = [listed, openedP1, ...orphaned, reorg, ...canonical]
    expect(new Set([1, 2, 3, 100].map((batch) => hashOfFold(records, batch))).size).toBe(1)
  })

  it('folds a transaction of the orphaned branch again when the new branch mines it with the same id', () => {
    const orphanedOpen = orphaned[1]!
    const remined = openAt(P2, { block: 3, branch: 'b', logIndex: 1, txHash: orphanedOpen.chain.tx_hash })
    expect(remined.id).toBe(orphanedOpen.id)
    const result = given(listed, openedP1, ...orphaned, reorg).when(remined)
    expect(result.step.outcome).toBe('applied')
    expect(result.rows('positions').find((p) => p.position_id === P2)?.opened_block_hash).toBe(remined.chain.block_hash)
  })

  it('removes a market whose listing block is orphaned', () => {
    const dropListing = chainReorg(BTC, { block: 0 }, [{ block: 1 }, { block: 2 }], { block: 2, branch: 'b' })
    const result = given(listed, openedP1).when(dropListing)
    expect(result.rows('markets')).toEqual([])
    expect(result.rows('positions')).toEqual([])
  })

  it('undoes only its own market: the copy for another market leaves this one alone', () => {
    const ethListed = marketListed(ETH, { block: 3, branch: 'a', logIndex: 5 })
    const ethReorg = chainReorg(ETH, { block: 2 }, [{ block: 3, branch: 'a' }], { block: 3, branch: 'b' })
    const result = given(listed, openedP1, ...orphaned, ethListed).when(ethReorg)
    expect(result.rows('markets').map((m) => m.market_id)).toEqual([BTC])
    expect(result.rows('positions').map((p) => p.position_id).sort()).toEqual([P1, P2].sort())
  })

  it('changes nothing when redelivered after the new branch was folded', () => {
    const result = given(listed, openedP1, ...orphaned, reorg, ...canonical).when(reorg)
    expect(result.step).toMatchObject({ outcome: 'skipped', reason: 'nothing-to-undo' })
    expect(result.hashAfter).toBe(result.hashBefore)
  })

  it('leaves ticks alone: they have no chain position', () => {
    const tick = priceTick(BTC, 100, '101')
    const result = given(listed, openedP1, tick, ...orphaned).when(reorg)
    expect(result.rows('latest_ticks')).toMatchObject([{ price: '101' }])
  })

  it('refuses a reorg below the events already pruned as final', () => {
    const deep = [listed, openedP1, ...orphaned, ...[4, 5, 6, 7].map((block) => open(hashOf(`p${block}`), block, 'a'))]
    const fold = foldIntoMemory(2)
    fold.fold(deep)
    const tooDeep = chainReorg(BTC, { block: 2 }, [3, 4, 5, 6, 7].map((block) => ({ block, branch: 'a' })), { block: 8, branch: 'b' })
    expect(() => fold.fold([tooDeep])).toThrow(ReorgBeyondFinalityError)
  })

  it('undoes a reorg exactly as deep as the finality depth', () => {
    const blocks = [4, 5, 6, 7].map((block) => open(hashOf(`p${block}`), block))
    const fold = foldIntoMemory(2)
    fold.fold([listed, openedP1, ...blocks], 1)
    const deepest = chainReorg(BTC, { block: 5 }, [{ block: 6 }, { block: 7 }], { block: 7, branch: 'b' })
    expect(fold.fold([deepest])[0]!.outcome).toBe('applied')
    expect(fold.hash()).toBe(hashOfFold([listed, openedP1, ...blocks.slice(0, 2)]))
  })

  it('refuses a reorg whose orphaned events are followed by a folded event it does not orphan', () => {
    const later = open(hashOf('p4'), 4, 'a')
    const fold = foldIntoMemory()
    fold.fold([listed, openedP1, ...orphaned, later])
    expect(() => fold.fold([reorg])).toThrow(ReorgMismatchError)
  })

  it('on random histories, equals folding the canonical chain alone, ticks interleaved and in any batch size', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), fc.integer({ min: 1, max: 40 }), (historySeed, orderSeed, batchSize) => {
        const history = generateChainHistory(createRandom(historySeed), { blocks: 25, reorgChance: 0.25 })
        const order = createRandom(orderSeed)
        const live = interleave<ProjectionRecord>([...history.events, ...history.ticks], order)
        const canonicalOnly = interleave<ProjectionRecord>([...history.canonical, ...history.ticks], order)
        expect(hashOfFold(live, batchSize)).toBe(hashOfFold(canonicalOnly))
      }),
      { numRuns: 60 },
    )
  })

  it('the generated histories do reorganise, and orphan events', () => {
    const history = generateChainHistory(createRandom(7), { blocks: 40, reorgChance: 0.3 })
    const reorgs = history.events.flat().filter((r) => r.type === 'chain_reorg')
    const events = history.events.flat().filter((r): r is ChainEventRecord => r.type !== 'chain_reorg')
    expect(reorgs.length).toBeGreaterThan(0)
    expect(events.length).toBeGreaterThan(history.canonical.flat().length)
  })
})
