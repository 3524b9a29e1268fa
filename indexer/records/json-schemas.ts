// The JSON Schema documents of the topics, generated from the zod schemas so the two cannot
// disagree. They are checked into docs/schemas/ for analytics consumers; a unit test fails when the
// checked-in files are stale. Cross-field rules (ids rebuilt from their parts, price = price_raw ·
// 10^expo, ascending orphaned blocks, a snapshot's id equal to the id in its data) have no JSON
// Schema form and are described in docs/schemas/README.md instead.
import { z } from 'zod'
import { eventsTopicRecord, tickRecord } from './schemas.ts'
import { snapshotRecord } from './snapshot-records.ts'
import { topics } from './topics.ts'

export interface JsonSchemaDocument {
  readonly topic: string
  /** The file name under docs/schemas/. */
  readonly fileName: string
  readonly schema: Readonly<Record<string, unknown>>
}

const documentedTopics = [
  {
    topic: topics.events,
    record: eventsTopicRecord,
    description:
      'A record of perp.events.v1: one event of the perp contract, or a chain reorganisation. The Kafka record key is market_id; within a market, records are in chain order.',
  },
  {
    topic: topics.ticks,
    record: tickRecord,
    description:
      'A record of pyth.ticks.v1: one Pyth price update for a market. The Kafka record key is market_id. Ticks have no chain position.',
  },
  {
    topic: topics.snapshots,
    record: snapshotRecord,
    description:
      'A record of perp.snapshots.v1 (compacted): the state of a position or a market after a projections commit, or its removal by a reorg. The Kafka record key is id: the position id or the market id.',
  },
] as const

export function schemaFileName(topic: string): string {
  return `${topic}.schema.json`
}

/** The JSON Schema document of each topic that carries records of this package. */
export function jsonSchemaDocuments(): JsonSchemaDocument[] {
  return documentedTopics.map(({ topic, record, description }) => {
    const { $schema, ...generated } = z.toJSONSchema(record, { target: 'draft-2020-12' })
    return {
      topic,
      fileName: schemaFileName(topic),
      schema: { $schema, $id: `urn:perp-indexer:schema:${topic}`, ...generated, title: topic, description },
    }
  })
}

/** The exact bytes of a checked-in schema file: pretty-printed, with a trailing newline. */
export function renderJsonSchema(document: JsonSchemaDocument): string {
  return `${JSON.stringify(document.schema, null, 2)}\n`
}
