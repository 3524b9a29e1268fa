import fc from 'fast-check'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import type { BlockRef } from './chain-types.ts'
import {
  FinalityViolationError,
  InvalidBranchError,
  InvalidResumePointError,
  createUnfinalizedChain,
  type ChainFork,
  type UnfinalizedChain,
} from './unfinalized-chain.ts'

/** A 32-byte hash naming a block by height and fork, so a sibling at the same height differs. */
function hashOf(number: number, fork: number): Hex {
  return `0x${fork.toString(16).padStart(8, '0')}${number.toString(16).padStart(56, '0')}`
}

const genesisParent = hashOf(0, 0xffff)

/** Blocks from `from` to `to` on fork `fork`, linked by parent hash onto `parent`. */
function blocksOn(fork: number, from: number, to: number, parent: Hex = from === 0 ? genesisParent : hashOf(from - 1, 0)) {
  const blocks: BlockRef[] = []
  let parentHash = parent
  for (let number = from; number <= to; number++) {
    const block = { number, hash: hashOf(number, fork), parentHash, timestamp: 1_700_000_000 + number }
    blocks.push(block)
    parentHash = block.hash
  }
  return blocks
}

/** Follows the walk to its end, fetching parents from the canonical blocks as an RPC would. */
function walkFrom(chain: UnfinalizedChain, start: BlockRef, canonical: readonly BlockRef[]): ChainFork {
  const byHash = new Map(canonical.map((block) => [block.hash, block]))
  const branch = [start]
  for (;;) {
    const step = chain.walkBack(branch)
    if (step.kind === 'found') return step.fork
    const parent = byHash.get(step.hash)
    if (parent === undefined) throw new Error(`the canonical chain has no block ${step.hash}`)
    expect(parent.number).toBe(step.number)
    branch.unshift(parent)
  }
}

/** A chain that wrote blocks 0..tip of fork 0 one by one. */
function writtenChain(tip: number, finalityDepth: number): UnfinalizedChain {
  const chain = createUnfinalizedChain({ finalityDepth, resume: { nextBlock: 0, unfinalized: [] } })
  for (const block of blocksOn(0, 0, tip)) chain.append(block)
  return chain
}

describe('createUnfinalizedChain', () => {
  it('grows linearly, holding the tip and finalityDepth blocks below it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 40 }), (finalityDepth, tip) => {
        const chain = createUnfinalizedChain({ finalityDepth, resume: { nextBlock: 0, unfinalized: [] } })
        const blocks = blocksOn(0, 0, tip)
        for (const block of blocks) {
          expect(chain.link(block)).toEqual({ kind: 'extends' })
          chain.append(block)
        }
        expect(chain.tip).toEqual(blocks.at(-1))
        expect(chain.nextNumber).toBe(tip + 1)
        expect(chain.blocks()).toEqual(blocks.slice(Math.max(0, tip - finalityDepth)))
        for (const block of chain.blocks()) expect(chain.link(block)).toEqual({ kind: 'known' })
        for (const block of blocks.slice(0, Math.max(0, tip - finalityDepth))) {
          expect(chain.link(block)).toEqual({ kind: 'final' })
        }
      }),
    )
  })

  it('finds a one-block reorg at the tip: the sibling conflicts and its parent is the common ancestor', () => {
    const chain = writtenChain(10, 5)
    const sibling = blocksOn(1, 10, 10)[0]!
    expect(chain.link(sibling)).toEqual({ kind: 'conflict' })
    const fork = walkFrom(chain, sibling, [...blocksOn(0, 0, 9), sibling])
    expect(fork.commonAncestor.hash).toBe(hashOf(9, 0))
    expect(fork.orphaned).toEqual(blocksOn(0, 10, 10))
    expect(fork.branch).toEqual([sibling])
    expect(chain.rewind(fork.commonAncestor)).toEqual(fork.orphaned)
    chain.append(sibling)
    expect(chain.tip).toEqual(sibling)
  })

  it('finds a one-block reorg revealed by the next block, fetching the sibling by its hash', () => {
    const chain = writtenChain(10, 5)
    const [sibling, next] = blocksOn(1, 10, 11)
    expect(chain.link(next!)).toEqual({ kind: 'conflict' })
    const step = chain.walkBack([next!])
    expect(step).toEqual({ kind: 'fetch-parent', hash: sibling!.hash, number: 10 })
    const fork = walkFrom(chain, next!, [...blocksOn(0, 0, 9), sibling!, next!])
    expect(fork.orphaned.map((b) => b.hash)).toEqual([hashOf(10, 0)])
    expect(fork.branch).toEqual([sibling, next])
  })

  it('walks a reorg of any depth up to the finality depth back to the block it forked from', () => {
    const cases = fc
      .record({ finalityDepth: fc.integer({ min: 1, max: 16 }), extra: fc.integer({ min: 0, max: 20 }) })
      .chain(({ finalityDepth, extra }) =>
        fc.record({
          finalityDepth: fc.constant(finalityDepth),
          tip: fc.constant(finalityDepth + extra),
          depth: fc.integer({ min: 1, max: finalityDepth }),
          branchLength: fc.integer({ min: 1, max: 20 }),
        }),
      )
    fc.assert(
      fc.property(cases, ({ finalityDepth, tip, depth, branchLength }) => {
        const chain = writtenChain(tip, finalityDepth)
        const ancestor = blocksOn(0, 0, tip)[tip - depth]!
        const branch = blocksOn(7, ancestor.number + 1, ancestor.number + branchLength, ancestor.hash)
        const canonical = [...blocksOn(0, 0, ancestor.number), ...branch]
        const revealing = branch.at(-1)!
        expect(chain.link(revealing).kind).toBe(revealing.number > tip + 1 ? 'gap' : 'conflict')
        const fork = walkFrom(chain, revealing, canonical)
        expect(fork.commonAncestor).toEqual(ancestor)
        expect(fork.orphaned).toEqual(blocksOn(0, ancestor.number + 1, tip))
        expect(fork.branch).toEqual(branch)
        chain.rewind(fork.commonAncestor)
        for (const block of fork.branch) chain.append(block)
        // The window never reaches below where it was before the reorg: those blocks were final.
        const newTip = canonical.length - 1
        expect(chain.blocks()).toEqual(canonical.slice(Math.max(0, tip - finalityDepth, newTip - finalityDepth)))
      }),
    )
  })

  it('detects a reorg that happened while the indexer was down, from the resume point blocks', () => {
    const written = blocksOn(0, 95, 99, hashOf(94, 0))
    const chain = createUnfinalizedChain({ finalityDepth: 10, resume: { nextBlock: 100, unfinalized: written } })
    const [sibling98, sibling99, next] = blocksOn(3, 98, 100, hashOf(97, 0))
    expect(chain.link(next!)).toEqual({ kind: 'conflict' })
    const fork = walkFrom(chain, next!, [...written.slice(0, 3), sibling98!, sibling99!, next!])
    expect(fork.commonAncestor).toEqual(written[2])
    expect(fork.orphaned).toEqual(written.slice(3))
    expect(fork.branch).toEqual([sibling98, sibling99, next])
  })

  it('links the first block after a resume point without unfinalized blocks to nothing', () => {
    const chain = createUnfinalizedChain({ finalityDepth: 3, resume: { nextBlock: 50, unfinalized: [] } })
    const block = blocksOn(4, 50, 50, hashOf(49, 9))[0]!
    expect(chain.link(block)).toEqual({ kind: 'extends' })
    expect(chain.link({ ...block, number: 49 })).toEqual({ kind: 'final' })
    chain.append(block)
    expect(chain.nextNumber).toBe(51)
  })

  it('throws FinalityViolationError naming depth, block numbers and hashes once a reorg orphans more than the finality depth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 1, max: 10 }), (finalityDepth, beyond) => {
        const tip = finalityDepth + beyond + 5
        const chain = writtenChain(tip, finalityDepth)
        const ancestorNumber = tip - finalityDepth - beyond
        const branch = blocksOn(2, ancestorNumber + 1, tip + 1, hashOf(ancestorNumber, 0))
        const canonical = [...blocksOn(0, 0, ancestorNumber), ...branch]
        let error: unknown
        try {
          walkFrom(chain, branch.at(-1)!, canonical)
        } catch (caught) {
          error = caught
        }
        expect(error).toBeInstanceOf(FinalityViolationError)
        const violation = (error as FinalityViolationError).violation
        const oldest = tip - finalityDepth
        expect(violation).toEqual({
          finalityDepth,
          depth: finalityDepth + 1,
          tip: chain.tip,
          orphaned: blocksOn(0, oldest, oldest)[0],
          canonicalHash: hashOf(oldest, 2),
        })
        const message = (error as Error).message
        for (const part of [`finality depth ${finalityDepth}`, `#${oldest}`, hashOf(oldest, 0), hashOf(oldest, 2), `#${tip}`]) {
          expect(message).toContain(part)
        }
      }),
    )
  })

  it('reports a gap for a head several blocks ahead; the missing blocks fetched by number then link in order', () => {
    const chain = writtenChain(20, 6)
    const ahead = blocksOn(0, 21, 25, hashOf(20, 0))
    expect(chain.link(ahead[4]!)).toEqual({ kind: 'gap', from: 21, to: 24 })
    for (const block of ahead) {
      expect(chain.link(block)).toEqual({ kind: 'extends' })
      chain.append(block)
    }
    expect(chain.tip).toEqual(ahead[4])
  })

  it('finds a reorg under a gap: the first missing block fetched by number conflicts with the tip', () => {
    const chain = writtenChain(20, 6)
    const branch = blocksOn(5, 19, 24, hashOf(18, 0))
    expect(chain.link(branch.at(-1)!)).toEqual({ kind: 'gap', from: 21, to: 23 })
    const missing = branch.find((block) => block.number === 21)!
    expect(chain.link(missing)).toEqual({ kind: 'conflict' })
    const fork = walkFrom(chain, missing, [...blocksOn(0, 0, 18), ...branch])
    expect(fork.commonAncestor.number).toBe(18)
    expect(fork.orphaned.map((b) => b.number)).toEqual([19, 20])
    expect(fork.branch.map((b) => b.number)).toEqual([19, 20, 21])
  })

  it('finds a reorg to a shorter chain: a new head below the tip conflicts with the held block at its height', () => {
    const chain = writtenChain(30, 8)
    const head = blocksOn(1, 27, 27, hashOf(26, 0))[0]!
    expect(chain.link(head)).toEqual({ kind: 'conflict' })
    const fork = walkFrom(chain, head, [...blocksOn(0, 0, 26), head])
    expect(fork.commonAncestor.number).toBe(26)
    expect(fork.orphaned.map((b) => b.number)).toEqual([27, 28, 29, 30])
  })

  it('refuses to append a block that does not extend the tip, and to rewind to a block it does not hold', () => {
    const chain = writtenChain(5, 2)
    expect(() => chain.append(blocksOn(1, 6, 6, hashOf(5, 1))[0]!)).toThrow(InvalidBranchError)
    expect(() => chain.rewind(blocksOn(1, 4, 4)[0]!)).toThrow(InvalidBranchError)
    expect(() => chain.walkBack([])).toThrow(InvalidBranchError)
  })

  it('rejects a resume point whose blocks do not link or do not end below its next block', () => {
    const blocks = blocksOn(0, 10, 12, hashOf(9, 0))
    const resume = (nextBlock: number, unfinalized: readonly BlockRef[]) => () =>
      createUnfinalizedChain({ finalityDepth: 4, resume: { nextBlock, unfinalized } })
    expect(resume(14, blocks)).toThrow(InvalidResumePointError)
    expect(resume(13, [blocks[0]!, blocks[2]!])).toThrow(InvalidResumePointError)
    expect(resume(13, blocks)).not.toThrow()
  })
})
