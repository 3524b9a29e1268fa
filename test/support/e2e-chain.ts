// The perp contract on a real anvil, driven one transaction at a time for the end-to-end tests and
// the e2e-latency benchmark: deploy, list the local markets, post on-chain prices, open, close and
// liquidate positions, update funding, and reorganise the chain. Every call waits for its receipt
// (anvil automines), so when it resolves its events are on chain.
import {
  createPublicClient,
  createWalletClient,
  http,
  parseEventLogs,
  parseUnits,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { deployPerpExchange, listMarkets, type SigningWalletClient } from '../../contracts-abi/deploy.ts'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { markets } from '../../contracts-abi/markets.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { Anvil, AnvilAccount } from './anvil.ts'

/** The contract's fixed point: 18 decimals. */
const WAD = 18

/** The local markets' on-chain start prices, in USD: the local Hermes server's start prices too. */
export const startPrices: Readonly<Record<string, string>> = {
  'btc-usdc-perp': '65000',
  'eth-usdc-perp': '3500',
  'sol-usdc-perp': '150',
}

export interface OpenTerms {
  readonly market: string
  readonly side: 'long' | 'short'
  /** Decimal strings, e.g. "1.5". */
  readonly size: string
  readonly collateral: string
}

export interface Transacted {
  readonly txHash: Hex
  readonly blockNumber: bigint
}

export interface Opened extends Transacted {
  readonly positionId: Hex
}

export class ChainCallError extends Error {
  override readonly name = 'ChainCallError'
  constructor(what: string, txHash: Hex, options?: ErrorOptions) {
    super(`${what} reverted (tx ${txHash})`, options)
  }
}

export interface PerpChain {
  readonly contract: Address
  readonly keeper: AnvilAccount
  readonly publicClient: PublicClient
  /** Posts the on-chain mark price of a market (the keeper's setPrice). */
  setPrice(market: string, price: string): Promise<Transacted>
  updateFunding(market: string, rate: string): Promise<Transacted>
  open(trader: AnvilAccount, terms: OpenTerms): Promise<Opened>
  close(trader: AnvilAccount, positionId: Hex): Promise<Transacted>
  liquidate(liquidator: AnvilAccount, positionId: Hex): Promise<Transacted>
  /** Mines `blocks` empty blocks. */
  mine(blocks: number): Promise<void>
  /** Replaces the newest `depth` blocks with empty ones of the same heights (anvil_reorg). */
  reorg(depth: number): Promise<void>
  blockNumber(): Promise<bigint>
}

/** Deploys the contract, lists the local markets and posts their start prices; the first account is owner and keeper. */
export async function deployPerpChain(anvil: Anvil): Promise<PerpChain> {
  const chain = { ...foundry, id: anvil.chainId }
  const transport = http(anvil.rpcUrl)
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 20 })
  const wallets = new Map<Address, SigningWalletClient>()
  const walletOf = (account: AnvilAccount): SigningWalletClient => {
    let wallet = wallets.get(account.address)
    if (wallet === undefined) {
      wallet = createWalletClient({ chain, transport, account: privateKeyToAccount(account.privateKey) })
      wallets.set(account.address, wallet)
    }
    return wallet
  }
  const keeper = anvil.accounts[0]!
  const contract = await deployPerpExchange(walletOf(keeper), publicClient, { keeper: keeper.address })
  await listMarkets(walletOf(keeper), publicClient, { address: contract })

  async function mined(what: string, hash: Hex): Promise<Transacted & { logs: readonly { topics: readonly Hex[]; data: Hex }[] }> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new ChainCallError(what, hash)
    return { txHash: hash, blockNumber: receipt.blockNumber, logs: receipt.logs }
  }
  const rpc = (method: string, params: readonly unknown[]) => publicClient.request({ method, params } as never) as Promise<unknown>
  const transacted = ({ txHash, blockNumber }: Transacted): Transacted => ({ txHash, blockNumber })

  const driver: PerpChain = {
    contract,
    keeper,
    publicClient,
    async setPrice(market, price) {
      const args = [encodeMarketId(market), parseUnits(price, WAD)] as const
      const hash = await walletOf(keeper).writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'setPrice', args })
      return transacted(await mined(`setPrice(${market}, ${price})`, hash))
    },
    async updateFunding(market, rate) {
      const args = [encodeMarketId(market), parseUnits(rate, WAD)] as const
      const hash = await walletOf(keeper).writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'updateFunding', args })
      return transacted(await mined(`updateFunding(${market}, ${rate})`, hash))
    },
    async open(trader, terms) {
      const args = [encodeMarketId(terms.market), terms.side === 'long', parseUnits(terms.size, WAD), parseUnits(terms.collateral, WAD)] as const
      const hash = await walletOf(trader).writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'openPosition', args })
      const receipt = await mined(`openPosition(${terms.market})`, hash)
      const [event] = parseEventLogs({ abi: perpExchangeAbi, eventName: 'PositionOpened', logs: receipt.logs as never })
      if (event === undefined) throw new ChainCallError(`openPosition(${terms.market}) emitted no PositionOpened`, hash)
      return { ...transacted(receipt), positionId: event.args.positionId }
    },
    async close(trader, positionId) {
      const hash = await walletOf(trader).writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'closePosition', args: [positionId] })
      return transacted(await mined(`closePosition(${positionId})`, hash))
    },
    async liquidate(liquidator, positionId) {
      const hash = await walletOf(liquidator).writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'liquidate', args: [positionId] })
      return transacted(await mined(`liquidate(${positionId})`, hash))
    },
    async mine(blocks) {
      await rpc('anvil_mine', [`0x${blocks.toString(16)}`])
    },
    async reorg(depth) {
      await rpc('anvil_reorg', [depth, []])
    },
    blockNumber: () => publicClient.getBlockNumber({ cacheTime: 0 }),
  }
  for (const market of markets) await driver.setPrice(market.id, startPrices[market.id] ?? '100')
  return driver
}
