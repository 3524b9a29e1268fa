// The record version and field patterns, without zod: record-fields.ts builds the schemas from them,
// and code that need not load zod (the backfill's answer reader and its options) reads them here.

/** The `v` of every record this code writes and reads. */
export const recordSchemaVersion = 1

export const hash32Pattern = /^0x[0-9a-f]{64}$/
export const addressPattern = /^0x[0-9a-f]{40}$/
/** A market key: a lowercase slug such as "btc-usdc-perp". */
export const marketIdPattern = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
