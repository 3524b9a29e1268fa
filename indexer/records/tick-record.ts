// A Pyth price tick on pyth.ticks.v1. Ticks have no chain position: they come from Hermes, not from
// a block, so no reorg can orphan them. The raw integers are kept beside the converted decimals, so
// a consumer can check the conversion (price = price_raw · 10^expo, exactly).
import { z } from 'zod'
import { decimalString, formatDecimal, fromPythPrice, unsignedDecimalString } from './decimal.ts'
import { tickId } from './record-ids.ts'
import {
  crossFieldCheck,
  hash32,
  integerString,
  marketId,
  recordVersion,
  unixSeconds,
  unsignedIntegerString,
} from './record-fields.ts'

const tickIdPattern = /^pyth:0x[0-9a-f]{64}:(0|[1-9]\d*)$/

function scaled(raw: string, expo: number): string {
  return formatDecimal(fromPythPrice(BigInt(raw), expo))
}

export const tickRecord = z
  .strictObject({
    v: recordVersion,
    id: z
      .string()
      .regex(tickIdPattern, { error: 'expected "pyth:<feed_id>:<publish_time>"' })
      .meta({ description: 'Deterministic id: "pyth:<feed_id>:<publish_time>".' }),
    type: z.literal('price_tick'),
    market_id: marketId,
    data: z.strictObject({
      feed_id: hash32.meta({ description: 'The Pyth price feed id.' }),
      price: decimalString.meta({ description: 'price_raw · 10^expo, exactly.' }),
      confidence: unsignedDecimalString.meta({ description: 'conf_raw · 10^expo, exactly.' }),
      expo: z.number().int().min(-18).max(18).meta({ description: "Pyth's decimal exponent." }),
      price_raw: integerString.meta({ description: "Pyth's integer price (int64, may be negative)." }),
      conf_raw: unsignedIntegerString.meta({ description: "Pyth's integer confidence interval (uint64)." }),
      publish_time: unixSeconds.meta({ description: 'When Pyth published the price (unix seconds).' }),
    }),
  })
  .refine(
    (record) => record.data.price === scaled(record.data.price_raw, record.data.expo),
    crossFieldCheck(['data', 'price'], 'price must be price_raw · 10^expo written canonically'),
  )
  .refine(
    (record) => record.data.confidence === scaled(record.data.conf_raw, record.data.expo),
    crossFieldCheck(['data', 'confidence'], 'confidence must be conf_raw · 10^expo written canonically'),
  )
  .refine(
    (record) => record.id === tickId(record.data.feed_id, record.data.publish_time),
    crossFieldCheck(['id'], 'id must be "pyth:<feed_id>:<publish_time>" of the record'),
  )
  .meta({
    title: 'price_tick',
    description: 'A Pyth price update for the market. Ticks have no chain position and are never reorged.',
  })

export type TickRecord = z.infer<typeof tickRecord>
