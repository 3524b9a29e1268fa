// The record writer's codec for perp.events.v1 on the indexer's hot path: a hand-written check of
// every chain event record and its JSON built as a string, in place of the zod schema's parse and
// JSON.stringify, which cost about 10 and 3 µs per record (more than everything else the backfill
// does with it). Consumers keep validating with the zod schemas (typed-log.ts's consumeRecords).
//
// The check accepts exactly what the schema accepts, field by field (the same patterns, integers in
// the safe range, the id rebuilt from the chain position), with one difference: a key the schema
// does not know is left out of the JSON instead of rejecting the record, so what is written is still
// a valid record. The JSON is byte for byte JSON.stringify of the schema's output: fields in schema
// order, and every string either checked against a pattern that admits no character JSON escapes,
// or written with JSON.stringify. events-record-codec.unit.test.ts holds it to both.
//
// chain_reorg records, a handful per reorg, go through the zod schema as before.
import type { RecordCodec } from '../log/typed-log.ts'
import { describeZodError } from '../log/typed-log.ts'
import { canonicalDecimalPattern, canonicalUnsignedDecimalPattern } from '../records/decimal.ts'
import { addressPattern, hash32Pattern, marketIdPattern, recordSchemaVersion } from '../records/record-fields.ts'
import { eventsTopicRecord, type ChainEventRecord, type EventsTopicRecord } from '../records/schemas.ts'

type Fields = Readonly<Record<string, unknown>>

/** What a field must be; `undefined` from a check means it is. */
type FieldCheck = (value: unknown) => string | undefined

const safeUint: FieldCheck = (value) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : 'expected a non-negative integer'

function matching(pattern: RegExp, message: string): FieldCheck {
  return (value) => (typeof value === 'string' && pattern.test(value) ? undefined : message)
}

const hash32: FieldCheck = matching(hash32Pattern, 'expected a 32-byte hash: "0x" and 64 lowercase hex digits')
const address: FieldCheck = matching(addressPattern, 'expected an address: "0x" and 40 lowercase hex digits')
const signed: FieldCheck = matching(canonicalDecimalPattern, 'expected a canonical decimal string')
const unsigned: FieldCheck = matching(canonicalUnsignedDecimalPattern, 'expected a canonical non-negative decimal string')
const marketId: FieldCheck = matching(marketIdPattern, 'expected a market id slug such as "btc-usdc-perp"')
const nonEmptyString: FieldCheck = (value) => (typeof value === 'string' && value.length > 0 ? undefined : 'expected a non-empty string')
const side: FieldCheck = (value) => (value === 'long' || value === 'short' ? undefined : 'expected "long" or "short"')

/**
 * One field of a record's `data`, in schema order. `raw` fields hold only characters JSON writes
 * as they are once the check passed (hex, digits, '.', '-'); the others go through JSON.stringify.
 */
interface DataField {
  readonly name: string
  readonly check: FieldCheck
  readonly raw: boolean
}

const field = (name: string, check: FieldCheck, raw = true): DataField => ({ name, check, raw })

const dataFields: Readonly<Record<ChainEventRecord['type'], readonly DataField[]>> = {
  market_listed: [
    field('symbol', nonEmptyString, false),
    field('pyth_feed_id', hash32),
    field('maintenance_margin_ratio', unsigned),
    field('liquidation_fee_ratio', unsigned),
  ],
  position_opened: [
    field('position_id', hash32),
    field('trader', address),
    field('side', side),
    field('size', unsigned),
    field('collateral', unsigned),
    field('leverage', unsigned),
    field('entry_price', unsigned),
    field('entry_funding_index', signed),
  ],
  position_closed: [
    field('position_id', hash32),
    field('trader', address),
    field('exit_price', unsigned),
    field('realized_pnl', signed),
    field('funding_paid', signed),
  ],
  position_liquidated: [
    field('position_id', hash32),
    field('trader', address),
    field('liquidator', address),
    field('liquidation_price', unsigned),
    field('liquidation_fee', unsigned),
    field('realized_pnl', signed),
  ],
  funding_updated: [
    field('funding_rate', signed),
    field('cumulative_funding_index', signed),
    field('long_open_interest', unsigned),
    field('short_open_interest', unsigned),
    field('timestamp', safeUint),
  ],
}

const chainFields: readonly (readonly [string, FieldCheck])[] = [
  ['chain_id', safeUint],
  ['contract', address],
  ['block_number', safeUint],
  ['block_hash', hash32],
  ['tx_hash', hash32],
  ['log_index', safeUint],
  ['block_timestamp', safeUint],
]

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** "path: message" of the first field that is not what the schema says, or undefined. */
function checkChainEvent(record: Fields, fields: readonly DataField[]): string | undefined {
  if (record['v'] !== recordSchemaVersion) return `v: expected ${recordSchemaVersion}`
  const market = marketId(record['market_id'])
  if (market !== undefined) return `market_id: ${market}`
  const chain = record['chain']
  if (!isObject(chain)) return 'chain: expected an object'
  for (const [name, check] of chainFields) {
    const issue = check(chain[name])
    if (issue !== undefined) return `chain.${name}: ${issue}`
  }
  const data = record['data']
  if (!isObject(data)) return 'data: expected an object'
  for (const { name, check } of fields) {
    const issue = check(data[name])
    if (issue !== undefined) return `data.${name}: ${issue}`
  }
  if (typeof record['id'] !== 'string') return 'id: expected a string'
  if (record['id'] !== `${chain['chain_id'] as number}:${chain['tx_hash'] as string}:${chain['log_index'] as number}`) {
    return 'id: id must be "<chain_id>:<tx_hash>:<log_index>" of the record\'s chain position'
  }
  return undefined
}

/** The JSON of a checked chain event record, as JSON.stringify writes the schema's output. */
function chainEventJson(record: ChainEventRecord, fields: readonly DataField[]): string {
  const c = record.chain
  const data = record.data as unknown as Fields
  let json = `{"v":${record.v},"id":"${record.id}","type":"${record.type}","market_id":"${record.market_id}",`
  json += `"chain":{"chain_id":${c.chain_id},"contract":"${c.contract}","block_number":${c.block_number},"block_hash":"${c.block_hash}",`
  json += `"tx_hash":"${c.tx_hash}","log_index":${c.log_index},"block_timestamp":${c.block_timestamp}},"data":{`
  for (let i = 0; i < fields.length; i++) {
    const { name, raw } = fields[i]!
    const value = data[name]
    const text = typeof value === 'number' ? String(value) : raw ? `"${value as string}"` : JSON.stringify(value)
    json += `${i === 0 ? '' : ','}"${name}":${text}`
  }
  return `${json}}}`
}

function fieldsOf(record: unknown): readonly DataField[] | undefined {
  if (!isObject(record)) return undefined
  const type = record['type']
  return typeof type === 'string' && Object.hasOwn(dataFields, type) ? dataFields[type as ChainEventRecord['type']] : undefined
}

export const eventsRecordCodec: RecordCodec<EventsTopicRecord> = {
  check: (record) => {
    const fields = fieldsOf(record)
    if (fields !== undefined) return checkChainEvent(record as unknown as Fields, fields)
    const parsed = eventsTopicRecord.safeParse(record)
    return parsed.success ? undefined : describeZodError(parsed.error)
  },
  stringify: (record) => {
    const fields = fieldsOf(record)
    return fields !== undefined && record.type !== 'chain_reorg' ? chainEventJson(record, fields) : JSON.stringify(eventsTopicRecord.parse(record))
  },
}
