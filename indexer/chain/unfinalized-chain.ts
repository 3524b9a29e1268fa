// The blocks the live tail has written and that may still leave the canonical chain, linked by
// parent hash. Pure bookkeeping: the caller fetches blocks; this decides whether a block extends
// the tip, is already written, or reveals a reorg, and where that reorg forked.
//
// The window holds the tip and the finalityDepth blocks below it. A reorg may orphan at most
// finalityDepth written blocks, so its common ancestor is always inside the window; a walk-back
// that finds the oldest held block orphaned is a reorg deeper than the finality depth.
import type { Hex } from 'viem'
import type { BlockRef } from './chain-types.ts'
import type { ResumePoint } from './event-sink.ts'

export type LinkResult =
  /** The block is the next one: its parent is the tip (or nothing is held yet). */
  | { readonly kind: 'extends' }
  /** The block is held already, same number and hash. */
  | { readonly kind: 'known' }
  /** Below the window: written and final, nothing to compare it with. */
  | { readonly kind: 'final' }
  /** Blocks between the tip and this one are missing: link them first, by number, in order. */
  | { readonly kind: 'gap'; readonly from: number; readonly to: number }
  /** The block is not on the held chain: walk back from it to the common ancestor. */
  | { readonly kind: 'conflict' }

export interface ChainFork {
  /** The newest held block that is still canonical. */
  readonly commonAncestor: BlockRef
  /** The held blocks above the common ancestor, ascending; empty when the branch just extends the tip. */
  readonly orphaned: readonly BlockRef[]
  /** The canonical blocks above the common ancestor, ascending, as far as the walk fetched them. */
  readonly branch: readonly BlockRef[]
}

export type WalkStep =
  /** Fetch the block with this hash (the parent of the branch's lowest block) and prepend it. */
  | { readonly kind: 'fetch-parent'; readonly hash: Hex; readonly number: number }
  | { readonly kind: 'found'; readonly fork: ChainFork }

export interface UnfinalizedChainOptions {
  /** How many written blocks a reorg may orphan; the window holds this many below the tip. */
  readonly finalityDepth: number
  readonly resume: ResumePoint
}

export interface UnfinalizedChain {
  readonly tip: BlockRef | undefined
  /** The number of the next block to write. */
  readonly nextNumber: number
  /** The held blocks, ascending. */
  blocks(): readonly BlockRef[]
  link(block: BlockRef): LinkResult
  /**
   * One step of the walk from a canonical branch (ascending, linked by parent hash, its top being the
   * block that conflicted) down to the newest held block it descends from. Throws
   * FinalityViolationError once the oldest held block turns out orphaned.
   */
  walkBack(branch: readonly BlockRef[]): WalkStep
  /** Adds the block that link() said extends the tip, and prunes what fell out of the window. */
  append(block: BlockRef): void
  /** Drops the held blocks above the common ancestor (a held block) and returns them, ascending. */
  rewind(commonAncestor: BlockRef): BlockRef[]
}

export interface FinalityViolation {
  readonly finalityDepth: number
  /** The least number of written blocks the reorg orphans. */
  readonly depth: number
  /** The newest written block when the reorg was found. */
  readonly tip: BlockRef
  /** The oldest held block, written, and no longer canonical. */
  readonly orphaned: BlockRef
  /** The canonical block's hash at that height. */
  readonly canonicalHash: Hex
}

/** A reorg orphans written blocks that the finality depth promised would stay: the log cannot follow. */
export class FinalityViolationError extends Error {
  override readonly name = 'FinalityViolationError'
  constructor(readonly violation: FinalityViolation) {
    const { finalityDepth, depth, tip, orphaned, canonicalHash } = violation
    super(
      `reorg deeper than the finality depth ${finalityDepth}: at least ${depth} written blocks orphaned ` +
        `(written block #${orphaned.number} ${orphaned.hash} is now ${canonicalHash}; ` +
        `written tip #${tip.number} ${tip.hash})`,
    )
  }
}

/** The resume point's blocks do not form a chain ending just below its next block. */
export class InvalidResumePointError extends Error {
  override readonly name = 'InvalidResumePointError'
}

/** A branch handed to walkBack is empty or not linked by parent hash. */
export class InvalidBranchError extends Error {
  override readonly name = 'InvalidBranchError'
}

export function createUnfinalizedChain(options: UnfinalizedChainOptions): UnfinalizedChain {
  const { finalityDepth, resume } = options
  if (!Number.isSafeInteger(finalityDepth) || finalityDepth < 0) {
    throw new RangeError(`finality depth must be a non-negative integer, got ${finalityDepth}`)
  }
  assertResumePoint(resume)
  // Ascending and consecutive: held[i].number === held[0].number + i.
  let held: BlockRef[] = [...resume.unfinalized]
  let nextNumber = resume.nextBlock

  const tip = (): BlockRef | undefined => held.at(-1)
  const at = (number: number): BlockRef | undefined => {
    const first = held[0]
    return first === undefined ? undefined : held[number - first.number]
  }
  const prune = (): void => {
    const excess = held.length - (finalityDepth + 1)
    if (excess > 0) held = held.slice(excess)
  }
  prune()

  function link(block: BlockRef): LinkResult {
    if (block.number > nextNumber) return { kind: 'gap', from: nextNumber, to: block.number - 1 }
    const top = tip()
    if (block.number === nextNumber) {
      return top === undefined || block.parentHash === top.hash ? { kind: 'extends' } : { kind: 'conflict' }
    }
    const mine = at(block.number)
    if (mine === undefined) return { kind: 'final' }
    return mine.hash === block.hash ? { kind: 'known' } : { kind: 'conflict' }
  }

  function walkBack(branch: readonly BlockRef[]): WalkStep {
    assertBranch(branch)
    const low = branch[0]!
    const top = tip()
    if (top === undefined) throw new InvalidBranchError('no written block is held to walk back to')
    const sameHeight = at(low.number)
    if (sameHeight !== undefined && sameHeight.hash === low.hash) {
      return found(sameHeight, branch.slice(1))
    }
    const parent = at(low.number - 1)
    if (parent !== undefined && parent.hash === low.parentHash) return found(parent, branch)
    const oldest = held[0]!
    if (low.number - 1 > oldest.number) return { kind: 'fetch-parent', hash: low.parentHash, number: low.number - 1 }
    const canonicalHash = low.number === oldest.number ? low.hash : low.parentHash
    const depth = top.number - oldest.number + 1
    throw new FinalityViolationError({ finalityDepth, depth, tip: top, orphaned: oldest, canonicalHash })
  }

  function found(commonAncestor: BlockRef, branch: readonly BlockRef[]): WalkStep {
    const orphaned = held.filter((block) => block.number > commonAncestor.number)
    return { kind: 'found', fork: { commonAncestor, orphaned, branch } }
  }

  function append(block: BlockRef): void {
    const result = link(block)
    if (result.kind !== 'extends') {
      throw new InvalidBranchError(`block #${block.number} ${block.hash} does not extend the tip (${result.kind})`)
    }
    held.push(block)
    nextNumber = block.number + 1
    prune()
  }

  function rewind(commonAncestor: BlockRef): BlockRef[] {
    const mine = at(commonAncestor.number)
    if (mine === undefined || mine.hash !== commonAncestor.hash) {
      throw new InvalidBranchError(`block #${commonAncestor.number} ${commonAncestor.hash} is not held`)
    }
    const keep = commonAncestor.number - held[0]!.number + 1
    const orphaned = held.slice(keep)
    held = held.slice(0, keep)
    nextNumber = commonAncestor.number + 1
    return orphaned
  }

  return {
    get tip() {
      return tip()
    },
    get nextNumber() {
      return nextNumber
    },
    blocks: () => held,
    link,
    walkBack,
    append,
    rewind,
  }
}

function assertResumePoint(resume: ResumePoint): void {
  if (!Number.isSafeInteger(resume.nextBlock) || resume.nextBlock < 0) {
    throw new InvalidResumePointError(`next block must be a non-negative integer, got ${resume.nextBlock}`)
  }
  const blocks = resume.unfinalized
  blocks.forEach((block, i) => {
    const below = blocks[i - 1]
    if (below !== undefined && (block.number !== below.number + 1 || block.parentHash !== below.hash)) {
      throw new InvalidResumePointError(
        `unfinalized block #${block.number} ${block.hash} does not link to #${below.number} ${below.hash}`,
      )
    }
  })
  const last = blocks.at(-1)
  if (last !== undefined && last.number !== resume.nextBlock - 1) {
    throw new InvalidResumePointError(
      `the newest unfinalized block is #${last.number} but the next block to write is #${resume.nextBlock}`,
    )
  }
}

function assertBranch(branch: readonly BlockRef[]): void {
  if (branch.length === 0) throw new InvalidBranchError('the branch to walk back from is empty')
  branch.forEach((block, i) => {
    const below = branch[i - 1]
    if (below !== undefined && (block.number !== below.number + 1 || block.parentHash !== below.hash)) {
      throw new InvalidBranchError(`branch block #${block.number} ${block.hash} does not link to #${below.number}`)
    }
  })
}
