// The frame schemas against the contract: every ```json example of WEBSOCKET_API.md (the spec)
// parses with the schema of its path, and the schemas add to the spec only what messages.ts
// documents as our additions. The examples are read from the spec file itself, so a change to the
// spec is a change to this test.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { frameSchemasOf, frameTypesByPath } from './frame-schemas.ts'
import { framesByPath, statsResponse } from './messages.ts'
import type { PathKind } from './messages.ts'

// docs/WEBSOCKET_API.md is the contract with our users' clients, checked in as it was given to us.
const specFile = fileURLToPath(new URL('../../docs/WEBSOCKET_API.md', import.meta.url))

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

interface SpecExample {
  /** The spec section's path, or 'stats' for the HTTP stats response. */
  readonly path: PathKind | 'stats'
  readonly heading: string
  readonly value: { [key: string]: Json }
}

const sectionPaths: ReadonlyArray<readonly [RegExp, PathKind | 'stats']> = [
  [/^## \d+\. Price Stream/, 'prices'],
  [/^## \d+\. Position Stream/, 'positions'],
  [/^## \d+\. Liquidation Alerts/, 'liquidations'],
  [/^## \d+\. Market Statistics/, 'market-stats'],
  [/^## .*Monitoring/, 'stats'],
]

/** The ```json blocks of the spec, each with the path of the section it is in. */
function specExamples(markdown: string): SpecExample[] {
  const examples: SpecExample[] = []
  let path: PathKind | 'stats' | undefined
  let heading = ''
  let block: string[] | undefined
  for (const line of markdown.split('\n')) {
    if (block !== undefined) {
      if (line.trim() !== '```') {
        block.push(line)
        continue
      }
      if (path === undefined) throw new Error(`a json example outside the known sections, under ${heading}`)
      examples.push({ path, heading, value: JSON.parse(block.join('\n')) as { [key: string]: Json } })
      block = undefined
    } else if (line.startsWith('## ')) {
      path = sectionPaths.find(([pattern]) => pattern.test(line))?.[1]
      heading = line.slice(3)
    } else if (line.startsWith('#### ')) {
      heading = line.slice(5)
    } else if (line.trim() === '```json') {
      block = []
    }
  }
  return examples
}

/** How long a well-formed value is in the fields where the spec writes "0x742d35cc..." and the like. */
const placeholderHexLength: Readonly<Record<string, number>> = {
  user_address: 40,
  liquidator_address: 40,
  position_id: 64,
  transaction_hash: 64,
}

/** The spec's "0xabc123..." made well-formed: its hex digits kept, zero-padded to the field's length. */
function wellFormed(key: string, value: string): string {
  const length = placeholderHexLength[key]
  if (length === undefined) throw new Error(`placeholder ${value} in field ${key}, which has no known form`)
  const prefix = value.slice(2, -3)
  const hex = /^[0-9a-f]*$/.test(prefix) ? prefix : createHash('sha256').update(prefix).digest('hex').slice(0, 8)
  return `0x${hex.padEnd(length, '0')}`
}

function withoutPlaceholders(value: Json, key = ''): Json {
  if (typeof value === 'string') return /^0x[0-9a-z]*\.\.\.$/.test(value) ? wellFormed(key, value) : value
  if (Array.isArray(value)) return value.map((item) => withoutPlaceholders(item, key))
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(Object.entries(value).map(([field, item]) => [field, withoutPlaceholders(item, field)]))
}

const rawEventTypes = new Set(['position_opened', 'position_closed', 'position_liquidated', 'funding_rate_update', 'market_listed', 'chain_reorg'])

/** Our documented additions to the spec's frames, as field paths. */
function additionsOf(example: SpecExample): string[] {
  if (example.path === 'stats') return ['data.by_type.market-stats']
  return rawEventTypes.has(String(example.value['type'])) ? ['cursor'] : []
}

/** The example as our server sends it: placeholders made well-formed, our additions filled in. */
function asSent(example: SpecExample): { [key: string]: Json } {
  const value = withoutPlaceholders(example.value) as { [key: string]: Json }
  if (example.path === 'stats') {
    const data = value['data'] as { by_type: { [key: string]: Json } }
    return { ...value, data: { ...data, by_type: { ...data.by_type, 'market-stats': 0 } } }
  }
  return additionsOf(example).includes('cursor') ? { ...value, cursor: 'p0:17' } : value
}

const child = (at: string, key: string): string => (at === '' ? key : `${at}.${key}`)

function schemaFields(schema: z.ZodType, at = ''): string[] {
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, field]) => [child(at, key), ...schemaFields(field, child(at, key))])
  }
  if (schema instanceof z.ZodArray) return schemaFields(schema.element as z.ZodType, `${at}[]`)
  return []
}

function jsonFields(value: Json, at = ''): string[] {
  if (Array.isArray(value)) return [...new Set(value.flatMap((item) => jsonFields(item, `${at}[]`)))]
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([key, field]) => [child(at, key), ...jsonFields(field, child(at, key))])
}

/** The object schema of the example's frame type on its path. */
function schemaOf(example: SpecExample): z.ZodObject {
  if (example.path === 'stats') return statsResponse
  const found = frameSchemasOf(framesByPath[example.path]).find((frame) => frame.type === example.value['type'])
  if (found === undefined) throw new Error(`${example.path} has no frame of type ${String(example.value['type'])}`)
  return found.schema
}

const markdown = readFileSync(specFile, 'utf8')
const examples = specExamples(markdown)
const named = examples.map((example) => [`${example.path}: ${example.heading}`, example] as const)

describe('frames of the spec (docs/WEBSOCKET_API.md)', () => {
  it('finds every json example of the spec, in its section', () => {
    expect(examples.map((example) => [example.path, example.value['type'] ?? null])).toEqual([
      ['prices', 'connected'],
      ['prices', 'price_update'],
      ['positions', 'connected'],
      ['positions', 'positions_update'],
      ['positions', 'liquidation_warning'],
      ['positions', 'position_opened'],
      ['positions', 'position_closed'],
      ['positions', 'position_liquidated'],
      ['liquidations', 'liquidation_alert'],
      ['market-stats', 'market_stats'],
      ['market-stats', 'funding_rate_update'],
      ['stats', null],
    ])
  })

  it.each(named)('%s parses with the schema of its path, keeping every field', (_name, example) => {
    const sent = asSent(example)
    const schema = example.path === 'stats' ? statsResponse : framesByPath[example.path]
    expect(schema.parse(sent)).toEqual(sent)
  })

  it.each(named)('%s: the schema adds only our documented fields to the spec', (_name, example) => {
    const ours = schemaFields(schemaOf(example))
    const spec = jsonFields(example.value)
    expect(spec.filter((field) => !ours.includes(field)), 'spec fields the schema lacks').toEqual([])
    expect(ours.filter((field) => !spec.includes(field)), 'schema fields the spec lacks').toEqual(additionsOf(example))
  })

  it('adds to each path of the spec only the frame types documented in messages.ts', () => {
    const specTypes = (path: PathKind): string[] =>
      examples.filter((example) => example.path === path).map((example) => String(example.value['type']))
    const added = Object.fromEntries(
      (Object.keys(framesByPath) as PathKind[]).map((path) => [path, [...frameTypesByPath()[path]].filter((type) => !specTypes(path).includes(type))]),
    )
    expect(added).toEqual({
      prices: ['error', 'pong'],
      positions: ['error', 'pong'],
      liquidations: ['connected', 'error', 'pong'],
      'market-stats': ['connected', 'error', 'pong'],
      events: ['connected', ...rawEventTypes, 'error', 'pong'],
    })
  })
})

describe('placeholders of the spec', () => {
  it('become well-formed values of their field, keeping their hex digits', () => {
    expect(withoutPlaceholders({ user_address: '0x742d35cc...', position_id: '0xabc123...' })).toEqual({
      user_address: `0x742d35cc${'0'.repeat(32)}`,
      position_id: `0xabc123${'0'.repeat(58)}`,
    })
    expect(withoutPlaceholders({ transaction_hash: '0xtx...' })).toEqual({ transaction_hash: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
  })

  it('are refused in a field whose form is unknown', () => {
    expect(() => withoutPlaceholders({ block_hash: '0xdead...' })).toThrow('block_hash')
  })
})
