// Hand-written checks of the log's records, for the hot paths where the zod schemas cost more than
// everything else done with a record: the indexer's writes (events-record-codec.ts) and the
// projections' reads (fastRecordCheck). Each field check accepts exactly the values its zod field
// accepts, with the zod field's message; the tests hold them to the schemas on every field.
import { canonicalDecimalPattern, canonicalUnsignedDecimalPattern } from './decimal.ts'
import { addressPattern, hash32Pattern, marketIdPattern, recordSchemaVersion } from './record-fields.ts'
import type { ChainEventRecord, TickRecord } from './schemas.ts'

export type Fields = Readonly<Record<string, unknown>>

/** What a field must be; `undefined` from a check means it is. */
export type FieldCheck = (value: unknown) => string | undefined

export const safeUint: FieldCheck = (value) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? undefined : 'expected a non-negative integer'

function matching(pattern: RegExp, message: string): FieldCheck {
  return (value) => (typeof value === 'string' && pattern.test(value) ? undefined : message)
}

export const hash32: FieldCheck = matching(hash32Pattern, 'expected a 32-byte hash: "0x" and 64 lowercase hex digits')
export const address: FieldCheck = matching(addressPattern, 'expected an address: "0x" and 40 lowercase hex digits')
export const signed: FieldCheck = matching(canonicalDecimalPattern, 'expected a canonical decimal string')
export const unsigned: FieldCheck = matching(canonicalUnsignedDecimalPattern, 'expected a canonical non-negative decimal string')
export const marketId: FieldCheck = matching(marketIdPattern, 'expected a market id slug such as "btc-usdc-perp"')
const nonEmptyString: FieldCheck = (value) => (typeof value === 'string' && value.length > 0 ? undefined : 'expected a non-empty string')
const side: FieldCheck = (value) => (value === 'long' || value === 'short' ? undefined : 'expected "long" or "short"')
const integerString: FieldCheck = matching(/^(?!-0$)-?(0|[1-9]\d*)$/, 'expected an integer string without leading zeros or "+"')
const unsignedIntegerString: FieldCheck = matching(/^(0|[1-9]\d*)$/, 'expected a non-negative integer string without leading zeros')
const pythExpo: FieldCheck = (value) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= -18 && value <= 18 ? undefined : 'expected an integer from -18 to 18'

/**
 * One field of a record's `data`, in schema order. `raw` fields hold only characters JSON writes
 * as they are once the check passed (hex, digits, '.', '-'); the others go through JSON.stringify.
 */
export interface DataField {
  readonly name: string
  readonly check: FieldCheck
  readonly raw: boolean
  /** The JSON type of the field's values. */
  readonly json: 'string' | 'number'
}

const field = (name: string, check: FieldCheck, raw = true): DataField => ({ name, check, raw, json: 'string' })
const numberField = (name: string, check: FieldCheck): DataField => ({ name, check, raw: true, json: 'number' })

export const chainEventDataFields: Readonly<Record<ChainEventRecord['type'], readonly DataField[]>> = {
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
    numberField('timestamp', safeUint),
  ],
}

export const chainPositionFields: readonly DataField[] = [
  numberField('chain_id', safeUint),
  field('contract', address),
  numberField('block_number', safeUint),
  field('block_hash', hash32),
  field('tx_hash', hash32),
  numberField('log_index', safeUint),
  numberField('block_timestamp', safeUint),
]

export const tickDataFields: readonly DataField[] = [
  field('feed_id', hash32),
  field('price', signed),
  field('confidence', unsigned),
  numberField('expo', pythExpo),
  field('price_raw', integerString),
  field('conf_raw', unsignedIntegerString),
  numberField('publish_time', safeUint),
]

const chainEventKeys = ['v', 'id', 'type', 'market_id', 'chain', 'data'] as const
const tickKeys = ['v', 'id', 'type', 'market_id', 'data'] as const

export function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** "name: message" of the first field that fails its check, or undefined. */
export function firstFieldIssue(object: Fields, fields: readonly DataField[]): string | undefined {
  for (const { name, check } of fields) {
    const issue = check(object[name])
    if (issue !== undefined) return `${name}: ${issue}`
  }
  return undefined
}

/**
 * Whether the object's own enumerable keys are exactly these names in this order: then a strict
 * zod object accepts no other key, and its output (keys in schema order) equals the object.
 */
function hasExactly(object: Fields, names: readonly string[]): boolean {
  let i = 0
  for (const key in object) if (key !== names[i++]) return false
  return i === names.length
}

/** Whether the value is an object whose keys are exactly the fields' names, in their order. */
function hasFieldKeys(object: unknown, fields: readonly DataField[]): object is Fields {
  if (!isObject(object)) return false
  let i = 0
  for (const key in object) if (key !== fields[i++]?.name) return false
  return i === fields.length
}

function fieldsHold(object: Fields, fields: readonly DataField[]): boolean {
  for (const { name, check } of fields) if (check(object[name]) !== undefined) return false
  return true
}

/**
 * The canonical decimal text of integer·10^expo for an integer string without leading zeros and an
 * expo from -18 to 18: formatDecimal(fromPythPrice(BigInt(integer), expo)) by moving the decimal
 * point in the text, as the tick schema's cross-field check computes it.
 */
export function scaledIntegerText(integer: string, expo: number): string {
  const negative = integer.charCodeAt(0) === 45
  const digits = negative ? integer.slice(1) : integer
  if (digits === '0') return '0'
  let text: string
  if (expo >= 0) text = digits + '0'.repeat(expo)
  else {
    const cut = digits.length + expo
    const whole = cut > 0 ? digits.slice(0, cut) : '0'
    const fraction = cut > 0 ? digits.slice(cut) : '0'.repeat(-cut) + digits
    let end = fraction.length
    while (end > 0 && fraction.charCodeAt(end - 1) === 48) end--
    text = end === 0 ? whole : `${whole}.${fraction.slice(0, end)}`
  }
  return negative ? `-${text}` : text
}

/**
 * What fastRecordCheck holds a chain event to past its shape (the record's, chain's and data's keys
 * exactly theirs, in order): every value, and the id rebuilt from the chain position.
 */
function chainEventValuesHold(record: Fields, chain: Fields, data: Fields, dataFields: readonly DataField[]): boolean {
  return (
    record['v'] === recordSchemaVersion &&
    marketId(record['market_id']) === undefined &&
    fieldsHold(chain, chainPositionFields) &&
    fieldsHold(data, dataFields) &&
    record['id'] === `${chain['chain_id'] as number}:${chain['tx_hash'] as string}:${chain['log_index'] as number}`
  )
}

/** What fastRecordCheck holds a tick to past its shape: every value, the scaled prices and the id. */
export function tickValuesHold(record: Fields, data: Fields): boolean {
  if (record['v'] !== recordSchemaVersion || marketId(record['market_id']) !== undefined || !fieldsHold(data, tickDataFields)) return false
  const expo = data['expo'] as number
  return (
    data['price'] === scaledIntegerText(data['price_raw'] as string, expo) &&
    data['confidence'] === scaledIntegerText(data['conf_raw'] as string, expo) &&
    record['id'] === `pyth:${data['feed_id'] as string}:${data['publish_time'] as number}`
  )
}

function isChainEvent(record: Fields, dataFields: readonly DataField[]): boolean {
  const { chain, data } = record
  return (
    hasExactly(record, chainEventKeys) &&
    hasFieldKeys(chain, chainPositionFields) &&
    hasFieldKeys(data, dataFields) &&
    chainEventValuesHold(record, chain, data, dataFields)
  )
}

function isTick(record: Fields): boolean {
  const { data } = record
  return hasExactly(record, tickKeys) && hasFieldKeys(data, tickDataFields) && tickValuesHold(record, data)
}

/**
 * A shortcut past the zod schemas for the records a consumer reads, parsed from JSON: true only for
 * a chain event or tick record that the schema accepts and whose schema output deep-equals it (the
 * same keys in the same order, the same values), so it can be used as it is. False means "not
 * decided here": reorg records, keys out of schema order and every invalid record are left to the
 * schema, which gives the verdict and the issue.
 */
export function fastRecordCheck(json: unknown): json is ChainEventRecord | TickRecord {
  if (!isObject(json)) return false
  const type = json['type']
  if (type === 'price_tick') return isTick(json)
  if (typeof type !== 'string' || !Object.hasOwn(chainEventDataFields, type)) return false
  return isChainEvent(json, chainEventDataFields[type as ChainEventRecord['type']])
}
