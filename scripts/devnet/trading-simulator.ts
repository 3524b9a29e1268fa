// A trading simulator for the local devnet: traders open and close positions of random side, size
// and leverage; a keeper pushes the oracle's prices on chain and updates funding; a liquidator
// liquidates what the contract would accept. Each role signs with its own account and sends one
// transaction at a time (trading-simulator-sender.ts), so the chain is kept busy, a few
// transactions a second, but never flooded, and every failure is logged and outlived.
//
//   const simulator = createTradingSimulator({ rpcUrl, contract, accounts, prices, logger })
//   await simulator.start()   // resolves once the loops run; the chain is priced if the source is
//   await simulator.stop()    // resolves once nothing is in flight
import { createPublicClient, createWalletClient, encodeFunctionData, http, type Address, type Chain, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { markets as localMarkets } from '../../contracts-abi/markets.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'
import { liquidatablePositions, type MarketState } from './trading-simulator-book.ts'
import { createExchangeView, type ExchangeView } from './trading-simulator-exchange.ts'
import { createLoops } from './trading-simulator-loops.ts'
import { createPrng } from './price-paths.ts'
import {
  chooseTraderAction,
  defaultTradingPolicy,
  fundingRate,
  jittered,
  traderProfile,
  type TraderProfile,
  type TradingPolicy,
} from './trading-simulator-policy.ts'
import type { MarketPriceSource } from './trading-simulator-prices.ts'
import { createAccountSender, type AccountSender, type ExchangeTransaction, type SendOutcome } from './trading-simulator-sender.ts'

export interface SimulatorAccount {
  readonly address: Address
  readonly privateKey: Hex
}

export interface TradingSimulatorIntervals {
  /** Mean time between one trader's actions, jittered ±50% (default 3000 ms). */
  readonly tradeMs?: number
  /** How often the keeper reads the price source and pushes changed prices (default 1000 ms). */
  readonly priceMs?: number
  /** How often the keeper updates every market's funding (default 15000 ms). */
  readonly fundingMs?: number
  /** How often new events are read and liquidatable positions liquidated (default 1000 ms). */
  readonly scanMs?: number
  /** How often a summary is logged at info; 0 never (default 30000 ms). */
  readonly statsMs?: number
}

export interface TradingSimulatorOptions {
  readonly rpcUrl: string
  readonly contract: Address
  /**
   * accounts[0] is the keeper (it must be the contract's keeper), accounts[1] the liquidator, and
   * every further account a trader; at least three. anvilAccounts fits.
   */
  readonly accounts: readonly SimulatorAccount[]
  /** The oracle's current prices, e.g. hermesPriceSource on the devnet's Hermes server. */
  readonly prices: MarketPriceSource
  readonly logger: Logger
  /** Markets to trade and keep (default: contracts-abi/markets.ts). */
  readonly markets?: readonly { readonly id: string }[]
  readonly intervals?: TradingSimulatorIntervals
  /** Seed of the traders' decisions (default 1). */
  readonly seed?: number
  readonly policy?: Partial<TradingPolicy>
  /** Every boldEvery-th trader, the first included, trades near 20x leverage (default 2); 0 makes all careful. */
  readonly boldEvery?: number
  /** The largest funding rate per update, WAD (default 2e14, i.e. 0.0002). */
  readonly maxFundingRate?: bigint
  /** First block whose position events are read (default 0). */
  readonly fromBlock?: bigint
  /** Per transaction (default 30000 ms). */
  readonly receiptTimeoutMs?: number
}

/** Transactions of the simulator mined successfully, by kind, and those that failed. */
export interface TradingSimulatorStats {
  readonly opened: number
  readonly closed: number
  readonly liquidated: number
  readonly fundingUpdates: number
  readonly priceUpdates: number
  readonly failed: number
}

export interface TradingSimulator {
  /** Starts the loops; resolves after the first price push and event scan. Throws if already started. */
  start(): Promise<void>
  /** Stops the loops and resolves once no transaction is in flight. Safe to call more than once. */
  stop(): Promise<void>
  stats(): TradingSimulatorStats
}

export class TradingSimulatorError extends Error {
  override readonly name = 'TradingSimulatorError'
}

interface Trader {
  readonly sender: AccountSender
  readonly profile: TraderProfile
}

type StatsCounter = { -readonly [K in keyof TradingSimulatorStats]: number }

export function createTradingSimulator(options: TradingSimulatorOptions): TradingSimulator {
  if (options.accounts.length < 3) {
    throw new TradingSimulatorError(`needs at least 3 accounts (keeper, liquidator, a trader), got ${options.accounts.length}`)
  }
  const logger = options.logger.child({ component: 'trading-simulator' })
  const counts: StatsCounter = { opened: 0, closed: 0, liquidated: 0, fundingUpdates: 0, priceUpdates: 0, failed: 0 }
  let running: Promise<() => Promise<void>> | undefined
  let stopping: Promise<void> | undefined
  return {
    start() {
      if (running !== undefined) return Promise.reject(new TradingSimulatorError('the simulator was already started'))
      running = run(options, logger, counts)
      return running.then(() => undefined)
    },
    stop() {
      stopping ??= (async () => {
        if (running === undefined) return
        const stopRun = await running.catch(() => undefined)
        await stopRun?.()
        logger.info('trading simulator stopped', { ...counts })
      })()
      return stopping
    },
    stats: () => ({ ...counts }),
  }
}

/** What every role's actions share: the chain view, the counters, and a send that keeps both current. */
interface Context {
  readonly options: TradingSimulatorOptions
  readonly logger: Logger
  readonly exchange: ExchangeView
  readonly counts: StatsCounter
  readonly random: () => number
}

/** Sends through one account's sender; counts the outcome and applies a mined receipt's events at once. */
async function send(context: Context, sender: AccountSender, transaction: ExchangeTransaction, counter: keyof StatsCounter): Promise<SendOutcome> {
  const outcome = await sender.send(transaction)
  if (outcome.status === 'mined') {
    context.counts[counter] += 1
    context.exchange.applyLogs(outcome.receipt.logs)
  } else if (outcome.status !== 'dropped') context.counts.failed += 1
  return outcome
}

/** Builds the clients, senders and loops; primes the book and the chain's prices; returns stop. */
async function run(options: TradingSimulatorOptions, logger: Logger, counts: StatsCounter): Promise<() => Promise<void>> {
  const intervals = options.intervals ?? {}
  const transport = http(options.rpcUrl)
  const publicClient = createPublicClient({ transport, pollingInterval: 100 })
  const chain: Chain = { ...foundry, id: await publicClient.getChainId() }
  const senderOf = (account: SimulatorAccount): AccountSender =>
    createAccountSender({
      publicClient,
      walletClient: createWalletClient({ chain, transport, account: privateKeyToAccount(account.privateKey) }),
      contract: options.contract,
      logger,
      ...(options.receiptTimeoutMs === undefined ? {} : { receiptTimeoutMs: options.receiptTimeoutMs }),
    })
  const [keeperAccount, liquidatorAccount, ...traderAccounts] = options.accounts as [SimulatorAccount, SimulatorAccount, ...SimulatorAccount[]]
  const keeper = senderOf(keeperAccount)
  const liquidator = senderOf(liquidatorAccount)
  const traders: Trader[] = traderAccounts.map((account, i) => ({ sender: senderOf(account), profile: traderProfile(i, options.boldEvery ?? 2) }))
  const markets = (options.markets ?? localMarkets).map((m) => m.id)
  const exchange = createExchangeView({ publicClient, contract: options.contract, markets, prices: options.prices, logger, fromBlock: options.fromBlock ?? 0n })
  const context: Context = { options, logger, exchange, counts, random: createPrng(options.seed ?? 1) }

  const scan = liquidationScan(context, liquidator)
  const pushPrices = keeperPricePush(context, keeper)
  // Prime: the book from past events, then prices on chain, so the first trades are priced.
  await scan()
  await pushPrices()
  const loops = createLoops(logger)
  loops.every('price push', () => intervals.priceMs ?? 1_000, pushPrices)
  loops.every('funding update', () => intervals.fundingMs ?? 15_000, keeperFundingUpdate(context, keeper))
  loops.every('liquidation scan', () => intervals.scanMs ?? 1_000, scan)
  for (const trader of traders) {
    loops.every('trader turn', () => jittered(context.random, intervals.tradeMs ?? 3_000), traderTurn(context, trader))
  }
  const statsMs = intervals.statsMs ?? 30_000
  if (statsMs > 0) {
    loops.every('stats', () => statsMs, async () => logger.info('trading simulator', { ...counts, openPositions: exchange.book.all().length }))
  }
  logger.info('trading simulator started', { contract: options.contract, traders: traders.length, chainId: chain.id })
  return async () => {
    const closing = [keeper, liquidator, ...traders.map((t) => t.sender)].map((sender) => sender.close())
    await loops.stop()
    await Promise.all(closing)
  }
}

/** The keeper pushes the source's changed prices in one setPrices; skipped while it is busy, since only the latest price matters. */
function keeperPricePush(context: Context, keeper: AccountSender): () => Promise<void> {
  return async () => {
    if (keeper.pending() > 0) return
    const changed = await context.exchange.changedPrices()
    if (changed.length === 0) return
    const ids = changed.map(([market]) => encodeMarketId(market))
    const values = changed.map(([, price]) => price)
    const data = encodeFunctionData({ abi: perpExchangeAbi, functionName: 'setPrices', args: [ids, values] })
    const outcome = await send(context, keeper, { label: 'setPrices', data }, 'priceUpdates')
    if (outcome.status === 'mined') context.exchange.pricesPushed(changed)
  }
}

/** The keeper updates every priced market's funding, at a rate set by its open-interest imbalance. */
function keeperFundingUpdate(context: Context, keeper: AccountSender): () => Promise<void> {
  const maxRate = context.options.maxFundingRate ?? 2n * 10n ** 14n
  return async () => {
    for (const [market, state] of await context.exchange.marketStates()) {
      if (state.markPrice === 0n) continue
      const rate = fundingRate(state.longOpenInterest, state.shortOpenInterest, maxRate)
      const data = encodeFunctionData({ abi: perpExchangeAbi, functionName: 'updateFunding', args: [encodeMarketId(market), rate] })
      await send(context, keeper, { label: `updateFunding ${market}`, data }, 'fundingUpdates')
    }
  }
}

/**
 * Reads new events, then queues a liquidate for every position the contract would liquidate at the
 * markets' on-chain state. A position is queued once until its transaction settles.
 */
function liquidationScan(context: Context, liquidator: AccountSender): () => Promise<void> {
  const liquidating = new Set<Hex>()
  return async () => {
    await context.exchange.readNewEvents()
    const states = new Map<Hex, MarketState>()
    for (const [market, state] of await context.exchange.marketStates()) states.set(encodeMarketId(market), state)
    for (const position of liquidatablePositions(context.exchange.book.all(), states)) {
      if (liquidating.has(position.id)) continue
      liquidating.add(position.id)
      const data = encodeFunctionData({ abi: perpExchangeAbi, functionName: 'liquidate', args: [position.id] })
      void send(context, liquidator, { label: `liquidate ${position.id}`, data }, 'liquidated').then((outcome) => {
        liquidating.delete(position.id)
        if (outcome.status === 'mined') context.logger.info('liquidated a position', { positionId: position.id, trader: position.trader })
      })
    }
  }
}

/** One trader's turn: open, close or wait (trading-simulator-policy.ts); skipped while its last transaction is pending. */
function traderTurn(context: Context, trader: Trader): () => Promise<void> {
  const policy = { ...defaultTradingPolicy, ...context.options.policy }
  return async () => {
    if (trader.sender.pending() > 0) return
    const openPositionIds = context.exchange.book.ofTrader(trader.sender.address).map((p) => p.id)
    const view = { openPositionIds, prices: context.exchange.chainPrices() }
    const action = chooseTraderAction(context.random, view, trader.profile, policy)
    if (action.kind === 'open') {
      const args = [encodeMarketId(action.market), action.isLong, action.size, action.collateral] as const
      const data = encodeFunctionData({ abi: perpExchangeAbi, functionName: 'openPosition', args })
      const label = `openPosition ${action.market} ${action.isLong ? 'long' : 'short'} ${action.leverageTenths / 10}x`
      await send(context, trader.sender, { label, data }, 'opened')
    } else if (action.kind === 'close') {
      const data = encodeFunctionData({ abi: perpExchangeAbi, functionName: 'closePosition', args: [action.positionId] })
      await send(context, trader.sender, { label: `closePosition ${action.positionId}`, data }, 'closed')
    }
  }
}
