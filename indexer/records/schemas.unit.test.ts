import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  chainEventRecord,
  chainReorgRecord,
  eventsTopicRecord,
  positionOpenedRecord,
  recordSchemaVersion,
  tickRecord,
} from './schemas.ts'

type Json = Record<string, unknown>

// The examples analytics consumers read in docs/schemas/README.md are the fixtures: each must be a
// valid record, and each broken variant must fail naming the broken field.
const readme = readFileSync(new URL('../../docs/schemas/README.md', import.meta.url), 'utf8')
const examples = new Map(
  [...readme.matchAll(/```json\n([\s\S]*?)\n```/g)].map(([, text]) => {
    const record = JSON.parse(text!) as Json
    return [record.type as string, record] as const
  }),
)

function example(type: string): Json {
  const record = examples.get(type)
  if (record === undefined) throw new Error(`docs/schemas/README.md has no ${type} example`)
  return structuredClone(record)
}

/** The example with one field replaced (or removed, for undefined), by a path like "data.size". */
function withField(type: string, path: string, value: unknown): Json {
  const record = example(type)
  const keys = path.split('.')
  const last = keys.pop()!
  const parent = keys.reduce<Json>((node, key) => node[key] as Json, record)
  if (value === undefined) delete parent[last]
  else parent[last] = value
  return record
}

function issuePaths(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value)
  expect(result.success, 'the record should have been rejected').toBe(false)
  return (result.error?.issues ?? []).map((issue) => issue.path.join('.'))
}

const chainEventTypes = ['market_listed', 'position_opened', 'position_closed', 'position_liquidated', 'funding_updated']

describe('record schemas', () => {
  it('documents one example per record type', () => {
    expect([...examples.keys()].sort()).toEqual([...chainEventTypes, 'chain_reorg', 'price_tick'].sort())
  })

  it.each(chainEventTypes)('accepts the documented %s example as a chain event and an events-topic record', (type) => {
    expect(chainEventRecord.parse(example(type))).toEqual(example(type))
    expect(eventsTopicRecord.parse(example(type))).toEqual(example(type))
  })

  it('accepts the documented chain_reorg example on the events topic but not as a chain event', () => {
    expect(eventsTopicRecord.parse(example('chain_reorg'))).toEqual(example('chain_reorg'))
    expect(chainEventRecord.safeParse(example('chain_reorg')).success).toBe(false)
  })

  it('accepts the documented price_tick example', () => {
    expect(tickRecord.parse(example('price_tick'))).toEqual(example('price_tick'))
  })

  it('stamps every record with the schema version', () => {
    expect(recordSchemaVersion).toBe(1)
    for (const record of examples.values()) expect(record.v).toBe(recordSchemaVersion)
  })

  it('types the parsed records', () => {
    const opened = positionOpenedRecord.parse(example('position_opened'))
    const side: 'long' | 'short' = opened.data.side
    expect(side).toBe('long')
    expect(opened.chain.block_number).toBe(101)
  })
})

describe('record schemas reject a bad field by name', () => {
  it.each([
    ['non-canonical decimal', 'data.size', '1.50'],
    ['exponent', 'data.size', '1e5'],
    ['leading whitespace', 'data.collateral', ' 1'],
    ['explicit plus sign', 'data.collateral', '+1'],
    ['negative zero', 'data.entry_funding_index', '-0'],
    ['negative unsigned amount', 'data.size', '-1.5'],
    ['number instead of string', 'data.size', 1.5],
    ['bad side', 'data.side', 'sideways'],
    ['uppercase hash', 'chain.block_hash', '0xC2EB276150ACEE68B12DA8387BFDC0A857950E31D3857489AE201B8D9FA40936'],
    ['short hash', 'data.position_id', '0x1234'],
    ['checksummed address', 'data.trader', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'],
    ['address without 0x', 'chain.contract', '5fbdb2315678afecb367f032d93f642f64180aa3'],
    ['string block number', 'chain.block_number', '101'],
    ['fractional log index', 'chain.log_index', 0.5],
    ['negative chain id', 'chain.chain_id', -1],
    ['missing trader', 'data.trader', undefined],
    ['missing chain position', 'chain', undefined],
    ['market id that is not a slug', 'market_id', 'BTC/USDC'],
  ])('position_opened with a %s fails at %s', (_name, path, value) => {
    expect(issuePaths(eventsTopicRecord, withField('position_opened', path, value))).toEqual([path])
  })

  it('names the version field when v is not 1', () => {
    expect(issuePaths(eventsTopicRecord, withField('position_closed', 'v', 2))).toEqual(['v'])
    expect(issuePaths(tickRecord, withField('price_tick', 'v', '1'))).toEqual(['v'])
  })

  it('names the type field when the type is unknown', () => {
    expect(issuePaths(eventsTopicRecord, withField('position_closed', 'type', 'position_resized'))).toEqual(['type'])
    expect(issuePaths(chainEventRecord, withField('position_closed', 'type', undefined))).toEqual(['type'])
  })

  it('rejects fields the schema does not know', () => {
    const result = eventsTopicRecord.safeParse(withField('funding_updated', 'data.next_rate', '0.1'))
    expect(result.error?.issues).toMatchObject([{ code: 'unrecognized_keys', keys: ['next_rate'], path: ['data'] }])
  })

  it('rejects a chain event whose id is not its chain position', () => {
    const id = '31337:0x5194ead3df889a15f3d33e47bcc128114dbb9dcd1147f2de8a8ffba6a815f248:7'
    expect(issuePaths(eventsTopicRecord, withField('market_listed', 'id', id))).toEqual(['id'])
    expect(issuePaths(eventsTopicRecord, withField('market_listed', 'id', 'market-listed-1'))).toEqual(['id'])
  })

  it('rejects a funding timestamp that is not an integer', () => {
    expect(issuePaths(eventsTopicRecord, withField('funding_updated', 'data.timestamp', '1732615224'))).toEqual([
      'data.timestamp',
    ])
  })
})

describe('chain_reorg records', () => {
  const orphaned = (blocks: Array<[number, string]>) => blocks.map(([number, hash]) => ({ block_number: number, block_hash: hash }))
  const ancestorHash = '0xc2eb276150acee68b12da8387bfdc0a857950e31d3857489ae201b8d9fa40936'
  const firstOrphan = '0x95eead294b8060a440bda9c8057ca05d4fb6ff244a8609ac48073a7d01f0aad1'
  const otherHash = '0x3d3601cb3c2ff9b3f061e9866b01e009e0fbed36c544da98c697c196c1e9dfca'

  it('needs at least one orphaned block', () => {
    expect(issuePaths(chainReorgRecord, withField('chain_reorg', 'data.orphaned_blocks', []))).toEqual([
      'data.orphaned_blocks',
    ])
  })

  it('needs the orphaned blocks ascending above the common ancestor', () => {
    const descending = orphaned([[102, firstOrphan], [101, otherHash]])
    const atAncestor = orphaned([[100, firstOrphan]])
    expect(issuePaths(chainReorgRecord, withField('chain_reorg', 'data.orphaned_blocks', descending))).toEqual([
      'data.orphaned_blocks',
    ])
    expect(issuePaths(chainReorgRecord, withField('chain_reorg', 'data.orphaned_blocks', atAncestor))).toEqual([
      'data.orphaned_blocks',
    ])
  })

  it('places the record at the common ancestor', () => {
    expect(issuePaths(chainReorgRecord, withField('chain_reorg', 'chain.block_number', 101))).toEqual(['chain'])
    expect(issuePaths(chainReorgRecord, withField('chain_reorg', 'chain.block_hash', otherHash))).toEqual(['chain'])
  })

  it('rejects a new head below the common ancestor', () => {
    const head = { block_number: 99, block_hash: otherHash }
    expect(issuePaths(chainReorgRecord, withField('chain_reorg', 'data.new_head', head))).toEqual(['data.new_head'])
  })

  it('builds its id from the ancestor, the first orphaned block and the market', () => {
    const otherMarket = withField('chain_reorg', 'market_id', 'eth-usdc-perp')
    expect(issuePaths(chainReorgRecord, otherMarket)).toEqual(['id'])
    otherMarket.id = `31337:reorg:${ancestorHash}:${firstOrphan}:eth-usdc-perp`
    expect(chainReorgRecord.safeParse(otherMarket).success).toBe(true)
  })

  it('carries no transaction position', () => {
    expect(issuePaths(chainReorgRecord, withField('chain_reorg', 'chain.tx_hash', otherHash))).toEqual(['chain'])
  })
})

describe('price_tick records', () => {
  it('rejects a price that is not exactly price_raw · 10^expo', () => {
    expect(issuePaths(tickRecord, withField('price_tick', 'data.price', '50000.6'))).toEqual(['data.price'])
    expect(issuePaths(tickRecord, withField('price_tick', 'data.expo', -7))).toEqual(['data.price'])
  })

  it('rejects a confidence that is not exactly conf_raw · 10^expo', () => {
    expect(issuePaths(tickRecord, withField('price_tick', 'data.confidence', '25.5'))).toEqual(['data.confidence'])
  })

  it('rejects raw values that are not integer strings', () => {
    expect(issuePaths(tickRecord, withField('price_tick', 'data.price_raw', '5000050000000.0'))).toEqual(['data.price_raw'])
    expect(issuePaths(tickRecord, withField('price_tick', 'data.price_raw', 5000050000000))).toEqual(['data.price_raw'])
    expect(issuePaths(tickRecord, withField('price_tick', 'data.conf_raw', '-1'))).toEqual(['data.conf_raw'])
  })

  it('rejects exponents outside the exact conversion range', () => {
    expect(issuePaths(tickRecord, withField('price_tick', 'data.expo', -19))).toEqual(['data.expo'])
  })

  it('accepts a negative Pyth price', () => {
    const record = withField('price_tick', 'data.price_raw', '-5000050000000')
    ;(record.data as Json).price = '-50000.5'
    expect(tickRecord.safeParse(record).success).toBe(true)
  })

  it('builds its id from the feed id and publish time', () => {
    expect(issuePaths(tickRecord, withField('price_tick', 'data.publish_time', 1732615225))).toEqual(['id'])
  })

  it('has no chain position', () => {
    const chain = { chain_id: 31337, block_number: 1, block_hash: `0x${'0'.repeat(64)}` }
    expect(tickRecord.safeParse({ ...example('price_tick'), chain }).error?.issues).toMatchObject([
      { code: 'unrecognized_keys', keys: ['chain'] },
    ])
  })
})
