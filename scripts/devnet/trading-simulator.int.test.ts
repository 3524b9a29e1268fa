import { createPublicClient, createWalletClient, decodeEventLog, http, parseUnits, type Address, type PublicClient } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { deployPerpExchange, listMarkets } from '../../contracts-abi/deploy.ts'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { markets } from '../../contracts-abi/markets.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import { createLogger, type Logger } from '../../indexer/runtime/logger.ts'
import { startAnvil, type Anvil } from './anvil-process.ts'
import { devnetFeeds, startHermesServer, type HermesServer } from './hermes-server.ts'
import { demoVolatilityPpb, withVolatility } from './price-paths.ts'
import { createTradingSimulator, type TradingSimulator } from './trading-simulator.ts'
import { hermesPriceSource } from './trading-simulator-prices.ts'

type EventName = ReturnType<typeof decodeEventLog<typeof perpExchangeAbi>>['eventName']

let anvil: Anvil
let hermes: HermesServer
let publicClient: PublicClient
let simulator: TradingSimulator | undefined
let hermesTicks: NodeJS.Timeout | undefined

// The Hermes server steps only when told, ten times a second here, so a test can stop the oracle
// and then check that the chain caught up with its last prices.
beforeAll(async () => {
  anvil = await startAnvil()
  publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 })
  hermes = await startHermesServer({ port: 0, feeds: withVolatility(devnetFeeds, demoVolatilityPpb), intervalMs: 0, seed: 5 })
})

afterEach(async () => {
  clearInterval(hermesTicks)
  await simulator?.stop()
  simulator = undefined
})

afterAll(async () => {
  await hermes?.close()
  await anvil?.stop()
})

async function deployExchange(): Promise<Address> {
  const owner = anvil.accounts[0]!
  const walletClient = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl), account: privateKeyToAccount(owner.privateKey) })
  const contract = await deployPerpExchange(walletClient, publicClient, { keeper: owner.address })
  await listMarkets(walletClient, publicClient, { address: contract })
  return contract
}

function collectingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>) })
  return { logger, lines }
}

async function eventsOf(contract: Address) {
  const logs = await publicClient.getLogs({ address: contract, fromBlock: 0n, toBlock: 'latest' })
  return logs.map((log) => decodeEventLog({ abi: perpExchangeAbi, data: log.data, topics: log.topics }))
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

const fast = { tradeMs: 300, priceMs: 200, fundingMs: 1_000, scanMs: 200, statsMs: 0 }

describe('trading simulator on a real anvil', () => {
  it('fills the chain with opened, closed and liquidated positions and funding updates, priced as the oracle serves', async () => {
    const contract = await deployExchange()
    const { logger } = collectingLogger()
    const prices = hermesPriceSource({ url: hermes.url, markets })
    hermesTicks = setInterval(() => hermes.publishNow(), 100)
    simulator = createTradingSimulator({ rpcUrl: anvil.rpcUrl, contract, accounts: anvil.accounts, prices, logger, intervals: fast, seed: 3 })
    await simulator.start()

    const wanted: readonly EventName[] = ['PositionOpened', 'PositionClosed', 'PositionLiquidated', 'FundingUpdated']
    const allSeen = async (): Promise<boolean> => {
      const seen = new Set((await eventsOf(contract)).map((e) => e.eventName))
      return wanted.every((name) => seen.has(name))
    }
    await waitFor(allSeen, 'all four event kinds', 75_000)

    // The oracle stops; the keeper must bring the chain's mark prices to its last prices.
    clearInterval(hermesTicks)
    const served = await prices.latest()
    const markPrice = async (id: string): Promise<bigint> =>
      (await publicClient.readContract({ address: contract, abi: perpExchangeAbi, functionName: 'getMarket', args: [encodeMarketId(id)] })).markPrice
    await waitFor(async () => (await Promise.all(markets.map(async (m) => (await markPrice(m.id)) === served.get(m.id)))).every(Boolean), 'chain prices equal to the oracle', 10_000)

    await simulator.stop()
    const events = await eventsOf(contract)
    for (const name of wanted) expect(events.some((e) => e.eventName === name), name).toBe(true)
    const opened = new Set(events.flatMap((e) => (e.eventName === 'PositionOpened' ? [e.args.positionId] : [])))
    for (const event of events) {
      if (event.eventName === 'PositionOpened') expect(event.args.leverage).toBeLessThan(parseUnits('20', 18))
      if (event.eventName === 'PositionClosed') expect(opened.has(event.args.positionId)).toBe(true)
      if (event.eventName === 'PositionLiquidated') {
        expect(opened.has(event.args.positionId)).toBe(true)
        expect(event.args.liquidator).toBe(anvil.accounts[1]!.address)
      }
    }
    const stats = simulator.stats()
    expect(stats.liquidated).toBe(events.filter((e) => e.eventName === 'PositionLiquidated').length)
    expect(stats.opened).toBe(opened.size)
  }, 100_000)

  it('sends nothing once stop() has resolved', async () => {
    const contract = await deployExchange()
    const { logger } = collectingLogger()
    hermesTicks = setInterval(() => hermes.publishNow(), 100)
    const prices = hermesPriceSource({ url: hermes.url, markets })
    simulator = createTradingSimulator({ rpcUrl: anvil.rpcUrl, contract, accounts: anvil.accounts, prices, logger, intervals: fast })
    await simulator.start()
    await waitFor(async () => simulator!.stats().opened >= 3, 'three opened positions', 20_000)
    await simulator.stop()
    const stoppedAt = await publicClient.getBlockNumber()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(await publicClient.getBlockNumber()).toBe(stoppedAt)
  })

  it('keeps trading when every keeper transaction reverts, logging each revert by its contract error', async () => {
    const contract = await deployExchange()
    // The owner prices the markets once; the simulator's "keeper" is an account the contract refuses.
    const owner = createWalletClient({ chain: foundry, transport: http(anvil.rpcUrl), account: privateKeyToAccount(anvil.accounts[0]!.privateKey) })
    const ids = markets.map((m) => encodeMarketId(m.id))
    const hash = await owner.writeContract({ address: contract, abi: perpExchangeAbi, functionName: 'setPrices', args: [ids, ids.map(() => parseUnits('100', 18))] })
    await publicClient.waitForTransactionReceipt({ hash })
    const { logger, lines } = collectingLogger()
    const prices = hermesPriceSource({ url: hermes.url, markets })
    const accounts = anvil.accounts.slice(1)
    simulator = createTradingSimulator({ rpcUrl: anvil.rpcUrl, contract, accounts, prices, logger, intervals: fast })
    await simulator.start()
    await waitFor(async () => simulator!.stats().opened >= 5, 'five opened positions', 20_000)
    const warnings = lines.filter((line) => line['level'] === 'warn' && line['tx'] === 'setPrices')
    expect(warnings.length).toBeGreaterThan(0)
    expect(String(warnings[0]!['reason'])).toMatch(/^NotKeeper\(/)
    expect(simulator.stats().failed).toBeGreaterThan(0)
  })
})
