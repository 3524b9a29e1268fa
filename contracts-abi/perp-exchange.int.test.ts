import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeEventLog,
  encodeAbiParameters,
  http,
  keccak256,
  parseEventLogs,
  parseUnits,
  type Address,
  type Hash,
  type Hex,
  type Log,
  type PublicClient,
  type TransactionReceipt,
} from 'viem'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { anvil as anvilChain } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { anvilAccounts, startAnvil, type Anvil } from '../test/support/anvil.ts'
import { deployPerpExchange, listMarkets } from './deploy.ts'
import { decodeMarketId, encodeMarketId } from './market-id.ts'
import { markets } from './markets.ts'
import { perpExchangeAbi } from './perp-exchange.abi.ts'

const wad = (decimal: string): bigint => parseUnits(decimal, 18)
// BigInt division truncates toward zero, as Solidity's does.
const mulWad = (a: bigint, b: bigint): bigint => (a * b) / 10n ** 18n

const BTC = encodeMarketId('btc-usdc-perp')
const ETH = encodeMarketId('eth-usdc-perp')
const SOL = encodeMarketId('sol-usdc-perp')

type DecodedEvent = ReturnType<typeof decodeEventLog<typeof perpExchangeAbi>>
type EventNamed<N extends DecodedEvent['eventName']> = Extract<DecodedEvent, { eventName: N }>
interface DecodedLog {
  readonly log: Log
  readonly event: DecodedEvent
}

interface Revert {
  readonly errorName: string | undefined
  readonly args: readonly unknown[] | undefined
}

async function revertOf(call: Promise<unknown>): Promise<Revert> {
  try {
    await call
  } catch (error) {
    const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null
    if (revert instanceof ContractFunctionRevertedError) {
      return { errorName: revert.data?.errorName, args: revert.data?.args }
    }
    throw error
  }
  throw new Error('expected the call to revert')
}

function accountOf(index: number): PrivateKeyAccount {
  const account = anvilAccounts[index]
  if (account === undefined) throw new Error(`anvil has no default account ${index}`)
  return privateKeyToAccount(account.privateKey)
}

describe('PerpExchange on a real anvil', () => {
  let node: Anvil
  let exchange: Address
  let publicClient: PublicClient
  let decoded: readonly DecodedLog[]
  let alicePosition: Hash
  let bobPosition: Hash
  let batchTx: Hash

  const owner = accountOf(0)
  const keeper = accountOf(1)
  const alice = accountOf(2)
  const bob = accountOf(3)
  const liquidator = accountOf(4)
  const loader = accountOf(5)

  const walletOf = (account: PrivateKeyAccount) =>
    createWalletClient({ account, chain: anvilChain, transport: http(node.rpcUrl) })

  const positionIdOf = (trader: Address, nonce: bigint): Hash =>
    keccak256(
      encodeAbiParameters([{ type: 'address' }, { type: 'address' }, { type: 'uint256' }], [exchange, trader, nonce]),
    )

  const eventsNamed = <N extends DecodedEvent['eventName']>(name: N) =>
    decoded.flatMap(({ log, event }) =>
      event.eventName === name ? [{ log, args: (event as EventNamed<N>).args as EventNamed<N>['args'] }] : [],
    )

  async function mined(hash: Hash): Promise<TransactionReceipt> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
    return receipt
  }

  async function openedIds(hash: Hash): Promise<Hash[]> {
    const receipt = await mined(hash)
    return parseEventLogs({ abi: perpExchangeAbi, logs: receipt.logs, eventName: 'PositionOpened' }).map(
      (log) => log.args.positionId,
    )
  }

  beforeAll(async () => {
    node = await startAnvil()
    publicClient = createPublicClient({ chain: anvilChain, transport: http(node.rpcUrl), pollingInterval: 50 })
    const ownerWallet = walletOf(owner)
    exchange = await deployPerpExchange(ownerWallet, publicClient, { keeper: keeper.address })
    const deployBlock = await publicClient.getBlockNumber()
    await listMarkets(ownerWallet, publicClient, { address: exchange })

    const contract = { address: exchange, abi: perpExchangeAbi } as const
    const asKeeper = walletOf(keeper)
    const fund = async (marketId: Hex, rate: string): Promise<void> => {
      await mined(await asKeeper.writeContract({ ...contract, functionName: 'updateFunding', args: [marketId, wad(rate)] }))
    }
    const price = async (marketId: Hex, value: string): Promise<void> => {
      await mined(await asKeeper.writeContract({ ...contract, functionName: 'setPrice', args: [marketId, wad(value)] }))
    }

    await mined(
      await asKeeper.writeContract({
        ...contract,
        functionName: 'setPrices',
        args: [[BTC, ETH, SOL], [wad('60000'), wad('3000'), wad('150')]],
      }),
    )
    ;[alicePosition] = (await openedIds(
      await walletOf(alice).writeContract({
        ...contract,
        functionName: 'openPosition',
        args: [BTC, true, wad('0.5'), wad('3000')],
      }),
    )) as [Hash]
    ;[bobPosition] = (await openedIds(
      await walletOf(bob).writeContract({
        ...contract,
        functionName: 'openPosition',
        args: [BTC, false, wad('0.4'), wad('4000')],
      }),
    )) as [Hash]
    await fund(BTC, '0.0001')
    await price(BTC, '60123.45')
    await fund(BTC, '-0.000012345678901234')
    await mined(await walletOf(alice).writeContract({ ...contract, functionName: 'closePosition', args: [alicePosition] }))
    await price(BTC, '70000')
    await mined(await walletOf(liquidator).writeContract({ ...contract, functionName: 'liquidate', args: [bobPosition] }))
    await fund(BTC, '0')
    await fund(ETH, '0.00005')
    batchTx = await walletOf(loader).writeContract({
      ...contract,
      functionName: 'openPositions',
      args: [ETH, true, wad('1'), wad('300'), 100n],
    })
    await mined(batchTx)
    await fund(ETH, '0.00005')

    const logs = await publicClient.getLogs({ address: exchange, fromBlock: deployBlock, toBlock: 'latest' })
    decoded = logs.map((log) => ({ log, event: decodeEventLog({ abi: perpExchangeAbi, data: log.data, topics: log.topics }) }))
  })

  afterAll(async () => {
    await node?.stop()
  })

  it('decodes every log of the scenario against perpExchangeAbi', () => {
    const counts = new Map<string, number>()
    for (const { event } of decoded) counts.set(event.eventName, (counts.get(event.eventName) ?? 0) + 1)
    expect(Object.fromEntries(counts)).toEqual({
      MarketListed: 3,
      PositionOpened: 102,
      FundingUpdated: 5,
      PositionClosed: 1,
      PositionLiquidated: 1,
    })
  })

  it('MarketListed carries each local market: slug id, symbol, Pyth feed and WAD ratios', () => {
    const listed = eventsNamed('MarketListed').map(({ args }) => args)
    expect(listed).toEqual(
      markets.map((market) => ({
        marketId: encodeMarketId(market.id),
        symbol: market.symbol,
        pythFeedId: market.pythFeedId,
        maintenanceMarginRatio: 50_000_000_000_000_000n,
        liquidationFeeRatio: 10_000_000_000_000_000n,
      })),
    )
    expect(listed.map(({ marketId }) => decodeMarketId(marketId))).toEqual(markets.map(({ id }) => id))
  })

  it('PositionOpened carries the mark as entry price, notional / collateral as leverage and the funding index', () => {
    const [aliceOpened, bobOpened] = eventsNamed('PositionOpened').map(({ args }) => args)
    expect(aliceOpened).toEqual({
      positionId: positionIdOf(alice.address, 0n),
      trader: alice.address,
      marketId: BTC,
      isLong: true,
      size: wad('0.5'),
      collateral: wad('3000'),
      leverage: wad('10'),
      entryPrice: wad('60000'),
      entryFundingIndex: 0n,
    })
    expect(bobOpened).toEqual({
      positionId: positionIdOf(bob.address, 1n),
      trader: bob.address,
      marketId: BTC,
      isLong: false,
      size: wad('0.4'),
      collateral: wad('4000'),
      leverage: wad('6'),
      entryPrice: wad('60000'),
      entryFundingIndex: 0n,
    })
  })

  it('openPositions opens count identical positions in one transaction, ids from consecutive nonces', () => {
    const batch = eventsNamed('PositionOpened').filter(({ log }) => log.transactionHash === batchTx)
    expect(batch).toHaveLength(100)
    expect(new Set(batch.map(({ args }) => args.positionId)).size).toBe(100)
    batch.forEach(({ args }, i) => {
      expect(args).toEqual({
        positionId: positionIdOf(loader.address, 2n + BigInt(i)),
        trader: loader.address,
        marketId: ETH,
        isLong: true,
        size: wad('1'),
        collateral: wad('300'),
        leverage: wad('10'),
        entryPrice: wad('3000'),
        // The ETH index after one update of 0.00005 at a mark of 3000.
        entryFundingIndex: wad('0.15'),
      })
    })
  })

  it('FundingUpdated adds mulWad(rate, mark) to the index, truncating toward zero, with open interest at entry', async () => {
    const updates = eventsNamed('FundingUpdated')
    const btcIndex1 = wad('6')
    // -0.000012345678901234 * 60123.45 = -0.7422648081343973379...: truncated, not floored.
    const btcIndex2 = btcIndex1 - 742_264_808_134_397_337n
    expect(mulWad(wad('-0.000012345678901234'), wad('60123.45'))).toBe(-742_264_808_134_397_337n)
    expect(updates.map(({ args }) => ({ ...args, timestamp: 0n }))).toEqual([
      { marketId: BTC, fundingRate: wad('0.0001'), cumulativeFundingIndex: btcIndex1, longOpenInterest: wad('30000'), shortOpenInterest: wad('24000'), timestamp: 0n },
      { marketId: BTC, fundingRate: wad('-0.000012345678901234'), cumulativeFundingIndex: btcIndex2, longOpenInterest: wad('30000'), shortOpenInterest: wad('24000'), timestamp: 0n },
      // Both BTC positions are gone: closed and liquidated.
      { marketId: BTC, fundingRate: 0n, cumulativeFundingIndex: btcIndex2, longOpenInterest: 0n, shortOpenInterest: 0n, timestamp: 0n },
      { marketId: ETH, fundingRate: wad('0.00005'), cumulativeFundingIndex: wad('0.15'), longOpenInterest: 0n, shortOpenInterest: 0n, timestamp: 0n },
      { marketId: ETH, fundingRate: wad('0.00005'), cumulativeFundingIndex: wad('0.3'), longOpenInterest: wad('300000'), shortOpenInterest: 0n, timestamp: 0n },
    ])
    for (const { log, args } of updates) {
      const block = await publicClient.getBlock({ blockNumber: log.blockNumber ?? undefined })
      expect(args.timestamp).toBe(block.timestamp)
    }
  })

  it('PositionClosed realizes the price PnL minus the funding paid since entry', () => {
    const [closed] = eventsNamed('PositionClosed').map(({ args }) => args)
    const fundingPaid = 2_628_867_595_932_801_331n // mulWad(0.5, 5.257735191865602663), truncated
    expect(mulWad(wad('0.5'), wad('6') - 742_264_808_134_397_337n)).toBe(fundingPaid)
    expect(closed).toEqual({
      positionId: alicePosition,
      trader: alice.address,
      marketId: BTC,
      exitPrice: wad('60123.45'),
      realizedPnl: wad('61.725') - fundingPaid,
      fundingPaid,
    })
  })

  it('PositionLiquidated forfeits the collateral and pays a fee on the notional at the mark', () => {
    const [liquidated] = eventsNamed('PositionLiquidated').map(({ args }) => args)
    expect(liquidated).toEqual({
      positionId: bobPosition,
      trader: bob.address,
      marketId: BTC,
      liquidator: liquidator.address,
      liquidationPrice: wad('70000'),
      liquidationFee: wad('280'), // 0.4 * 70000 * 0.01
      realizedPnl: -wad('4000'),
    })
  })

  it('liquidating a healthy position reverts with PositionHealthy(positionId, equity, maintenance)', async () => {
    const [positionId] = await openedIds(
      await walletOf(alice).writeContract({
        address: exchange,
        abi: perpExchangeAbi,
        functionName: 'openPosition',
        args: [SOL, true, wad('10'), wad('300')],
      }),
    )
    const attempt = publicClient.simulateContract({
      address: exchange,
      abi: perpExchangeAbi,
      functionName: 'liquidate',
      args: [positionId as Hash],
      account: liquidator,
    })
    // Equity is the untouched collateral; maintenance is 10 * 150 * 0.05.
    expect(await revertOf(attempt)).toEqual({ errorName: 'PositionHealthy', args: [positionId, wad('300'), wad('75')] })
  })

  it('rejects bad calls with named custom errors', async () => {
    const call = { address: exchange, abi: perpExchangeAbi } as const
    const unknown = encodeMarketId('doge-usdc-perp')
    expect(
      await revertOf(publicClient.simulateContract({ ...call, functionName: 'setPrice', args: [BTC, 1n], account: alice })),
    ).toEqual({ errorName: 'NotKeeper', args: [alice.address] })
    expect(
      await revertOf(
        publicClient.simulateContract({ ...call, functionName: 'openPosition', args: [unknown, true, 1n, 1n], account: alice }),
      ),
    ).toEqual({ errorName: 'UnknownMarket', args: [unknown] })
    expect(
      await revertOf(
        publicClient.simulateContract({ ...call, functionName: 'openPosition', args: [SOL, true, wad('10.2'), wad('30')], account: alice }),
      ),
    ).toEqual({ errorName: 'LeverageTooHigh', args: [wad('51'), wad('50')] })
    await expect(
      publicClient.simulateContract({ ...call, functionName: 'openPosition', args: [SOL, true, wad('10'), wad('30')], account: alice }),
    ).resolves.toBeDefined()
    const [loaded] = eventsNamed('PositionOpened').filter(({ log }) => log.transactionHash === batchTx)
    const loadedId = loaded?.args.positionId ?? '0x'
    expect(
      await revertOf(publicClient.simulateContract({ ...call, functionName: 'closePosition', args: [loadedId], account: alice })),
    ).toEqual({ errorName: 'NotPositionTrader', args: [loadedId, alice.address] })
    expect(
      await revertOf(publicClient.simulateContract({ ...call, functionName: 'closePosition', args: [alicePosition], account: alice })),
    ).toEqual({ errorName: 'UnknownPosition', args: [alicePosition] })
    expect(
      await revertOf(
        publicClient.simulateContract({ ...call, functionName: 'listMarket', args: [BTC, 'BTC/USDC', BTC, 0n, 0n], account: owner }),
      ),
    ).toEqual({ errorName: 'MarketAlreadyListed', args: [BTC] })
    expect(
      await revertOf(
        publicClient.simulateContract({ ...call, functionName: 'listMarket', args: [unknown, 'DOGE/USDC', unknown, wad('1'), 0n], account: owner }),
      ),
    ).toEqual({ errorName: 'InvalidRatio', args: [wad('1')] })
  })
})
