// Deploys the reference PerpExchange and lists markets on it, through the caller's viem clients.
// Each step waits for its receipt, so when a call resolves its effects are on chain.
import {
  parseUnits,
  type Account,
  type Address,
  type Chain,
  type Hash,
  type PublicClient,
  type Transport,
  type TransactionReceipt,
  type WalletClient,
} from 'viem'
import { encodeMarketId } from './market-id.ts'
import { markets as localMarkets, type MarketSpec } from './markets.ts'
import { perpExchangeAbi } from './perp-exchange.abi.ts'
import { perpExchangeBytecode } from './perp-exchange.bytecode.ts'

/** The contract's fixed point: 18 decimals. */
const WAD_DECIMALS = 18

export type SigningWalletClient = WalletClient<Transport, Chain, Account>

export class PerpExchangeDeployError extends Error {
  override readonly name = 'PerpExchangeDeployError'
  constructor(
    message: string,
    readonly transactionHash?: Hash,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

async function confirmed(publicClient: PublicClient, hash: Hash, what: string): Promise<TransactionReceipt> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new PerpExchangeDeployError(`${what} reverted (tx ${hash})`, hash)
  return receipt
}

export async function deployPerpExchange(
  walletClient: SigningWalletClient,
  publicClient: PublicClient,
  { keeper }: { readonly keeper: Address },
): Promise<Address> {
  const hash = await walletClient.deployContract({
    abi: perpExchangeAbi,
    bytecode: perpExchangeBytecode,
    args: [keeper],
  })
  const receipt = await confirmed(publicClient, hash, 'PerpExchange deployment')
  if (receipt.contractAddress == null) {
    throw new PerpExchangeDeployError(`PerpExchange deployment (tx ${hash}) created no contract`, hash)
  }
  return receipt.contractAddress
}

/** Lists each market in order, one transaction each; the wallet must be the contract's owner. */
export async function listMarkets(
  walletClient: SigningWalletClient,
  publicClient: PublicClient,
  {
    address,
    markets = localMarkets,
  }: { readonly address: Address; readonly markets?: readonly MarketSpec[] },
): Promise<readonly TransactionReceipt[]> {
  const receipts: TransactionReceipt[] = []
  for (const market of markets) {
    const hash = await walletClient.writeContract({
      address,
      abi: perpExchangeAbi,
      functionName: 'listMarket',
      args: [
        encodeMarketId(market.id),
        market.symbol,
        market.pythFeedId,
        parseUnits(market.maintenanceMarginRatio, WAD_DECIMALS),
        parseUnits(market.liquidationFeeRatio, WAD_DECIMALS),
      ],
    })
    receipts.push(await confirmed(publicClient, hash, `listing market ${market.id}`))
  }
  return receipts
}
