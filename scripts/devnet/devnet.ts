// The local devnet around a chain: the reference contract deployed with the three markets listed,
// the local Hermes-compatible price feed walking each market's price, and the trading simulator
// trading against both. `npm start` runs it on its own anvil; docker-compose runs it as a service
// against the anvil container. Stopping it stops the simulator first (no transaction in flight),
// then the price feed.
import { createPublicClient, createWalletClient, http, type Address } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { deployPerpExchange, listMarkets } from '../../contracts-abi/deploy.ts'
import { markets } from '../../contracts-abi/markets.ts'
import type { Logger } from '../../indexer/runtime/logger.ts'
import { devnetFeeds, startHermesServer, type HermesServer } from './hermes-server.ts'
import { demoVolatilityPpb, withVolatility } from './price-paths.ts'
import { createTradingSimulator, type SimulatorAccount, type TradingSimulator } from './trading-simulator.ts'
import { hermesPriceSource } from './trading-simulator-prices.ts'

export interface DevnetOptions {
  readonly rpcUrl: string
  readonly chainId: number
  /** [0] deploys and is the keeper, [1] liquidates, the rest trade (anvil's default accounts fit). */
  readonly accounts: readonly SimulatorAccount[]
  readonly logger: Logger
  /** An already deployed contract; unset: deploy one and list the markets. */
  readonly contract?: Address
  readonly hermesHost?: string
  /** 0 picks a free port (default 8090). */
  readonly hermesPort?: number
  readonly hermesApiKey?: string
  /** Seed of the price walk and of the traders' decisions (default 1). */
  readonly seed?: number
  /** Start the trading simulator (default true). */
  readonly simulate?: boolean
}

export interface Devnet {
  readonly contract: Address
  /** The block the contract was deployed in: index from here. */
  readonly deployBlock: bigint
  readonly hermes: HermesServer
  readonly simulator?: TradingSimulator
  stop(): Promise<void>
}

export class DevnetError extends Error {
  override readonly name = 'DevnetError'
}

async function deployWithMarkets(options: DevnetOptions): Promise<{ contract: Address; deployBlock: bigint }> {
  const owner = options.accounts[0]
  if (owner === undefined) throw new DevnetError('the devnet needs at least one account to deploy from')
  const transport = http(options.rpcUrl)
  const chain = { ...foundry, id: options.chainId }
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 })
  const walletClient = createWalletClient({ chain, transport, account: privateKeyToAccount(owner.privateKey) })
  const deployBlock = await publicClient.getBlockNumber()
  const contract = await deployPerpExchange(walletClient, publicClient, { keeper: owner.address })
  await listMarkets(walletClient, publicClient, { address: contract })
  options.logger.info('contract deployed, markets listed', { contract, markets: markets.map((m) => m.id) })
  return { contract, deployBlock }
}

export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  const { logger } = options
  const deployed = options.contract === undefined ? await deployWithMarkets(options) : { contract: options.contract, deployBlock: 0n }
  const hermes = await startHermesServer({
    host: options.hermesHost ?? '127.0.0.1',
    port: options.hermesPort ?? 8090,
    feeds: withVolatility(devnetFeeds, demoVolatilityPpb),
    seed: options.seed ?? 1,
    ...(options.hermesApiKey === undefined ? {} : { apiKey: options.hermesApiKey }),
  })
  logger.info('price feed serving', { url: hermes.url })
  let simulator: TradingSimulator | undefined
  if (options.simulate ?? true) {
    simulator = createTradingSimulator({
      rpcUrl: options.rpcUrl,
      contract: deployed.contract,
      accounts: options.accounts,
      prices: hermesPriceSource({ url: hermes.url, markets, ...(options.hermesApiKey === undefined ? {} : { apiKey: options.hermesApiKey }) }),
      logger: logger.child({ component: 'simulator' }),
      seed: options.seed ?? 1,
    })
    try {
      await simulator.start()
    } catch (error) {
      await hermes.close()
      throw error
    }
  }
  let stopped: Promise<void> | undefined
  return {
    ...deployed,
    hermes,
    ...(simulator === undefined ? {} : { simulator }),
    stop: () => {
      stopped ??= (async () => {
        await simulator?.stop()
        await hermes.close()
      })()
      return stopped
    },
  }
}
