import fc from 'fast-check'
import { encodeAbiParameters, encodeEventTopics } from 'viem'
import type { Abi, AbiEvent, AbiParameter, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { chainEventRecord } from '../records/schemas.ts'
import type { RawLog } from './chain-types.ts'
import { EventDecodeError, createEventDecoder } from './event-decoder.ts'
import { LogToRecordError, createLogToRecord } from './log-to-record.ts'

const chainId = 31337
const contract: Hex = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const txHash: Hex = '0x5194ead3df889a15f3d33e47bcc128114dbb9dcd1147f2de8a8ffba6a815f248'
const blockHash: Hex = '0xc2eb276150acee68b12da8387bfdc0a857950e31d3857489ae201b8d9fa40936'
const positionId: Hex = '0x8a35acfbc15ff81a39ae7d344fd709f28e8600b4aa8c65c6b64bfe7fe36bd19b'
const trader: Hex = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
const keeper: Hex = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const blockTimestamp = 1_764_000_012
const WAD = 10n ** 18n

type EventName = Extract<(typeof perpExchangeAbi)[number], { type: 'event' }>['name']

/** A raw log of the perp contract as eth_getLogs returns it: block 42, log index 7 of `txHash`. */
function perpLog(eventName: EventName, args: Readonly<Record<string, unknown>>): RawLog {
  const abi: Abi = perpExchangeAbi
  const event = abi.find((item): item is AbiEvent => item.type === 'event' && item.name === eventName)
  if (event === undefined) throw new Error(`no event ${eventName}`)
  const indexed = Object.fromEntries(event.inputs.filter((i) => i.indexed).map((i) => [i.name, args[i.name ?? '']]))
  const topics = encodeEventTopics({ abi: [event], eventName, args: indexed } as never) as Hex[]
  const dataInputs: AbiParameter[] = event.inputs.filter((i) => i.indexed !== true)
  const data = encodeAbiParameters(dataInputs, dataInputs.map((i) => args[i.name ?? '']))
  return { address: contract, topics, data, blockNumber: '0x2a', blockHash, transactionHash: txHash, logIndex: '0x7' }
}

const chain = {
  chain_id: 31337,
  contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  block_number: 42,
  block_hash: blockHash,
  tx_hash: txHash,
  log_index: 7,
  block_timestamp: 1_764_000_012,
}
const id = `31337:${txHash}:7`

const toRecord = createLogToRecord({
  chainId,
  contract,
  decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }),
})

/** The record, after checking that it is one the log accepts. */
function mapped(log: RawLog) {
  const record = toRecord(log, blockTimestamp)
  expect(chainEventRecord.parse(record)).toEqual(record)
  return record
}

describe('createLogToRecord', () => {
  it('maps MarketListed to a market_listed record keyed by the market slug', () => {
    const log = perpLog('MarketListed', {
      marketId: encodeMarketId('btc-usdc-perp'),
      symbol: 'BTC/USDC',
      pythFeedId: '0xE62DF6C8B4A85FE1A67DB44DC12DE5DB330F7AC66B72DC658AFEDF0F4A415B43',
      maintenanceMarginRatio: 5n * 10n ** 16n,
      liquidationFeeRatio: 10n ** 16n,
    })
    expect(mapped(log)).toEqual({
      v: 1,
      id,
      type: 'market_listed',
      market_id: 'btc-usdc-perp',
      chain,
      data: {
        symbol: 'BTC/USDC',
        pyth_feed_id: '0xe62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43',
        maintenance_margin_ratio: '0.05',
        liquidation_fee_ratio: '0.01',
      },
    })
  })

  it('maps PositionOpened to a position_opened record with the side and WAD amounts as decimals', () => {
    const log = perpLog('PositionOpened', {
      positionId,
      trader,
      marketId: encodeMarketId('eth-usdc-perp'),
      isLong: false,
      size: 15n * 10n ** 17n,
      collateral: 10_000n * WAD,
      leverage: 9_750_000_000_000_000_000n,
      entryPrice: 3_250n * WAD + 1n,
      entryFundingIndex: -1_234_000_000_000_000n,
    })
    expect(mapped(log)).toEqual({
      v: 1,
      id,
      type: 'position_opened',
      market_id: 'eth-usdc-perp',
      chain,
      data: {
        position_id: positionId,
        trader: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
        side: 'short',
        size: '1.5',
        collateral: '10000',
        leverage: '9.75',
        entry_price: '3250.000000000000000001',
        entry_funding_index: '-0.001234',
      },
    })
  })

  it('maps PositionClosed to a position_closed record with signed PnL and funding', () => {
    const log = perpLog('PositionClosed', {
      positionId,
      trader,
      marketId: encodeMarketId('btc-usdc-perp'),
      exitPrice: 66_000n * WAD,
      realizedPnl: 1_499n * WAD,
      fundingPaid: -WAD,
    })
    expect(mapped(log)).toEqual({
      v: 1,
      id,
      type: 'position_closed',
      market_id: 'btc-usdc-perp',
      chain,
      data: {
        position_id: positionId,
        trader: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
        exit_price: '66000',
        realized_pnl: '1499',
        funding_paid: '-1',
      },
    })
  })

  it('maps PositionLiquidated to a position_liquidated record naming the liquidator', () => {
    const log = perpLog('PositionLiquidated', {
      positionId,
      trader,
      marketId: encodeMarketId('sol-usdc-perp'),
      liquidator: keeper,
      liquidationPrice: 142_500_000_000_000_000_000n,
      liquidationFee: 870n * WAD,
      realizedPnl: -10_000n * WAD,
    })
    expect(mapped(log)).toEqual({
      v: 1,
      id,
      type: 'position_liquidated',
      market_id: 'sol-usdc-perp',
      chain,
      data: {
        position_id: positionId,
        trader: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
        liquidator: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8',
        liquidation_price: '142.5',
        liquidation_fee: '870',
        realized_pnl: '-10000',
      },
    })
  })

  it('maps FundingUpdated to a funding_updated record with the emitted timestamp in seconds', () => {
    const log = perpLog('FundingUpdated', {
      marketId: encodeMarketId('btc-usdc-perp'),
      fundingRate: -125_000_000_000_000n,
      cumulativeFundingIndex: 8_125_000_000_000_000_000n,
      longOpenInterest: 97_500n * WAD,
      shortOpenInterest: 0n,
      timestamp: 1_764_000_000n,
    })
    expect(mapped(log)).toEqual({
      v: 1,
      id,
      type: 'funding_updated',
      market_id: 'btc-usdc-perp',
      chain,
      data: {
        funding_rate: '-0.000125',
        cumulative_funding_index: '8.125',
        long_open_interest: '97500',
        short_open_interest: '0',
        timestamp: 1_764_000_000,
      },
    })
  })

  it('produces the same records from a decoder that checksums addresses', () => {
    const checksummed = createLogToRecord({ chainId, contract, decoder: createEventDecoder(perpExchangeAbi) })
    const log = perpLog('PositionLiquidated', {
      positionId,
      trader,
      marketId: encodeMarketId('btc-usdc-perp'),
      liquidator: keeper,
      liquidationPrice: WAD,
      liquidationFee: WAD,
      realizedPnl: -WAD,
    })
    expect(checksummed(log, blockTimestamp)).toEqual(mapped(log))
  })

  it('lowercases the hashes of a node that sends upper-case hex', () => {
    const log = perpLog('PositionClosed', {
      positionId,
      trader,
      marketId: encodeMarketId('btc-usdc-perp'),
      exitPrice: WAD,
      realizedPnl: 0n,
      fundingPaid: 0n,
    })
    const upper = (hex: Hex): Hex => `0x${hex.slice(2).toUpperCase()}`
    const shouted: RawLog = {
      ...log,
      address: upper(log.address),
      topics: log.topics.map(upper),
      data: upper(log.data),
      blockHash: upper(log.blockHash),
      transactionHash: upper(log.transactionHash),
      blockNumber: '0x2A',
    }
    expect(mapped(shouted)).toEqual(mapped(log))
  })

  it('gives every log of a transaction its own id and each log the block and transaction it names', () => {
    const toRecords = createLogToRecord({ chainId, contract, decoder: createEventDecoder(perpExchangeAbi, { addresses: 'lowercase' }) })
    const log = perpLog('PositionClosed', { positionId, trader, marketId: encodeMarketId('btc-usdc-perp'), exitPrice: WAD, realizedPnl: 0n, fundingPaid: 0n })
    const otherTx: Hex = `0x${'ab'.repeat(32)}`
    const otherBlock: Hex = `0x${'cd'.repeat(32)}`
    const logs: RawLog[] = [
      log,
      { ...log, logIndex: '0x8' },
      { ...log, logIndex: '0x9', transactionHash: otherTx },
      { ...log, logIndex: '0x0', blockNumber: '0x2b', blockHash: otherBlock, transactionHash: otherTx },
      { ...log, logIndex: '0x1', blockNumber: '0x2b', blockHash: otherBlock, transactionHash: txHash },
    ]
    const positions = logs.map((l) => {
      const record = toRecords(l, blockTimestamp)!
      return [record.id, record.chain.block_number, record.chain.block_hash, record.chain.tx_hash]
    })
    expect(positions).toEqual([
      [`31337:${txHash}:7`, 42, blockHash, txHash],
      [`31337:${txHash}:8`, 42, blockHash, txHash],
      [`31337:${otherTx}:9`, 42, blockHash, otherTx],
      [`31337:${otherTx}:0`, 43, otherBlock, otherTx],
      [`31337:${txHash}:1`, 43, otherBlock, txHash],
    ])
    expect(() => toRecords({ ...log, transactionHash: '0x1234' }, blockTimestamp)).toThrow(/tx hash/)
    expect(() => toRecords({ ...log, blockNumber: '0xzz' }, blockTimestamp)).toThrow(LogToRecordError)
    expect(toRecords(log, blockTimestamp)?.id).toBe(`31337:${txHash}:7`)
  })

  it('writes any uint256 and int256 amount as a valid decimal string', () => {
    const uint256 = fc.bigInt(0n, 2n ** 256n - 1n)
    const int256 = fc.bigInt(-(2n ** 255n), 2n ** 255n - 1n)
    fc.assert(
      fc.property(uint256, int256, int256, (exitPrice, realizedPnl, fundingPaid) => {
        const log = perpLog('PositionClosed', {
          positionId,
          trader,
          marketId: encodeMarketId('btc-usdc-perp'),
          exitPrice,
          realizedPnl,
          fundingPaid,
        })
        const record = mapped(log)
        expect(record?.type).toBe('position_closed')
      }),
      { numRuns: 200 },
    )
  })

  it('returns undefined for a log of another contract or of an event not in the perp ABI', () => {
    const log = perpLog('PositionClosed', {
      positionId,
      trader,
      marketId: encodeMarketId('btc-usdc-perp'),
      exitPrice: WAD,
      realizedPnl: 0n,
      fundingPaid: 0n,
    })
    expect(toRecord({ ...log, address: keeper }, blockTimestamp)).toBeUndefined()
    const transfer: Hex = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef'
    expect(toRecord({ ...log, topics: [transfer, ...log.topics.slice(1)] }, blockTimestamp)).toBeUndefined()
  })

  it('rejects a market id that is no market slug, naming the log', () => {
    const log = perpLog('FundingUpdated', {
      marketId: `0x${'ff'.repeat(32)}`,
      fundingRate: 0n,
      cumulativeFundingIndex: 0n,
      longOpenInterest: 0n,
      shortOpenInterest: 0n,
      timestamp: 1n,
    })
    expect(() => toRecord(log, blockTimestamp)).toThrow(LogToRecordError)
    expect(() => toRecord(log, blockTimestamp)).toThrow(`tx ${txHash} log index 0x7`)
  })

  it('rejects a funding timestamp beyond the safe integer range rather than rounding it', () => {
    const log = perpLog('FundingUpdated', {
      marketId: encodeMarketId('btc-usdc-perp'),
      fundingRate: 0n,
      cumulativeFundingIndex: 0n,
      longOpenInterest: 0n,
      shortOpenInterest: 0n,
      timestamp: 2n ** 64n - 1n,
    })
    expect(() => toRecord(log, blockTimestamp)).toThrow('timestamp 18446744073709551615')
  })

  it('rejects a block timestamp that is not unix seconds', () => {
    const log = perpLog('FundingUpdated', {
      marketId: encodeMarketId('btc-usdc-perp'),
      fundingRate: 0n,
      cumulativeFundingIndex: 0n,
      longOpenInterest: 0n,
      shortOpenInterest: 0n,
      timestamp: 1n,
    })
    expect(() => toRecord(log, 1.5)).toThrow(LogToRecordError)
    expect(() => toRecord(log, -1)).toThrow('block timestamp -1')
  })

  it('passes on the decoder error for a malformed log of the perp contract', () => {
    const log = perpLog('FundingUpdated', {
      marketId: encodeMarketId('btc-usdc-perp'),
      fundingRate: 0n,
      cumulativeFundingIndex: 0n,
      longOpenInterest: 0n,
      shortOpenInterest: 0n,
      timestamp: 1n,
    })
    expect(() => toRecord({ ...log, data: '0x' }, blockTimestamp)).toThrow(EventDecodeError)
  })
})
