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
// chain_reorg records, a handful per reorg, go through the zod schema as before. The field checks
// are record-check.ts's, shared with the consumers' shortcut past zod.
import type { RecordCodec } from '../log/typed-log.ts'
import { describeZodError } from '../log/typed-log.ts'
import {
  address,
  chainEventDataFields,
  chainPositionFields as checkedChainPositionFields,
  firstFieldIssue,
  hash32,
  isObject,
  marketId as checkedMarketId,
  type DataField,
  type FieldCheck,
  type Fields,
} from '../records/record-check.ts'
import { recordSchemaVersion } from '../records/record-fields.ts'
import { eventsTopicRecord, type ChainEventRecord, type EventsTopicRecord } from '../records/schemas.ts'

/**
 * The check, remembering the last value it passed. A backfill's consecutive records mostly share
 * their block hash, transaction hash, contract, trader and market: an equal string is then known to
 * pass without its pattern being run again, which took about 1 µs of CPU per record. Only a value
 * that passed is remembered, so the verdict for every value is the check's own.
 */
function rememberingLast(check: FieldCheck): FieldCheck {
  let passed: unknown
  return (value) => {
    if (value === passed && typeof value === 'string') return undefined
    const issue = check(value)
    if (issue === undefined) passed = value
    return issue
  }
}

function rememberingFields(fields: readonly DataField[]): readonly DataField[] {
  return fields.map((f) => (f.check === hash32 || f.check === address ? { ...f, check: rememberingLast(f.check) } : f))
}

const chainPositionFields = rememberingFields(checkedChainPositionFields)
const marketId = rememberingLast(checkedMarketId)
const dataFields = Object.fromEntries(
  Object.entries(chainEventDataFields).map(([type, fields]) => [type, rememberingFields(fields)]),
) as Readonly<Record<ChainEventRecord['type'], readonly DataField[]>>

/** "path: message" of the first field that is not what the schema says, or undefined. */
function checkChainEvent(record: Fields, fields: readonly DataField[]): string | undefined {
  if (record['v'] !== recordSchemaVersion) return `v: expected ${recordSchemaVersion}`
  const market = marketId(record['market_id'])
  if (market !== undefined) return `market_id: ${market}`
  const chain = record['chain']
  if (!isObject(chain)) return 'chain: expected an object'
  const chainIssue = firstFieldIssue(chain, chainPositionFields)
  if (chainIssue !== undefined) return `chain.${chainIssue}`
  const data = record['data']
  if (!isObject(data)) return 'data: expected an object'
  const dataIssue = firstFieldIssue(data, fields)
  if (dataIssue !== undefined) return `data.${dataIssue}`
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
