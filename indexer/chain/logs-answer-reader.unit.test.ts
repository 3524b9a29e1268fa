import fc from 'fast-check'
import { encodeAbiParameters, encodeEventTopics, toEventSelector } from 'viem'
import type { Abi, AbiEvent, AbiParameter, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { BlockRange } from './adaptive-range.ts'
import type { RawLog } from './chain-types.ts'
import type { EncodedRecords } from './encoded-records.ts'
import { createEventDecoder } from './event-decoder.ts'
import { createLogToJson } from './log-to-json.ts'
import { answerReaderOptions } from './answer-reader-options.ts'
import { EVENT_SPECS, READER_EVENTS } from './answer-layout.ts'
import { createLogsAnswerReader } from './logs-answer-reader.ts'
import { encodeRange, logTimestamps } from './range-encoder.ts'

const chainId = 31337
const contract: Hex = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const deps = { chainId, contract, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) }
const read = createLogsAnswerReader(answerReaderOptions(deps)!)
const toJson = createLogToJson(deps)
const events = (perpExchangeAbi as Abi).filter((item): item is AbiEvent => item.type === 'event')
const eventNamed = (name: string): AbiEvent => events.find((event) => event.name === name)!
const STATIC_EVENTS = ['PositionOpened', 'PositionClosed', 'PositionLiquidated', 'FundingUpdated']

/** A log as anvil sends it, fields in its order. */
interface NodeLog extends RawLog {
  readonly blockTimestamp: Hex
  readonly transactionIndex: Hex
}

const toHex = (value: number): Hex => `0x${value.toString(16)}`
const hexDigits = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length })
const hash = hexDigits(64).map((digits) => `0x${digits}` as Hex)
const uint = fc.oneof(fc.bigInt(0n, 2n ** 256n - 1n), fc.bigInt(0n, 10n ** 24n), fc.constantFrom(0n, 10n ** 18n, 2n ** 128n - 1n))
const int = fc.oneof(fc.bigInt(-(2n ** 255n), 2n ** 255n - 1n), fc.bigInt(-(10n ** 24n), 10n ** 24n), fc.constantFrom(0n, -1n))
const slugs = ['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp']

function valueArb(input: AbiParameter): fc.Arbitrary<unknown> {
  if (input.name === 'marketId') return fc.constantFrom(...slugs).map((slug) => encodeMarketId(slug))
  if (input.type === 'bytes32') return hash
  if (input.type === 'address') return hexDigits(40).map((digits) => `0x${digits}`)
  if (input.type === 'bool') return fc.boolean()
  if (input.type === 'string') return fc.constantFrom('BTC/USDC', 'ETH "perp"')
  if (input.type === 'uint64') return fc.oneof(fc.bigInt(0n, 2n ** 52n), fc.bigInt(0n, 2n ** 64n - 1n))
  if (input.type === 'uint256') return uint
  if (input.type === 'int256') return int
  throw new Error(`no arbitrary for ${input.type}`)
}

/** One event's topics and data, with random arguments. */
const eventArb = (names: readonly string[]) =>
  fc.constantFrom(...names).chain((name) => {
    const event = eventNamed(name)
    return fc.tuple(...event.inputs.map(valueArb)).map((values) => {
      const args = Object.fromEntries(event.inputs.map((input, i) => [input.name, values[i]]))
      const indexed = Object.fromEntries(event.inputs.filter((input) => input.indexed).map((input) => [input.name, args[input.name ?? '']]))
      const topics = encodeEventTopics({ abi: [event], eventName: event.name, args: indexed } as never) as Hex[]
      const dataInputs = event.inputs.filter((input) => input.indexed !== true)
      const data = encodeAbiParameters(dataInputs, dataInputs.map((input) => args[input.name ?? '']))
      return { topics, data }
    })
  })

/** Logs in chain order over a few blocks and transactions, as one answer for `range`. */
const answerArb = (names: readonly string[]) =>
  fc
    .record({
      events: fc.array(eventArb(names), { minLength: 0, maxLength: 12 }),
      firstBlock: fc.integer({ min: 1, max: 2 ** 40 }),
      blockSteps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 12, maxLength: 12 }),
      // One hash per block: blocks advance by at most 3 over at most 12 logs.
      blockHashes: fc.uniqueArray(hash, { minLength: 37, maxLength: 37 }),
      txHashes: fc.array(hash, { minLength: 3, maxLength: 3 }),
      firstTimestamp: fc.integer({ min: 0, max: 2 ** 40 }),
      id: fc.nat(),
    })
    .map(({ events: logs, firstBlock, blockSteps, blockHashes, txHashes, firstTimestamp, id }) => {
      let block = firstBlock
      let logIndex = 0
      const nodeLogs = logs.map((event, i): NodeLog => {
        if (i > 0 && blockSteps[i]! > 0) {
          block += blockSteps[i]!
          logIndex = 0
        }
        return {
          address: contract,
          topics: event.topics,
          data: event.data,
          blockHash: blockHashes[block - firstBlock]!,
          blockNumber: toHex(block),
          blockTimestamp: toHex(firstTimestamp + block - firstBlock),
          transactionHash: txHashes[i % 3]!,
          transactionIndex: toHex(i % 3),
          logIndex: toHex(logIndex++),
          removed: false,
        }
      })
      const range: BlockRange = { from: firstBlock, to: block }
      return { body: answerBody(id, nodeLogs), range }
    })

function answerBody(id: number, logs: readonly NodeLog[]): Buffer {
  const text = logs.map((log) =>
    JSON.stringify({
      address: log.address,
      topics: log.topics,
      data: log.data,
      blockHash: log.blockHash,
      blockNumber: log.blockNumber,
      blockTimestamp: log.blockTimestamp,
      transactionHash: log.transactionHash,
      transactionIndex: log.transactionIndex,
      logIndex: log.logIndex,
      removed: log.removed,
    }),
  )
  return Buffer.from(`{"jsonrpc":"2.0","id":${id},"result":[${text.join(',')}]}`, 'latin1')
}

/**
 * What the parsed path makes of the answer: its records, 'headers' when it would fetch block
 * headers for missing timestamps, or the error it throws.
 */
function parsedPath(body: Buffer, range: BlockRange): EncodedRecords | 'headers' | Error {
  try {
    const answer = JSON.parse(body.toString('utf8')) as { result?: unknown }
    if (!Array.isArray(answer.result)) return new Error('no result array')
    const logs = answer.result as RawLog[]
    for (const log of logs) if (typeof log !== 'object' || log === null || !Array.isArray(log.topics)) return new Error('malformed log')
    const { timestamps, missing } = logTimestamps(logs)
    if (missing.size > 0) return 'headers'
    return encodeRange(toJson, logs, timestamps, range)
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
}

/** Everything the sink reads of the records, each record's market by name. */
const comparable = (records: EncodedRecords) => ({
  json: records.bytes.toString('latin1'),
  ends: records.ends,
  blockNumbers: records.blockNumbers,
  logIndexes: records.logIndexes,
  types: records.types,
  markets: records.marketCodes.map((code) => records.markets[code]),
})

/** The reader's verdict on the answer: undefined, or the parsed path's records exactly. */
function expectReaderHoldsToParsedPath(body: Buffer, range: BlockRange): boolean {
  const fast = read(body, range)
  if (fast === undefined) return false
  const parsed = parsedPath(body, range)
  if (!(typeof parsed === 'object' && 'bytes' in parsed)) throw new Error(`the reader took an answer the parsed path gives ${String(parsed)} for`)
  expect(comparable(fast.encoded)).toEqual(comparable(parsed))
  expect(fast.logs).toBe((JSON.parse(body.toString('latin1')) as { result: unknown[] }).result.length)
  return true
}

describe('logs answer reader', () => {
  it('writes exactly the parsed path\'s records for any answer of the four static events in the node layout', () => {
    fc.assert(
      fc.property(answerArb(STATIC_EVENTS), ({ body, range }) => {
        const parsed = parsedPath(body, range)
        const fast = read(body, range)
        // Every such answer the parsed path accepts is taken (values the records refuse are not).
        if (typeof parsed === 'object' && 'bytes' in parsed) expect(fast).toBeDefined()
        if (fast !== undefined) expectReaderHoldsToParsedPath(body, range)
      }),
      { numRuns: 1_500 },
    )
  })

  it('leaves an answer with a MarketListed log to the parsed path', () => {
    fc.assert(
      fc.property(answerArb(['MarketListed', ...STATIC_EVENTS]), ({ body, range }) => {
        const listed = body.includes(Buffer.from(toEventSelector(eventNamed('MarketListed')).slice(2)))
        if (listed) expect(read(body, range)).toBeUndefined()
        else expectReaderHoldsToParsedPath(body, range)
      }),
      { numRuns: 300 },
    )
  })

  it('never gives other records than the parsed path for an answer edited at random', () => {
    const palette = [...'0123456789abcdefABCDEFx"\\,:[]{} \n-g\u0000\u00e9']
    const edit = fc.record({
      kind: fc.constantFrom('replace', 'delete', 'insert'),
      at: fc.nat(),
      byte: fc.constantFrom(...palette).map((char) => Buffer.from(char, 'utf8')),
    })
    let taken = 0
    fc.assert(
      fc.property(answerArb(STATIC_EVENTS), fc.array(edit, { minLength: 1, maxLength: 3 }), ({ body, range }, edits) => {
        let edited = body
        for (const { kind, at, byte } of edits) {
          const i = at % (edited.length + 1)
          const tail = edited.subarray(kind === 'insert' ? i : i + 1)
          edited = Buffer.concat([edited.subarray(0, i), kind === 'delete' ? Buffer.alloc(0) : byte, tail])
        }
        if (expectReaderHoldsToParsedPath(edited, range)) taken++
      }),
      { numRuns: 5_000 },
    )
    // Edits inside a value's digits keep the layout: the property is not vacuous.
    expect(taken).toBeGreaterThan(25)
  })

  it('leaves to the parsed path what that path decides itself', () => {
    const event = eventNamed('PositionOpened')
    const sample = fc.sample(answerArb(['PositionOpened']).filter(({ body }) => read(body, { from: 0, to: 2 ** 50 }) !== undefined && body.length > 2000), 1)[0]!
    const { body, range } = sample
    const text = body.toString('latin1')
    const variants: Record<string, string> = {
      'uppercase hex': text.replace(/"transactionHash":"0x([0-9a-f]{64})/, (_, digits: string) => `"transactionHash":"0x${digits.toUpperCase()}`),
      'a removed log': text.replace('"removed":false', '"removed":true'),
      'no block timestamp': text.replace(/"blockTimestamp":"0x[0-9a-f]+",/, ''),
      'another contract': text.replace(contract.slice(2), 'ab'.repeat(20)),
      'spaces between fields': text.replace('","topics"', '", "topics"'),
      'an error answer': '{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"query returned more than 10000 results"}}',
      'an id with a leading zero': text.replace(/"id":\d+/, '"id":01'),
    }
    for (const [what, variant] of Object.entries(variants)) {
      expect(variant, what).not.toBe(text)
      expect(read(Buffer.from(variant, 'latin1'), range), what).toBeUndefined()
    }
    expect(event.name).toBe('PositionOpened')
    // Blocks outside the requested range: the parsed path refuses the answer.
    expect(read(body, { from: range.from + 1, to: range.to })).toBeUndefined()
    expect(parsedPath(body, { from: range.from + 1, to: range.to })).toBeInstanceOf(Error)
  })

  it('knows each event\'s topics and data words as the ABI declares them', () => {
    for (const name of READER_EVENTS) {
      const event = eventNamed(name)
      const indexed = event.inputs.filter((input) => input.indexed === true)
      expect(EVENT_SPECS[name].topics, name).toBe(1 + indexed.length)
      expect(EVENT_SPECS[name].words, name).toBe(event.inputs.length - indexed.length)
      expect(indexed[EVENT_SPECS[name].marketTopic - 1]?.name, name).toBe('marketId')
    }
  })

  it('is not built for a contract or chain id the records refuse, nor for another ABI\'s decoder', () => {
    expect(answerReaderOptions({ ...deps, contract: '0x1234' })).toBeUndefined()
    expect(answerReaderOptions({ ...deps, chainId: -1 })).toBeUndefined()
    expect(answerReaderOptions({ ...deps, decoder: createEventDecoder([eventNamed('MarketListed')] as const) as never })).toBeUndefined()
    expect(answerReaderOptions(deps)?.contract).toBe(contract)
  })

  it('reads an empty answer and one with a trailing newline', () => {
    expect(read(Buffer.from('{"jsonrpc":"2.0","id":3,"result":[]}'), { from: 0, to: 9 })).toEqual({ logs: 0, encoded: expect.objectContaining({ count: 0 }) })
    const { body, range } = fc.sample(answerArb(STATIC_EVENTS).filter(({ body, range }) => read(body, range) !== undefined), 1)[0]!
    expect(read(Buffer.concat([body, Buffer.from('\n')]), range)).toEqual(read(body, range))
  })

  it('leaves logs out of chain order to the parsed path, which sorts them', () => {
    const logs = fc.sample(answerArb(['PositionClosed']).filter(({ body }) => (JSON.parse(body.toString()) as { result: unknown[] }).result.length >= 2), 1)[0]!
    const answer = JSON.parse(logs.body.toString()) as { id: number; result: NodeLog[] }
    const swapped = answerBody(answer.id, [...answer.result].reverse())
    expect(read(swapped, logs.range)).toBeUndefined()
  })
})
