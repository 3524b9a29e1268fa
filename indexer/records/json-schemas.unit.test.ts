import { readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { jsonSchemaDocuments, renderJsonSchema } from './json-schemas.ts'
import { topics } from './topics.ts'

const schemaDirectory = new URL('../../docs/schemas/', import.meta.url)

function checkedIn(fileName: string): string | undefined {
  try {
    return readFileSync(new URL(fileName, schemaDirectory), 'utf8')
  } catch {
    return undefined
  }
}

describe('JSON Schema documents', () => {
  const documents = jsonSchemaDocuments()

  it('has one document per record topic', () => {
    expect(documents.map((document) => document.fileName)).toEqual([
      `${topics.events}.schema.json`,
      `${topics.ticks}.schema.json`,
      `${topics.snapshots}.schema.json`,
    ])
  })

  it.each(documents.map((document) => [document.fileName, document] as const))(
    'docs/schemas/%s is what the zod schemas generate',
    (fileName, document) => {
      expect(checkedIn(fileName), `docs/schemas/${fileName} is stale: run \`npm run schemas\``).toBe(
        renderJsonSchema(document),
      )
    },
  )

  it('checks in no schema file that belongs to no topic', () => {
    const present = readdirSync(schemaDirectory).filter((name) => name.endsWith('.schema.json'))
    expect(present.sort(), 'docs/schemas has a stale file: run `npm run schemas` and delete what it names').toEqual(
      documents.map((document) => document.fileName).sort(),
    )
  })

  it('names each document by topic with an $id, a title and a description', () => {
    for (const { topic, schema } of documents) {
      expect(schema).toMatchObject({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: `urn:perp-indexer:schema:${topic}`,
        title: topic,
        description: expect.stringContaining(topic),
      })
    }
  })

  it('describes the events topic as one of the chain event records or the reorg record', () => {
    const events = documents.find((document) => document.topic === topics.events)!
    const members = events.schema.oneOf as Array<{ title: string; properties: { type: { const: string } } }>
    expect(members.map((member) => member.properties.type.const)).toEqual([
      'market_listed',
      'position_opened',
      'position_closed',
      'position_liquidated',
      'funding_updated',
      'chain_reorg',
    ])
    expect(members.map((member) => member.title)).toEqual(members.map((member) => member.properties.type.const))
  })

  it('renders pretty-printed JSON with a trailing newline', () => {
    const text = renderJsonSchema(documents[1]!)
    expect(text.endsWith('}\n')).toBe(true)
    expect(text).toContain('\n  "$id": ')
    expect(JSON.parse(text)).toEqual(documents[1]!.schema)
  })
})
