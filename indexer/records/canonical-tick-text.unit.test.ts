import { readFileSync } from 'node:fs'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { generatePerpWorkload } from '../../bench/replay-workload.ts'
import { projectionRecord, projectionRecordShortcut, projectionRecordTextShortcut } from '../../projections/fold/projection-record.ts'
import { decodeRecord } from '../log/typed-log.ts'
import { StoredTextRecord } from '../log/stored-text-record.ts'
import { readCanonicalTick } from './canonical-tick-text.ts'
import { fastRecordCheck } from './record-check.ts'

type Json = Record<string, unknown>

const readme = readFileSync(new URL('../../docs/schemas/README.md', import.meta.url), 'utf8')
const documented = [...readme.matchAll(/```json\n([\s\S]*?)\n```/g)].map(([, text]) => JSON.parse(text!) as Json)
const documentedTick = documented.find((record) => record['type'] === 'price_tick')!
const tickText = JSON.stringify(documentedTick)

/**
 * The reader's contract: a tick it returns is what JSON.parse gives for the text and what the
 * parsed path accepts unchanged (the shortcut, so the schema too); undefined otherwise, whatever the
 * parsed path then decides.
 */
function expectReaderAgrees(text: string): boolean {
  const read = readCanonicalTick(text)
  if (read === undefined) return false
  const parsed: unknown = JSON.parse(text)
  expect(isDeepStrictEqual(read, parsed)).toBe(true)
  expect(JSON.stringify(read)).toBe(text)
  expect(fastRecordCheck(parsed)).toBe(true)
  const viaSchema = projectionRecord.safeParse(parsed)
  expect(viaSchema.success && JSON.stringify(viaSchema.data)).toBe(text)
  return true
}

/** The verdict of the parsed path: JSON.parse and the shortcut past the schema. */
function parsedPathAccepts(text: string): boolean {
  try {
    return fastRecordCheck(JSON.parse(text))
  } catch {
    return false
  }
}

const textEdits = fc.record({
  at: fc.nat(),
  remove: fc.integer({ min: 0, max: 3 }),
  insert: fc.string({ unit: fc.constantFrom(...'"\\0123456789abcdefx.-+eE:,{} \n\t\u0000\u00e9\u2028'.split('')), maxLength: 3 }),
})

describe('readCanonicalTick', () => {
  it('reads the documented tick and every tick of the replay workload as JSON.parse does', () => {
    expect(expectReaderAgrees(tickText)).toBe(true)
    let read = 0
    for (const chunk of generatePerpWorkload({ records: 20_000, markets: 3, seed: 11 })) {
      for (const tick of chunk.ticks) {
        expect(expectReaderAgrees(JSON.stringify(tick))).toBe(true)
        read++
      }
    }
    expect(read).toBeGreaterThan(10_000)
  })

  it('returns only what JSON.parse returns and the parsed path accepts, for any edit of a tick text', () => {
    fc.assert(
      fc.property(textEdits, ({ at, remove, insert }) => {
        const cut = at % (tickText.length + 1)
        const text = tickText.slice(0, cut) + insert + tickText.slice(cut + remove)
        const accepted = expectReaderAgrees(text)
        // It may leave a valid tick to the parsed path (whitespace, escapes), never the reverse.
        if (accepted) expect(parsedPathAccepts(text)).toBe(true)
      }),
      { numRuns: 5_000 },
    )
  })

  it('gives the parsed verdict on ticks with any one value changed', () => {
    const data = documentedTick['data'] as Json
    const values: readonly unknown[] = [0, -1, 1.5, 1e21, -0, 19, -19, 2 ** 53, '', '0', '-0', '01', '1.0', '1e5', 'x', 'BTC', `0x${'b'.repeat(64)}`]
    for (const key of [...Object.keys(documentedTick).filter((k) => k !== 'data'), ...Object.keys(data).map((k) => `data.${k}`)]) {
      for (const value of values) {
        const changed = structuredClone(documentedTick)
        if (key.startsWith('data.')) (changed['data'] as Json)[key.slice(5)] = value
        else changed[key] = value
        const text = JSON.stringify(changed)
        expect({ key, value, accepted: expectReaderAgrees(text) }).toEqual({ key, value, accepted: parsedPathAccepts(text) })
      }
    }
  })

  it('leaves other layouts and other records to JSON.parse', () => {
    const reordered = JSON.stringify({ ...documentedTick, data: Object.fromEntries(Object.entries(documentedTick['data'] as Json).reverse()) })
    for (const text of [JSON.stringify(documentedTick, null, 1), reordered, tickText.replace('"v":1', '"v":1.0'), tickText.replace('btc', '\\u0062tc')]) {
      expect(readCanonicalTick(text)).toBeUndefined()
    }
    for (const record of documented.filter((r) => r['type'] !== 'price_tick')) expect(readCanonicalTick(JSON.stringify(record))).toBeUndefined()
  })

  it('decodes through the projections text shortcut, and a text it leaves is parsed and checked by the schema', () => {
    const stored = (text: string) => new StoredTextRecord('pyth.ticks.v1', 0, 7, 'btc-usdc-perp', text, {}, 0)
    const decode = (text: string) => decodeRecord(projectionRecord, stored(text), projectionRecordShortcut, projectionRecordTextShortcut)
    expect(decode(tickText)).toEqual({ ok: true, value: documentedTick })
    expect(decode(JSON.stringify(documentedTick, null, 2))).toEqual({ ok: true, value: documentedTick })
    const corrupt = decode(tickText.replace('"expo":-8', '"expo":-19'))
    expect(corrupt.ok).toBe(false)
    if (!corrupt.ok) expect(corrupt.error.message).toBe('corrupt record at pyth.ticks.v1/0@7: data.expo: Too small: expected number to be >=-18')
  })
})
