import fc from 'fast-check'
import { encodeAbiParameters, encodeEventTopics } from 'viem'
import type { Abi, AbiEvent, AbiParameter, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { eventsTopicRecord, type ChainEventRecord } from '../records/schemas.ts'
import type { RawLog } from './chain-types.ts'
import { createEventDecoder } from './event-decoder.ts'
import { eventsRecordCodec } from './events-record-codec.ts'
import { createLogToJson } from './log-to-json.ts'
import { LogToRecordError, createLogToRecord } from './log-to-record.ts'

const chainId = 31337
const contract: Hex = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const events = (perpExchangeAbi as Abi).filter((item): item is AbiEvent => item.type === 'event')

const hexDigits = (length: number, upper = false) =>
  fc.string({ unit: fc.constantFrom(...(upper ? '0123456789abcdefABCDEF' : '0123456789abcdef')), minLength: length, maxLength: length })
const hex = (length: number): fc.Arbitrary<Hex> => hexDigits(length, true).map((digits) => `0x${digits}` as Hex)
const slug = fc.stringMatching(/^[a-z0-9]{1,8}(-[a-z0-9]{1,6}){0,3}$/)
/** Valid slugs mostly, and the ids decodeMarketId or the schema refuse. */
const marketIdArb: fc.Arbitrary<Hex> = fc.oneof(
  { weight: 6, arbitrary: slug.map((s) => encodeMarketId(s)) },
  { weight: 1, arbitrary: fc.constantFrom('btc--usd', 'btc-', '-btc', 'b').map((s) => `0x${Buffer.from(s).toString('hex').padEnd(64, '0')}` as Hex) },
  { weight: 1, arbitrary: hex(64) },
)
const clamp = (value: bigint, min: bigint, max: bigint): bigint => (value < min ? min : value > max ? max : value)
/** Any value of the type, with WAD-sized ones (the usual amounts) and 2^53 (a timestamp's edge) more likely. */
const uint = (bits: number) => {
  const max = 2n ** BigInt(bits) - 1n
  return fc
    .oneof(fc.bigInt(0n, max), fc.bigInt(0n, 10n ** 24n), fc.constantFrom(0n, 2n ** 53n - 1n, 2n ** 53n))
    .map((value) => clamp(value, 0n, max))
}
const int = (bits: number) => {
  const [min, max] = [-(2n ** BigInt(bits - 1)), 2n ** BigInt(bits - 1) - 1n]
  return fc.oneof(fc.bigInt(min, max), fc.bigInt(-(10n ** 24n), 10n ** 24n), fc.constant(0n)).map((value) => clamp(value, min, max))
}

function valueArb(input: AbiParameter): fc.Arbitrary<unknown> {
  if (input.name === 'marketId') return marketIdArb
  if (input.type === 'bytes32') return hex(64)
  // viem refuses mixed case that is not the checksum; casing is varied on the whole log instead.
  if (input.type === 'address') return hexDigits(40).map((digits) => `0x${digits}`)
  if (input.type === 'bool') return fc.boolean()
  if (input.type === 'string') return fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant(''), fc.constant('BTC/USDC "perp" \\ é'))
  const integer = /^(u?)int(\d+)$/.exec(input.type)
  if (integer !== null) return integer[1] === 'u' ? uint(Number(integer[2])) : int(Number(integer[2]))
  throw new Error(`no arbitrary for ${input.type}`)
}

function encodeLog(event: AbiEvent, args: Readonly<Record<string, unknown>>, position: Omit<RawLog, 'address' | 'topics' | 'data'>): RawLog {
  const indexed = Object.fromEntries(event.inputs.filter((i) => i.indexed).map((i) => [i.name, args[i.name ?? '']]))
  const topics = encodeEventTopics({ abi: [event], eventName: event.name, args: indexed } as never) as Hex[]
  const dataInputs = event.inputs.filter((i) => i.indexed !== true)
  const data = encodeAbiParameters(dataInputs, dataInputs.map((i) => args[i.name ?? '']))
  return { address: contract, topics, data, ...position }
}

const positionArb = fc.record({
  blockNumber: fc.oneof(fc.nat(), fc.nat({ max: 10 })).map((n) => `0x${n.toString(16)}` as Hex),
  blockHash: hex(64),
  transactionHash: hex(64),
  logIndex: fc.nat({ max: 5000 }).map((n) => `0x${n.toString(16)}` as Hex),
})

const validLogArb: fc.Arbitrary<RawLog> = fc
  .constantFrom(...events)
  .chain((event) =>
    fc.tuple(fc.constant(event), fc.record(Object.fromEntries(event.inputs.map((input) => [input.name ?? '', valueArb(input)]))), positionArb),
  )
  .map(([event, args, position]) => encodeLog(event, args, position))

/** A change a faulty or hostile node could make to one field of a log. */
type Mutation = (log: RawLog, at: number, text: string) => RawLog
const replaceAt = (value: string, at: number, text: string): string => {
  const i = 2 + (at % Math.max(1, value.length - 2))
  return `${value.slice(0, i)}${text}${value.slice(i + text.length)}`
}
const shout = (value: Hex): Hex => `0x${value.slice(2).toUpperCase()}`
const mutations: readonly Mutation[] = [
  (log, at, text) => ({ ...log, data: replaceAt(log.data, at, text) as Hex }),
  (log, at, text) => ({ ...log, topics: log.topics.map((t, i) => (i === 1 + (at % Math.max(1, log.topics.length - 1)) ? (replaceAt(t, at, text) as Hex) : t)) }),
  (log, at) => ({ ...log, data: log.data.slice(0, Math.max(2, log.data.length - 2 * (1 + (at % 40)))) as Hex }),
  (log, at, text) => ({ ...log, blockHash: replaceAt(log.blockHash, at, text) as Hex }),
  (log, at) => ({ ...log, blockHash: log.blockHash.slice(0, 2 + (at % 66)) as Hex }),
  (log, at, text) => ({ ...log, transactionHash: replaceAt(log.transactionHash, at, text) as Hex }),
  (log, _at, text) => ({ ...log, blockNumber: `0x${text}` as Hex }),
  (log, _at, text) => ({ ...log, logIndex: text as Hex }),
  (log) => ({ ...log, topics: log.topics.map(shout), data: shout(log.data), blockHash: shout(log.blockHash), transactionHash: shout(log.transactionHash) }),
]
// Out-of-range words (dirty high bits of an address or a bool, a uint64 past 2^64), bad hex, odd characters.
const mutationText = fc.constantFrom('g', 'G', 'ff', '8', '1', '2', 'z', ' ', '-1', 'fffffffffffffffffff', '"', 'é')
const mutatedLogArb = fc
  .tuple(validLogArb, fc.constantFrom(...mutations), fc.nat(), mutationText)
  .map(([log, mutate, at, text]) => mutate(log, at, text))
const blockTimestampArb = fc.oneof({ weight: 8, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 2 ** 53, Number.NaN) })

/** What the checked path writes for the log, or 'rejected' where it or the writer's check refuses it. */
function checkedPath(toRecord: ReturnType<typeof createLogToRecord>, log: RawLog, timestamp: number): string | undefined | 'rejected' {
  let record: ChainEventRecord | undefined
  try {
    record = toRecord(log, timestamp)
  } catch {
    return 'rejected'
  }
  if (record === undefined) return undefined
  if (eventsRecordCodec.check(record) !== undefined) {
    expect(eventsTopicRecord.safeParse(record).success).toBe(false)
    return 'rejected'
  }
  const json = eventsRecordCodec.stringify(record)
  expect(json).toBe(JSON.stringify(eventsTopicRecord.parse(record)))
  return json
}

function jsonPath(toJson: ReturnType<typeof createLogToJson>, log: RawLog, timestamp: number): string | undefined | 'rejected' {
  try {
    const event = toJson(log, timestamp)
    if (event === undefined) return undefined
    const parsed = eventsTopicRecord.parse(JSON.parse(event.json)) as ChainEventRecord
    expect([event.type, event.marketId, event.blockNumber, event.logIndex]).toEqual([
      parsed.type,
      parsed.market_id,
      parsed.chain.block_number,
      parsed.chain.log_index,
    ])
    return event.json
  } catch (error) {
    if (!(error instanceof LogToRecordError) && !(error instanceof Error && error.name === 'EventDecodeError')) throw error
    return 'rejected'
  }
}

describe('createLogToJson', () => {
  for (const addresses of ['lowercase', 'checksum'] as const) {
    const deps = { chainId, contract, decoder: createEventDecoder(perpExchangeAbi, { addresses }) }
    // One instance each across all runs, so the remembered blocks, transactions and slugs are exercised too.
    const toRecord = createLogToRecord(deps)
    const toJson = createLogToJson(deps)

    it(`writes for every valid log exactly the bytes of JSON.stringify of the schema's output (${addresses} decoder)`, () => {
      fc.assert(
        fc.property(validLogArb, fc.nat(), (log, timestamp) => {
          expect(jsonPath(toJson, log, timestamp)).toBe(checkedPath(toRecord, log, timestamp))
        }),
        { numRuns: 3000 },
      )
    })

    it(`rejects exactly the logs the checked path or the writer's check rejects (${addresses} decoder)`, () => {
      fc.assert(
        fc.property(fc.oneof(validLogArb, mutatedLogArb), blockTimestampArb, (log, timestamp) => {
          expect(jsonPath(toJson, log, timestamp)).toBe(checkedPath(toRecord, log, timestamp))
        }),
        { numRuns: 5000 },
      )
    })
  }

  it('rejects a market id whose text decodes but is no schema slug, which decodeMarketId alone lets through', () => {
    const event = events.find((e) => e.name === 'FundingUpdated')!
    const marketId = `0x${Buffer.from('btc--usd').toString('hex').padEnd(64, '0')}` as Hex
    const args = { marketId, fundingRate: 0n, cumulativeFundingIndex: 0n, longOpenInterest: 0n, shortOpenInterest: 0n, timestamp: 1n }
    const log = encodeLog(event, args, { blockNumber: '0x1', blockHash: `0x${'ab'.repeat(32)}`, transactionHash: `0x${'cd'.repeat(32)}`, logIndex: '0x0' })
    const toJson = createLogToJson({ chainId, contract, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) })
    expect(() => toJson(log, 1)).toThrow(LogToRecordError)
    expect(() => toJson(log, 1)).toThrow('is not a market id slug')
  })

  it('rejects every log when the configured contract is not an address the schema accepts', () => {
    const event = events.find((e) => e.name === 'FundingUpdated')!
    const args = { marketId: encodeMarketId('btc-usdc-perp'), fundingRate: 0n, cumulativeFundingIndex: 0n, longOpenInterest: 0n, shortOpenInterest: 0n, timestamp: 1n }
    const position = { blockNumber: '0x1', blockHash: `0x${'ab'.repeat(32)}`, transactionHash: `0x${'cd'.repeat(32)}`, logIndex: '0x0' } as const
    const log = { ...encodeLog(event, args, position), address: '0x5fbdb2315678afecb367f032d93f642f64180a' as Hex }
    const toJson = createLogToJson({ chainId, contract: log.address, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) })
    expect(() => toJson(log, 1)).toThrow('is not a lowercase address')
  })
})
