// A chain reorganisation as a record of its own on perp.events.v1: nothing already on the log is
// rewritten; consumers undo what they folded from the orphaned blocks. One copy is written per
// affected market key, so every partition's consumers meet it in order with that market's events.
import { z } from 'zod'
import { reorgId } from './record-ids.ts'
import { blockRef, crossFieldCheck, hash32, marketId, recordVersion, uint } from './record-fields.ts'

const reorgIdPattern = /^(0|[1-9]\d*):reorg:0x[0-9a-f]{64}:0x[0-9a-f]{64}:[a-z0-9]+(?:-[a-z0-9]+)*$/

export const chainReorgRecord = z
  .strictObject({
    v: recordVersion,
    id: z
      .string()
      .regex(reorgIdPattern, {
        error: 'expected "<chain_id>:reorg:<common_ancestor_hash>:<first_orphaned_block_hash>:<market_id>"',
      })
      .meta({
        description: 'Deterministic id: "<chain_id>:reorg:<common_ancestor_hash>:<first_orphaned_block_hash>:<market_id>".',
      }),
    type: z.literal('chain_reorg'),
    market_id: marketId,
    chain: z
      .strictObject({ chain_id: uint, block_number: uint, block_hash: hash32 })
      .meta({ description: 'The common ancestor: the last block both branches share.' }),
    data: z.strictObject({
      common_ancestor: blockRef,
      orphaned_blocks: z
        .array(blockRef)
        .min(1)
        .meta({
          description:
            'The blocks above the common ancestor that left the canonical chain, ascending. Undo every record folded from them.',
        }),
      new_head: blockRef.meta({ description: 'The head of the canonical chain when the reorg was detected.' }),
    }),
  })
  .refine(
    (record) =>
      record.chain.block_number === record.data.common_ancestor.block_number &&
      record.chain.block_hash === record.data.common_ancestor.block_hash,
    crossFieldCheck(['chain'], 'chain must be the position of data.common_ancestor'),
  )
  .refine(
    (record) =>
      record.data.orphaned_blocks.every(
        (block, index, blocks) => block.block_number > (blocks[index - 1] ?? record.data.common_ancestor).block_number,
      ),
    crossFieldCheck(['data', 'orphaned_blocks'], 'orphaned_blocks must ascend strictly from above the common ancestor'),
  )
  .refine(
    (record) => record.data.new_head.block_number >= record.data.common_ancestor.block_number,
    crossFieldCheck(['data', 'new_head'], 'new_head must not be below the common ancestor'),
  )
  .refine(
    (record) =>
      record.id ===
      reorgId(
        record.chain.chain_id,
        record.data.common_ancestor.block_hash,
        record.data.orphaned_blocks[0]?.block_hash ?? '',
        record.market_id,
      ),
    crossFieldCheck(
      ['id'],
      'id must be "<chain_id>:reorg:<common_ancestor_hash>:<first_orphaned_block_hash>:<market_id>" of the record',
    ),
  )
  .meta({
    title: 'chain_reorg',
    description:
      'The chain reorganised: every record from a block in data.orphaned_blocks is no longer canonical. Records of the new branch follow this one.',
  })

export type ChainReorgRecord = z.infer<typeof chainReorgRecord>
