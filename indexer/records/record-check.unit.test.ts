import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generatePerpWorkload } from '../../bench/replay-workload.ts'
import { projectionRecord } from '../../projections/fold/projection-record.ts'
import { formatDecimal, fromPythPrice } from './decimal.ts'
import { fastRecordCheck, scaledIntegerText } from './record-check.ts'

type Json = Record<string, unknown>

// The documented examples of docs/schemas/README.md, one per record type, are the fixtures.
const readme = readFileSync(new URL('../../docs/schemas/README.md', import.meta.url), 'utf8')
const examples = new Map(
  [...readme.matchAll(/```json\n([\s\S]*?)\n```/g)].map(([, text]) => {
    const record = JSON.parse(text!) as Json
    return [record['type'] as string, record] as const
  }),
)
const shortcutTypes = ['market_listed', 'position_opened', 'position_closed', 'position_liquidated', 'funding_updated', 'price_tick']

function example(type: string): Json {
  const record = examples.get(type)
  if (record === undefined) throw new Error(`docs/schemas/README.md has no ${type} example`)
  return structuredClone(record)
}

/** Every leaf path of a record, e.g. "chain.block_hash", and every object path ("" for the root). */
function paths(node: Json, prefix = ''): { leaves: string[]; objects: string[] } {
  const leaves: string[] = []
  const objects: string[] = [prefix]
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const inner = paths(value as Json, `${prefix}${key}.`)
      leaves.push(...inner.leaves)
      objects.push(...inner.objects)
    } else leaves.push(`${prefix}${key}`)
  }
  return { leaves, objects }
}

function objectAt(record: Json, prefix: string): Json {
  return prefix.split('.').filter((key) => key !== '').reduce<Json>((node, key) => node[key] as Json, record)
}

/** The record with one value replaced, in place, so the keys keep their order. */
function withField(record: Json, path: string, value: unknown): Json {
  const copy = structuredClone(record)
  const keys = path.split('.')
  const last = keys.pop()!
  const parent = keys.reduce<Json>((node, key) => node[key] as Json, copy)
  if (value === undefined) delete parent[last]
  else parent[last] = value
  return copy
}

/** As JSON.parse would give it: the shortcut only ever sees parsed JSON. */
const reparsed = (record: unknown): unknown => JSON.parse(JSON.stringify(record))

/**
 * The shortcut's contract against the schema: it accepts only what the schema accepts and leaves
 * unchanged (JSON text equal, so key order too), and returns its verdict for the record.
 */
function expectShortcutAgrees(record: unknown): boolean {
  const json = reparsed(record)
  const accepted = fastRecordCheck(json)
  const parsed = projectionRecord.safeParse(json)
  if (accepted) {
    expect(parsed.success).toBe(true)
    expect(JSON.stringify(parsed.data)).toBe(JSON.stringify(json))
  }
  return accepted
}

// Values each field is tried with: wrong types, near misses of every pattern, and valid values of
// other fields (a hash where an address belongs, a decimal where a hash belongs).
const REPLACEMENTS: readonly unknown[] = [
  undefined, null, true, 0, 1, -1, 1.5, 18, 19, -18, -19, 2 ** 53, '', 'x', '"', '\\', '7', '-7', '1.5', '-0', '01', '1.0', '1.',
  '.5', '1e5', ' 1', 'long', 'short', 'up', 'price_tick', 'chain_reorg', 'btc-usdc-perp', 'BTC-usdc', 'btc--usdc',
  `0x${'a'.repeat(40)}`, `0x${'A'.repeat(40)}`, `0x${'a'.repeat(39)}`, `0x${'b'.repeat(64)}`, `0x${'B'.repeat(64)}`,
  `0x${'b'.repeat(63)}g`, `0X${'b'.repeat(64)}`, {}, [],
]

describe('fastRecordCheck', () => {
  it.each(shortcutTypes)('accepts the documented %s example, which the schema leaves unchanged', (type) => {
    expect(expectShortcutAgrees(example(type))).toBe(true)
  })

  it.each(shortcutTypes)('gives the schema verdict on every one-field change of the %s example', (type) => {
    const record = example(type)
    for (const path of paths(record).leaves) {
      for (const value of REPLACEMENTS) {
        const changed = withField(record, path, value)
        const verdict = { path, value, accepted: expectShortcutAgrees(changed) }
        expect(verdict).toEqual({ path, value, accepted: projectionRecord.safeParse(reparsed(changed)).success })
      }
    }
  })

  it.each(shortcutTypes)('leaves to the schema a %s record with a key added at any level or keys out of order', (type) => {
    const record = example(type)
    for (const prefix of paths(record).objects) {
      for (const key of ['extra', '__proto__', '0', 'v']) {
        const changed = structuredClone(record)
        const target = objectAt(changed, prefix)
        if (Object.hasOwn(target, key)) continue
        Object.defineProperty(target, key, { value: 1, enumerable: true, configurable: true, writable: true })
        expect({ prefix, key, accepted: expectShortcutAgrees(changed) }).toEqual({ prefix, key, accepted: false })
      }
      const target = objectAt(record, prefix)
      const reversed = Object.fromEntries(Object.entries(target).reverse())
      const changed = prefix === '' ? reversed : withField(record, prefix.slice(0, -1), reversed)
      expect({ prefix, accepted: fastRecordCheck(reparsed(changed)) }).toEqual({ prefix, accepted: false })
      expect(projectionRecord.safeParse(reparsed(changed)).success).toBe(true)
    }
  })

  it('leaves chain_reorg records and non-records to the schema', () => {
    expect(fastRecordCheck(reparsed(example('chain_reorg')))).toBe(false)
    for (const value of [null, 1, 'x', [], [example('price_tick')], {}]) expect(fastRecordCheck(value)).toBe(false)
  })

  it('accepts every record of the replay workload, as the schema outputs it', () => {
    let checked = 0
    for (const chunk of generatePerpWorkload({ records: 20_000, markets: 3, seed: 7 })) {
      for (const record of [...chunk.events, ...chunk.ticks]) {
        expect(expectShortcutAgrees(record)).toBe(true)
        checked++
      }
    }
    expect(checked).toBeGreaterThanOrEqual(20_000)
  })

  it('gives the schema verdict on ticks whose price, confidence and id may not match their raw integers', () => {
    const base = example('price_tick')
    const raw = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
    const expo = fc.integer({ min: -18, max: 18 })
    fc.assert(
      fc.property(raw, raw, expo, expo, fc.boolean(), fc.integer({ min: 0, max: 2 ** 40 }), (price, conf, e, written, same, time) => {
        const magnitude = conf < 0n ? -conf : conf
        const data = {
          ...(base['data'] as Json),
          price: formatDecimal(fromPythPrice(price, same ? e : written)),
          confidence: formatDecimal(fromPythPrice(magnitude, e)),
          expo: e,
          price_raw: price.toString(),
          conf_raw: magnitude.toString(),
          publish_time: time,
        }
        const record = { ...base, id: `pyth:${(base['data'] as Json)['feed_id'] as string}:${same ? time : time + 1}`, data }
        expect(expectShortcutAgrees(record)).toBe(projectionRecord.safeParse(record).success)
      }),
      { numRuns: 2_000 },
    )
  })
})

describe('scaledIntegerText', () => {
  it('writes integer·10^expo as formatDecimal(fromPythPrice(integer, expo)) does', () => {
    const integer = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -1000n, max: 1000n }))
    fc.assert(
      fc.property(integer, fc.integer({ min: -18, max: 18 }), (value, expo) => {
        expect(scaledIntegerText(value.toString(), expo)).toBe(formatDecimal(fromPythPrice(value, expo)))
      }),
      { numRuns: 5_000 },
    )
    expect(scaledIntegerText('0', -8)).toBe('0')
    expect(scaledIntegerText('-100000000', -8)).toBe('-1')
    expect(scaledIntegerText('5', -18)).toBe('0.000000000000000005')
  })
})
