// What the trading simulator knows of the exchange on chain: the open positions (from the
// contract's events, read in chain order), the mark prices known to be on chain, and each market's
// state from getMarket. A thin viem adapter over the pure position book.
import { parseEventLogs, type Address, type Log, type PublicClient } from 'viem'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'
import { createPositionBook, type MarketState, type PositionBook } from './trading-simulator-book.ts'
import type { MarketPriceSource } from './trading-simulator-prices.ts'

/** getLogs spans at most this many blocks, which every node accepts. */
const LOG_CHUNK_BLOCKS = 5_000n

export interface MarketOnChain extends MarketState {
  readonly longOpenInterest: bigint
  readonly shortOpenInterest: bigint
}

export interface ExchangeView {
  readonly book: PositionBook
  /** Applies the exchange's position events among the logs (e.g. a receipt's) to the book. */
  applyLogs(logs: readonly Log[]): void
  /** Reads every exchange event mined since the last call, in chain order. */
  readNewEvents(): Promise<void>
  /** Mark prices known to be on chain (WAD), by market slug. */
  chainPrices(): ReadonlyMap<string, bigint>
  /** Records prices a mined setPrices put on chain. */
  pricesPushed(prices: readonly (readonly [string, bigint])[]): void
  /** The source's prices that differ from those known to be on chain. */
  changedPrices(): Promise<[string, bigint][]>
  /** Every market's state by slug; a market that cannot be read is logged and left out. */
  marketStates(): Promise<Map<string, MarketOnChain>>
}

export interface ExchangeViewDeps {
  readonly publicClient: PublicClient
  readonly contract: Address
  /** Market slugs. */
  readonly markets: readonly string[]
  readonly prices: MarketPriceSource
  readonly logger: Logger
  readonly fromBlock: bigint
}

export function createExchangeView(deps: ExchangeViewDeps): ExchangeView {
  const book = createPositionBook()
  const onChain = new Map<string, bigint>()
  const contract = deps.contract.toLowerCase()
  let nextBlock = deps.fromBlock

  const applyLogs = (logs: readonly Log[]): void => {
    for (const log of parseEventLogs({ abi: perpExchangeAbi, logs: [...logs], strict: true })) {
      if (log.address.toLowerCase() !== contract) continue
      if (log.eventName === 'PositionOpened') book.opened(log.args)
      else if (log.eventName === 'PositionClosed' || log.eventName === 'PositionLiquidated') book.removed(log.args.positionId)
    }
  }

  return {
    book,
    applyLogs,
    async readNewEvents() {
      const head = await deps.publicClient.getBlockNumber()
      while (nextBlock <= head) {
        const last = nextBlock + LOG_CHUNK_BLOCKS - 1n
        const toBlock = last < head ? last : head
        applyLogs(await deps.publicClient.getLogs({ address: deps.contract, fromBlock: nextBlock, toBlock }))
        nextBlock = toBlock + 1n
      }
    },
    chainPrices: () => onChain,
    pricesPushed(prices) {
      for (const [market, price] of prices) onChain.set(market, price)
    },
    async changedPrices() {
      const latest = await deps.prices.latest()
      return deps.markets.flatMap((m): [string, bigint][] => {
        const price = latest.get(m)
        return price === undefined || price === onChain.get(m) ? [] : [[m, price]]
      })
    },
    async marketStates() {
      const states = new Map<string, MarketOnChain>()
      for (const market of deps.markets) {
        const state = await readMarket(deps, market)
        if (state === undefined) continue
        states.set(market, state)
        if (state.markPrice > 0n) onChain.set(market, state.markPrice)
      }
      return states
    },
  }
}

async function readMarket(deps: ExchangeViewDeps, market: string): Promise<MarketOnChain | undefined> {
  try {
    return await deps.publicClient.readContract({
      address: deps.contract,
      abi: perpExchangeAbi,
      functionName: 'getMarket',
      args: [encodeMarketId(market)],
    })
  } catch (error) {
    deps.logger.warn('cannot read a market', { market, error })
    return undefined
  }
}
