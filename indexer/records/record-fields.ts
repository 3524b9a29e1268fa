// The field types every record schema is built from. JSON field names are snake_case because the
// records are read as they are by analytics consumers (kcat, SQL over JSON).
import { z } from 'zod'

import { addressPattern, hash32Pattern, marketIdPattern, recordSchemaVersion } from './record-patterns.ts'

export { addressPattern, hash32Pattern, marketIdPattern, recordSchemaVersion } from './record-patterns.ts'

export const recordVersion = z.literal(recordSchemaVersion).meta({
  description: 'Record schema version. A consumer must not fold a record whose v it does not know.',
})

export const hash32 = z
  .string()
  .regex(hash32Pattern, { error: 'expected a 32-byte hash: "0x" and 64 lowercase hex digits' })

export const address = z
  .string()
  .regex(addressPattern, { error: 'expected an address: "0x" and 40 lowercase hex digits' })

export const marketId = z
  .string()
  .regex(marketIdPattern, { error: 'expected a market id slug such as "btc-usdc-perp"' })
  .meta({ description: 'The market key, e.g. "btc-usdc-perp". It is also the Kafka record key.' })

/** A JSON integer in the safe range: block numbers, log indices, chain ids, exponents. */
export const uint = z.number().int().nonnegative()

export const unixSeconds = uint.meta({ description: 'Unix time in seconds.' })

/** A signed integer too wide for a JSON number (a Pyth int64), as canonical decimal digits. */
export const integerString = z
  .string()
  .regex(/^(?!-0$)-?(0|[1-9]\d*)$/, { error: 'expected an integer string without leading zeros or "+"' })

export const unsignedIntegerString = z
  .string()
  .regex(/^(0|[1-9]\d*)$/, { error: 'expected a non-negative integer string without leading zeros' })

/** A block by number and hash: the hash tells a block from its reorged sibling at the same height. */
export const blockRef = z.strictObject({ block_number: uint, block_hash: hash32 })

/**
 * Options of a cross-field check: it runs only on a record whose fields are each valid, so it can
 * rebuild ids from them, and a bad field is reported once, by its own name.
 */
export function crossFieldCheck(path: readonly string[], error: string) {
  return { path: [...path], error, when: (payload: z.core.ParsePayload) => payload.issues.length === 0 }
}
