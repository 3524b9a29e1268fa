// Every topic name of the system, in one place. A name ends in the version of its record schemas
// (each record also carries it as `v`), so analytics consumers can tell formats apart by topic.

export const topics = {
  /** Chain events of the perp contract and chain reorganisations, keyed by market id. */
  events: 'perp.events.v1',
  /** Pyth price ticks, keyed by market id. */
  ticks: 'pyth.ticks.v1',
  /** Position and market snapshots after each projections commit (compacted), keyed by position id or market id. */
  snapshots: 'perp.snapshots.v1',
  /** The indexer's resume checkpoints (compacted), keyed by chain id and contract. */
  indexerCheckpoints: 'perp.indexer.checkpoints.v1',
} as const

export type TopicName = (typeof topics)[keyof typeof topics]

/** Where records that a consumer could not process are set aside, one dead-letter topic per topic. */
export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`
}
