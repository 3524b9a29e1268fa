import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatDecimal } from '../records/decimal.ts'
import { eventsTopicRecord, type EventsTopicRecord } from '../records/schemas.ts'
import { eventsRecordCodec } from './events-record-codec.ts'

type Json = Record<string, unknown>

// The documented examples of docs/schemas/README.md, one per record type, are the fixtures.
const readme = readFileSync(new URL('../../docs/schemas/README.md', import.meta.url), 'utf8')
const examples = new Map(
  [...readme.matchAll(/```json\n([\s\S]*?)\n```/g)].map(([, text]) => {
    const record = JSON.parse(text!) as Json
    return [record['type'] as string, record] as const
  }),
)
const chainEventTypes = ['market_listed', 'position_opened', 'position_closed', 'position_liquidated', 'funding_updated']

function example(type: string): Json {
  const record = examples.get(type)
  if (record === undefined) throw new Error(`docs/schemas/README.md has no ${type} example`)
  return structuredClone(record)
}

/** Every leaf path of a record, e.g. "chain.block_hash". */
function leafPaths(node: Json, prefix = ''): string[] {
  return Object.entries(node).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) ? leafPaths(value as Json, `${prefix}${key}.`) : [`${prefix}${key}`],
  )
}

function withField(record: Json, path: string, value: unknown): Json {
  const copy = structuredClone(record)
  const keys = path.split('.')
  const last = keys.pop()!
  const parent = keys.reduce<Json>((node, key) => node[key] as Json, copy)
  if (value === undefined) delete parent[last]
  else parent[last] = value
  return copy
}

const codecAccepts = (record: unknown): boolean => eventsRecordCodec.check(record as EventsTopicRecord) === undefined
const schemaAccepts = (record: unknown): boolean => eventsTopicRecord.safeParse(record).success
const schemaJson = (record: unknown): string => JSON.stringify(eventsTopicRecord.parse(record))

// Values each field is tried with: wrong types, near misses of every pattern, and valid values of
// other fields (a hash where an address belongs, a decimal where a hash belongs).
const REPLACEMENTS: readonly unknown[] = [
  undefined, null, true, 0, 1, -1, 1.5, 2 ** 53, Number.NaN, '', 'x', '"', '\\', '7', '-7', '1.5', '-0', '01', '1.0', '1.', '.5',
  '1e5', ' 1', 'long', 'short', 'up', 'btc-usdc-perp', 'BTC-usdc', 'btc--usdc', `0x${'a'.repeat(40)}`, `0x${'A'.repeat(40)}`,
  `0x${'a'.repeat(39)}`, `0x${'b'.repeat(64)}`, `0x${'B'.repeat(64)}`, `0x${'b'.repeat(63)}g`, `0X${'b'.repeat(64)}`, {}, [],
]

describe('eventsRecordCodec', () => {
  it.each(chainEventTypes)('accepts the documented %s example and writes it as JSON.stringify of the schema output', (type) => {
    const record = example(type)
    expect(eventsRecordCodec.check(record as EventsTopicRecord)).toBeUndefined()
    expect(eventsRecordCodec.stringify(record as EventsTopicRecord)).toBe(schemaJson(record))
  })

  it.each(chainEventTypes)('agrees with the zod schema on every one-field change of the %s example', (type) => {
    const record = example(type)
    for (const path of leafPaths(record)) {
      for (const value of REPLACEMENTS) {
        const changed = withField(record, path, value)
        const verdict = { path, value, accepted: codecAccepts(changed) }
        expect(verdict).toEqual({ path, value, accepted: schemaAccepts(changed) })
        if (verdict.accepted) expect(eventsRecordCodec.stringify(changed as EventsTopicRecord)).toBe(schemaJson(changed))
      }
    }
  })

  it('checks a hash again when it differs from the one the previous record passed with, if only in case', () => {
    const record = example('position_opened')
    expect(codecAccepts(record)).toBe(true)
    const txHash = (record['chain'] as Record<string, string>)['tx_hash']!
    const trader = (record['data'] as Record<string, string>)['trader']!
    expect(eventsRecordCodec.check(withField(record, 'chain.tx_hash', txHash.toUpperCase().replace('0X', '0x')) as EventsTopicRecord)).toMatch(/^chain\.tx_hash: /)
    expect(eventsRecordCodec.check(withField(record, 'data.trader', trader.toUpperCase().replace('0X', '0x')) as EventsTopicRecord)).toMatch(/^data\.trader: /)
    expect(eventsRecordCodec.check(withField(record, 'market_id', 'BTC') as EventsTopicRecord)).toMatch(/^market_id: /)
    expect(codecAccepts(record)).toBe(true)
  })

  it('names the first bad field in its issue, as "path: message"', () => {
    const record = withField(example('position_opened'), 'data.size', '01')
    expect(eventsRecordCodec.check(record as EventsTopicRecord)).toMatch(/^data\.size: /)
    expect(eventsRecordCodec.check(withField(example('position_opened'), 'id', `1:0x${'c'.repeat(64)}:0`) as EventsTopicRecord)).toMatch(/^id: /)
    expect(eventsRecordCodec.check(withField(example('funding_updated'), 'type', 'funding') as EventsTopicRecord)).toMatch(/^type: /)
  })

  it('writes any symbol and any amounts exactly as the schema output, escapes included', () => {
    const amount = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }).map((value) => formatDecimal(value))
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'binary' }), amount, amount, (symbol, margin, fee) => {
        const record = { ...example('market_listed'), data: { ...(example('market_listed')['data'] as Json), symbol, maintenance_margin_ratio: margin, liquidation_fee_ratio: fee } }
        expect(codecAccepts(record)).toBe(true)
        expect(eventsRecordCodec.stringify(record as unknown as EventsTopicRecord)).toBe(schemaJson(record))
      }),
    )
    const signed = fc.bigInt({ min: -(2n ** 255n), max: 2n ** 255n - 1n }).map((value) => formatDecimal(value))
    fc.assert(
      fc.property(signed, signed, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (rate, index, timestamp) => {
        const data = { ...(example('funding_updated')['data'] as Json), funding_rate: rate, cumulative_funding_index: index, timestamp }
        const record = { ...example('funding_updated'), data }
        expect(codecAccepts(record)).toBe(true)
        expect(eventsRecordCodec.stringify(record as unknown as EventsTopicRecord)).toBe(schemaJson(record))
      }),
    )
  })

  it('leaves a key the schema does not know out of the JSON, which stays a valid record', () => {
    const record = { ...example('position_closed'), extra: 1, data: { ...(example('position_closed')['data'] as Json), note: 'x' } }
    expect(codecAccepts(record)).toBe(true)
    const json = eventsRecordCodec.stringify(record as unknown as EventsTopicRecord)
    expect(JSON.parse(json)).toEqual(example('position_closed'))
    expect(schemaAccepts(JSON.parse(json))).toBe(true)
  })

  it('checks and writes chain_reorg records with the zod schema', () => {
    const reorg = example('chain_reorg')
    expect(eventsRecordCodec.check(reorg as EventsTopicRecord)).toBeUndefined()
    expect(eventsRecordCodec.stringify(reorg as EventsTopicRecord)).toBe(schemaJson(reorg))
    expect(eventsRecordCodec.check(withField(reorg, 'data.orphaned_blocks', []) as EventsTopicRecord)).toMatch(/^data\.orphaned_blocks: /)
  })
})
