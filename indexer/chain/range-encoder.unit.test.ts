import { encodeAbiParameters, encodeEventTopics } from 'viem'
import type { Abi, AbiEvent, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { RpcError } from './chain-rpc.ts'
import type { RawLog } from './chain-types.ts'
import { encodedValue, type EncodedRecords } from './encoded-records.ts'
import { encodedFreshRecords } from './encoded-sink-records.ts'
import { createEventDecoder } from './event-decoder.ts'
import { eventsRecordCodec } from './events-record-codec.ts'
import { createLogToJson } from './log-to-json.ts'
import { createLogToRecord } from './log-to-record.ts'
import { encodeRange, toRecords } from './range-encoder.ts'

const chainId = 31337
const contract: Hex = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const WAD = 10n ** 18n
const events = (perpExchangeAbi as Abi).filter((item): item is AbiEvent => item.type === 'event')
const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`
const deps = { chainId, contract, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) }

interface Position {
  readonly block: number
  readonly index: number
  readonly tx: number
}

function perpLog(name: string, args: Readonly<Record<string, unknown>>, at: Position): RawLog {
  const event = events.find((e) => e.name === name)!
  const indexed = Object.fromEntries(event.inputs.filter((i) => i.indexed).map((i) => [i.name, args[i.name ?? '']]))
  const topics = encodeEventTopics({ abi: [event], eventName: name, args: indexed } as never) as Hex[]
  const dataInputs = event.inputs.filter((i) => i.indexed !== true)
  const data = encodeAbiParameters(dataInputs, dataInputs.map((i) => args[i.name ?? '']))
  const position = { blockNumber: `0x${at.block.toString(16)}`, blockHash: hash(1000 + at.block), transactionHash: hash(at.tx), logIndex: `0x${at.index.toString(16)}` } as const
  return { address: contract, topics, data, ...position }
}

const btc = encodeMarketId('btc-usdc-perp')
const eth = encodeMarketId('eth-usdc-perp')
const trader: Hex = '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266'

function listed(market: Hex, symbol: string, at: Position): RawLog {
  return perpLog('MarketListed', { marketId: market, symbol, pythFeedId: hash(7 + at.index), maintenanceMarginRatio: WAD / 20n, liquidationFeeRatio: WAD / 100n }, at)
}

function opened(market: Hex, n: number, at: Position): RawLog {
  const args = { positionId: hash(n), trader, marketId: market, isLong: n % 2 === 0, size: BigInt(n) * WAD, collateral: WAD, leverage: 5n * WAD, entryPrice: 65_000n * WAD, entryFundingIndex: -BigInt(n) }
  return perpLog('PositionOpened', args, at)
}

/** Blocks 10 to 12 with two listings (one symbol outside ASCII), a foreign and a removed log, and two logs out of order. */
function rangeLogs(symbol: string): RawLog[] {
  const logs: RawLog[] = [listed(btc, symbol, { block: 10, index: 0, tx: 1 }), listed(eth, 'ETH/USDC', { block: 10, index: 1, tx: 1 })]
  for (let i = 2; i < 300; i++) logs.push(opened(i % 3 === 0 ? eth : btc, i, { block: 10 + Math.floor(i / 100), index: i, tx: 2 + Math.floor(i / 50) }))
  logs.push({ ...opened(btc, 999, { block: 12, index: 999, tx: 9 }), address: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' })
  logs.push({ ...opened(btc, 998, { block: 12, index: 998, tx: 9 }), removed: true })
  const last = logs.length - 3
  ;[logs[last], logs[last - 1]] = [logs[last - 1]!, logs[last]!]
  return logs
}

const range = { from: 10, to: 12 }
const timestamps = new Map<string, number>([[hash(1010), 1_700_000_000], [hash(1011), 1_700_000_006], [hash(1012), 1_700_000_012]])

function valuesOf(encoded: EncodedRecords): string[] {
  return Array.from({ length: encoded.count }, (_, i) => encodedValue(encoded, i).toString('utf8'))
}

describe('encodeRange', () => {
  for (const symbol of ['BTC/USDC', 'BTC/USDC "perp" é']) {
    it(`writes a range as the JSON of the checked path's records, in chain order, without removed or foreign logs (symbol ${symbol})`, () => {
      const logs = rangeLogs(symbol)
      const encoded = encodeRange(createLogToJson(deps), logs, timestamps, range)
      const records = toRecords(createLogToRecord(deps), logs, timestamps, range)
      expect(encoded.count).toBe(300)
      expect(valuesOf(encoded)).toEqual(records.map((record) => eventsRecordCodec.stringify(record)))
      expect(Buffer.from(encoded.bytes).toString('utf8')).toBe(valuesOf(encoded).join(''))
      const positions = Array.from({ length: encoded.count }, (_, i) => [encoded.blockNumbers[i], encoded.logIndexes[i], encoded.types[i], encoded.markets[encoded.marketCodes[i]!]])
      expect(positions).toEqual(records.map((r) => [r.chain.block_number, r.chain.log_index, r.type, r.market_id]))
      expect(encoded.markets).toEqual(['btc-usdc-perp', 'eth-usdc-perp'])
    })
  }

  it('rejects a log outside the requested blocks as an invalid answer, as the record path does', () => {
    const logs = rangeLogs('BTC/USDC')
    const narrow = { from: 10, to: 11 }
    expect(() => encodeRange(createLogToJson(deps), logs, timestamps, narrow)).toThrow(RpcError)
    expect(() => encodeRange(createLogToJson(deps), logs, timestamps, narrow)).toThrow('answered a log of block 12')
    expect(() => toRecords(createLogToRecord(deps), logs, timestamps, narrow)).toThrow('answered a log of block 12')
  })
})

describe('encodedFreshRecords', () => {
  it('keeps only the records after their partition tail, keyed by market, and notes every market with its feed once listed', () => {
    const encoded = encodeRange(createLogToJson(deps), rangeLogs('BTC/USDC'), timestamps, range)
    const markets = new Map<string, string | undefined>([['sol-usdc-perp', hash(3)]])
    const partitionOf = (market: string): number => (market === 'btc-usdc-perp' ? 0 : 1)
    // Partition 0 (btc) already holds everything through block 11's log 150; partition 1 (eth) nothing.
    const isFresh = (partition: number, block: number, logIndex: number): boolean => partition === 1 || block > 11 || (block === 11 && logIndex > 150)
    const fresh = encodedFreshRecords(encoded, { markets, isFresh, partitionOf })
    const expected = Array.from({ length: encoded.count }, (_, i) => i).filter((i) => {
      const market = encoded.markets[encoded.marketCodes[i]!]!
      return isFresh(partitionOf(market), encoded.blockNumbers[i]!, encoded.logIndexes[i]!)
    })
    expect(fresh.indexes).toEqual(expected)
    expect(fresh.indexes.length).toBeLessThan(encoded.count)
    expect(fresh.records.map((r) => [r.key, r.value.toString('utf8')])).toEqual(expected.map((i) => [encoded.markets[encoded.marketCodes[i]!], valuesOf(encoded)[i]]))
    expect(fresh.types).toEqual(expected.map((i) => encoded.types[i]))
    expect(markets).toEqual(new Map([['sol-usdc-perp', hash(3)], ['btc-usdc-perp', hash(7)], ['eth-usdc-perp', hash(8)]]))
  })
})
