import fc from 'fast-check'
import { decodeEventLog, encodeAbiParameters, encodeEventTopics, keccak256, parseAbi, toHex } from 'viem'
import type { Abi, AbiEvent, AbiParameter, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { RawLog } from './chain-types.ts'
import { EventDecodeError, UnsupportedEventError, createEventDecoder } from './event-decoder.ts'

const contract: Hex = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const txHash: Hex = '0x5194ead3df889a15f3d33e47bcc128114dbb9dcd1147f2de8a8ffba6a815f248'
const blockHash: Hex = '0xc2eb276150acee68b12da8387bfdc0a857950e31d3857489ae201b8d9fa40936'
const trader: Hex = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const keeper: Hex = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const WAD = 10n ** 18n
const MAX_UINT256 = 2n ** 256n - 1n
const MIN_INT256 = -(2n ** 255n)
const MAX_INT256 = 2n ** 255n - 1n

const perpEvents = perpExchangeAbi.filter((item): item is Extract<typeof item, { type: 'event' }> => item.type === 'event')

/** Every supported type beyond the perp contract's, including the narrow integers viem returns as numbers. */
const wideAbi = parseAbi([
  'event Indexed(uint8 indexed small, int24 indexed tiny, bytes indexed blob, string indexed label, bool flag)',
  'event Words(uint48 n48, int48 i48, uint64 n64, int128 i128, bytes1 b1, bytes16 b16, bytes payload, string note, address who)',
])

function eventOf(abi: Abi, name: string): AbiEvent {
  const event = abi.find((item): item is AbiEvent => item.type === 'event' && item.name === name)
  if (event === undefined) throw new Error(`no event ${name}`)
  return event
}

/** A raw log as eth_getLogs returns it, encoded by viem from named argument values. */
function encodeLog(abi: Abi, eventName: string, args: Readonly<Record<string, unknown>>): RawLog {
  const event = eventOf(abi, eventName)
  const indexed = Object.fromEntries(event.inputs.filter((i) => i.indexed).map((i) => [i.name, args[i.name ?? '']]))
  const topics = encodeEventTopics({ abi: [event], eventName, args: indexed } as never) as Hex[]
  const dataInputs: AbiParameter[] = event.inputs.filter((i) => i.indexed !== true)
  const data = encodeAbiParameters(dataInputs, dataInputs.map((i) => args[i.name ?? '']))
  return { address: contract, topics, data, blockNumber: '0x2a', blockHash, transactionHash: txHash, logIndex: '0x7' }
}

function viemDecode<const abi extends Abi>(abi: abi, log: RawLog) {
  return decodeEventLog({ abi, topics: log.topics as [Hex, ...Hex[]], data: log.data })
}

/** `data` with its 32-byte word number `index` replaced. */
function withWord(data: Hex, index: number, word: string): Hex {
  const at = 2 + 64 * index
  return `0x${data.slice(2, at)}${word}${data.slice(at + 64)}`
}

const word = (value: bigint): string => value.toString(16).padStart(64, '0')
const hexOf = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString('hex')}`
const bytesArbitrary = (length: number) => fc.uint8Array({ minLength: length, maxLength: length }).map(hexOf)

const stringArbitrary = fc.oneof(
  fc.constantFrom('', 'BTC/USDC', '\uFEFFa leading byte order mark', 'x'.repeat(32), 'y'.repeat(33), 'ü€😀'),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ minLength: 33, maxLength: 300 }),
)

function integerArbitrary(signed: boolean, bits: number): fc.Arbitrary<bigint | number> {
  const min = signed ? -(2n ** BigInt(bits - 1)) : 0n
  const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n
  const values = fc.oneof(fc.constantFrom(min, max, 0n, 1n, min + 1n, max - 1n), fc.bigInt(min, max))
  return bits <= 48 ? values.map(Number) : values
}

function valueArbitrary(type: string): fc.Arbitrary<unknown> {
  if (type === 'address') return bytesArbitrary(20)
  if (type === 'bool') return fc.boolean()
  if (type === 'string') return stringArbitrary
  if (type === 'bytes') return fc.uint8Array({ maxLength: 100 }).map(hexOf)
  const integer = /^(u?)int(\d+)$/.exec(type)
  if (integer !== null) return integerArbitrary(integer[1] === '', Number(integer[2]))
  const bytes = /^bytes(\d+)$/.exec(type)
  if (bytes !== null) return bytesArbitrary(Number(bytes[1]))
  throw new Error(`no arbitrary for ${type}`)
}

function argsArbitrary(event: AbiEvent): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(Object.fromEntries(event.inputs.map((input) => [input.name ?? '', valueArbitrary(input.type)])))
}

const btc = encodeMarketId('btc-usdc-perp')
const positionId: Hex = '0x8a35acfbc15ff81a39ae7d344fd709f28e8600b4aa8c65c6b64bfe7fe36bd19b'
const examples: Record<(typeof perpEvents)[number]['name'], Record<string, unknown>> = {
  MarketListed: {
    marketId: btc,
    symbol: 'BTC/USDC',
    pythFeedId: '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43',
    maintenanceMarginRatio: 5n * 10n ** 16n,
    liquidationFeeRatio: 10n ** 16n,
  },
  PositionOpened: {
    positionId,
    trader,
    marketId: btc,
    isLong: true,
    size: 15n * 10n ** 17n,
    collateral: 10_000n * WAD,
    leverage: 9_750_000_000_000_000_000n,
    entryPrice: 65_000n * WAD,
    entryFundingIndex: -1_234_000_000_000_000n,
  },
  PositionClosed: {
    positionId,
    trader,
    marketId: btc,
    exitPrice: 66_000n * WAD,
    realizedPnl: 1_499_000_000_000_000_000_000n,
    fundingPaid: -1_000_000_000_000_000_000n,
  },
  PositionLiquidated: {
    positionId,
    trader,
    marketId: btc,
    liquidator: keeper,
    liquidationPrice: 58_000n * WAD,
    liquidationFee: 870n * WAD,
    realizedPnl: -10_000n * WAD,
  },
  FundingUpdated: {
    marketId: btc,
    fundingRate: -125_000_000_000_000n,
    cumulativeFundingIndex: 8_125_000_000_000_000_000n,
    longOpenInterest: 97_500n * WAD,
    shortOpenInterest: 0n,
    timestamp: 1_764_000_000n,
  },
}

const decoder = createEventDecoder(perpExchangeAbi)

describe('createEventDecoder on the perp contract ABI', () => {
  it('keys its decoders by the topic0 viem computes for each event', () => {
    const expected = perpEvents.map((event) => encodeLog(perpExchangeAbi, event.name, examples[event.name]).topics[0])
    expect([...decoder.selectors].sort()).toEqual(expected.sort())
  })

  it.each(perpEvents.map((event) => event.name))('decodes a %s log exactly as viem decodeEventLog does', (name) => {
    const log = encodeLog(perpExchangeAbi, name, examples[name])
    const decoded = decoder.decode(log)
    expect(decoded).toEqual(viemDecode(perpExchangeAbi, log))
    expect(decoded).toEqual({ eventName: name, args: examples[name] })
  })

  it('types the args from the ABI, narrowed by event name', () => {
    const decoded = decoder.decode(encodeLog(perpExchangeAbi, 'PositionOpened', examples.PositionOpened))
    if (decoded?.eventName !== 'PositionOpened') throw new Error('expected PositionOpened')
    const size: bigint = decoded.args.size
    const isLong: boolean = decoded.args.isLong
    const owner: Hex = decoded.args.trader
    expect([size, isLong, owner]).toEqual([15n * 10n ** 17n, true, trader])
  })

  it.each(perpEvents.map((event) => event.name))(
    'decodes random %s arguments over their full ranges as viem does',
    (name) => {
      fc.assert(
        fc.property(argsArbitrary(eventOf(perpExchangeAbi, name)), (args) => {
          const log = encodeLog(perpExchangeAbi, name, args)
          expect(decoder.decode(log)).toEqual(viemDecode(perpExchangeAbi, log))
        }),
        { numRuns: 300 },
      )
    },
  )

  it('returns lowercase addresses, and otherwise the same values, with addresses: lowercase', () => {
    const lowercase = createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' })
    fc.assert(
      fc.property(argsArbitrary(eventOf(perpExchangeAbi, 'PositionLiquidated')), (args) => {
        const log = encodeLog(perpExchangeAbi, 'PositionLiquidated', args)
        const viem = viemDecode(perpExchangeAbi, log)
        if (viem.eventName !== 'PositionLiquidated') throw new Error('expected PositionLiquidated')
        const expected = {
          ...viem,
          args: { ...viem.args, trader: viem.args.trader.toLowerCase(), liquidator: viem.args.liquidator.toLowerCase() },
        }
        expect(lowercase.decode(log)).toEqual(expected)
      }),
      { numRuns: 200 },
    )
  })

  it('returns undefined for a log whose topic0 is no event of the ABI, or that has no topics', () => {
    const log = encodeLog(perpExchangeAbi, 'PositionClosed', examples.PositionClosed)
    const transfer: Hex = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
    expect(decoder.decode({ ...log, topics: [transfer, ...log.topics.slice(1)] })).toBeUndefined()
    expect(decoder.decode({ ...log, topics: [] })).toBeUndefined()
  })

  it('reads upper-case hex as the same values, returned lowercase', () => {
    const log = encodeLog(perpExchangeAbi, 'PositionLiquidated', examples.PositionLiquidated)
    const upper = (hex: Hex): Hex => `0x${hex.slice(2).toUpperCase()}`
    const shouted = { ...log, topics: log.topics.map(upper), data: upper(log.data) }
    expect(decoder.decode(shouted)).toEqual(viemDecode(perpExchangeAbi, log))
  })

  it('ignores data after the last value, as viem does', () => {
    const log = encodeLog(perpExchangeAbi, 'PositionClosed', examples.PositionClosed)
    const padded = { ...log, data: `${log.data}${'ab'.repeat(40)}` as Hex }
    expect(decoder.decode(padded)).toEqual(viemDecode(perpExchangeAbi, padded))
    expect(decoder.decode(padded)).toEqual(decoder.decode(log))
  })
})

describe('createEventDecoder on every supported type', () => {
  const wide = createEventDecoder(wideAbi)

  it.each(['Indexed', 'Words'])('decodes random %s logs (narrow integers, bytesN, bytes, hashes) as viem does', (name) => {
    fc.assert(
      fc.property(argsArbitrary(eventOf(wideAbi, name)), (args) => {
        const log = encodeLog(wideAbi, name, args)
        expect(wide.decode(log)).toEqual(viemDecode(wideAbi, log))
      }),
      { numRuns: 300 },
    )
  })

  it('returns the topic itself for an indexed string or bytes, which holds only its hash', () => {
    const args = { small: 1, tiny: -1, blob: '0x0102', label: 'BTC/USDC', flag: true }
    const log = encodeLog(wideAbi, 'Indexed', args)
    const decoded = wide.decode(log)
    if (decoded?.eventName !== 'Indexed') throw new Error('expected Indexed')
    expect(decoded.args.blob).toBe(log.topics[3])
    expect(decoded.args.label).toBe(log.topics[4])
    expect(decoded.args).toEqual({ ...args, blob: keccak256('0x0102'), label: keccak256(toHex('BTC/USDC')) })
  })
})

const listed = encodeLog(perpExchangeAbi, 'MarketListed', examples.MarketListed)
const liquidated = encodeLog(perpExchangeAbi, 'PositionLiquidated', examples.PositionLiquidated)
const funded = encodeLog(perpExchangeAbi, 'FundingUpdated', examples.FundingUpdated)
const opened = encodeLog(perpExchangeAbi, 'PositionOpened', examples.PositionOpened)

describe('createEventDecoder on malformed logs', () => {
  const rejectedByBoth: [string, RawLog][] = [
    ['data one word short', { ...liquidated, data: liquidated.data.slice(0, -64) as Hex }],
    ['data one byte short', { ...liquidated, data: liquidated.data.slice(0, -2) as Hex }],
    ['empty data', { ...liquidated, data: '0x' }],
    ['a missing topic', { ...liquidated, topics: liquidated.topics.slice(0, 3) }],
    ['topic0 alone', { ...liquidated, topics: liquidated.topics.slice(0, 1) }],
    ['a topic shorter than 32 bytes', { ...liquidated, topics: [...liquidated.topics.slice(0, 3), '0x1234'] }],
    ['a non-hex char in a number', { ...liquidated, data: `${liquidated.data.slice(0, -1)}z` as Hex }],
    ['a string offset past the data', { ...listed, data: withWord(listed.data, 0, word(0x1000n)) }],
    ['a string length past the data', { ...listed, data: withWord(listed.data, 4, word(33n)) }],
    ['a bool word of 2', { ...opened, data: withWord(opened.data, 0, word(2n)) }],
  ]

  it.each(rejectedByBoth)('throws EventDecodeError for %s, which viem rejects too', (_, log) => {
    expect(() => viemDecode(perpExchangeAbi, log)).toThrow()
    expect(() => decoder.decode(log)).toThrow(EventDecodeError)
  })

  // viem decodes these into values no contract emitted; a decoder feeding a log of record must not.
  const rejectedByUsAlone: [string, RawLog][] = [
    ['an extra topic', { ...liquidated, topics: [...liquidated.topics, blockHash] }],
    ['odd-length data', { ...liquidated, data: `${liquidated.data}0` as Hex }],
    [
      'an address with non-zero high bytes',
      { ...liquidated, data: withWord(liquidated.data, 0, `01${'0'.repeat(22)}${keeper.slice(2).toLowerCase()}`) },
    ],
    ['a uint64 word above 2^64 - 1', { ...funded, data: withWord(funded.data, 4, word(2n ** 64n)) }],
    [
      'an int256 word with trailing whitespace',
      { ...liquidated, data: withWord(liquidated.data, 3, `${'0'.repeat(63)} `) },
    ],
  ]

  it.each(rejectedByUsAlone)('throws EventDecodeError for %s, which viem lets through', (_, log) => {
    expect(() => decoder.decode(log)).toThrow(EventDecodeError)
  })

  it('rejects a bytesN word with non-zero padding', () => {
    const wide = createEventDecoder(wideAbi)
    const [args] = fc.sample(argsArbitrary(eventOf(wideAbi, 'Words')), { numRuns: 1, seed: 3 })
    const log = encodeLog(wideAbi, 'Words', args ?? {})
    // b1 is head word 4 of the data: one byte, then 31 bytes of padding.
    const dirty = { ...log, data: withWord(log.data, 4, `ab${'0'.repeat(61)}1`) }
    expect(() => wide.decode(dirty)).toThrow(EventDecodeError)
  })

  it('names the event, the transaction and the log index in the error, keeping the cause', () => {
    const log = { ...listed, data: withWord(listed.data, 0, word(0x1000n)) }
    const error = (() => {
      try {
        decoder.decode(log)
      } catch (caught) {
        return caught
      }
      throw new Error('expected a throw')
    })()
    expect(error).toBeInstanceOf(EventDecodeError)
    const decodeError = error as EventDecodeError
    expect(decodeError.message).toContain('MarketListed')
    expect(decodeError.message).toContain(txHash)
    expect(decodeError.message).toContain('log index 0x7')
    expect(decodeError.message).toContain('symbol')
    expect(decodeError).toMatchObject({ eventName: 'MarketListed', transactionHash: txHash, logIndex: '0x7' })
    expect(decodeError.cause).toBeInstanceOf(Error)
  })

  it('names the expected and actual topic counts', () => {
    expect(() => decoder.decode({ ...liquidated, topics: liquidated.topics.slice(0, 2) })).toThrow(
      `PositionLiquidated at tx ${txHash} log index 0x7: expected 4 topics, got 2`,
    )
  })
})

describe('createEventDecoder on ABIs it cannot decode', () => {
  it.each([
    ['a tuple in the data', 'event Pair((uint256 a, uint256 b) pair)', 'Pair', 'tuple'],
    ['an array in the data', 'event Batch(uint256[] amounts)', 'Batch', 'uint256[]'],
    ['an indexed array', 'event Tagged(bytes32[2] indexed tags)', 'Tagged', 'bytes32[2]'],
  ])('fails when built with %s, naming the event and the type', (_, signature, eventName, type) => {
    const abi = parseAbi([signature])
    expect(() => createEventDecoder(abi)).toThrow(UnsupportedEventError)
    expect(() => createEventDecoder(abi)).toThrow(eventName)
    expect(() => createEventDecoder(abi)).toThrow(type)
  })

  it('fails when built with a fixed-point type, naming the event and the type', () => {
    const inputs = [{ name: 'rate', type: 'fixed128x18', indexed: false }] as const
    const abi = [{ type: 'event', name: 'Rate', inputs }] as const
    expect(() => createEventDecoder(abi)).toThrow('cannot decode event Rate: input rate has unsupported type fixed128x18')
  })

  it('fails when built with an anonymous event, which has no topic0 to key it by', () => {
    const inputs = [{ name: 'n', type: 'uint256', indexed: false }] as const
    const abi = [{ type: 'event', name: 'Ping', anonymous: true, inputs }] as const
    expect(() => createEventDecoder(abi)).toThrow('cannot decode event Ping: anonymous events have no topic0')
  })

  it('fails when built with an unnamed input, which viem would decode into an array', () => {
    expect(() => createEventDecoder(parseAbi(['event Ping(uint256)']))).toThrow(UnsupportedEventError)
  })

  it('fails when two events of the ABI share a topic0', () => {
    const abi = parseAbi(['event Moved(uint256 indexed amount)', 'event Moved(uint256 amount)'])
    expect(() => createEventDecoder(abi)).toThrow('topic0 is also that of Moved')
  })
})
