// Many perp events on a real anvil, fast: the reference contract deployed with its three markets
// listed and priced, then PositionOpened in bulk (openPositions), PositionClosed and FundingUpdated,
// sent as JSON-RPC batches of eth_sendTransaction from anvil's unlocked accounts, and mined a block's
// gas limit at a time, so the events spread over many blocks and all three markets.
import { createPublicClient, createWalletClient, encodeEventTopics, encodeFunctionData, http, parseUnits, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { deployPerpExchange, listMarkets } from '../../contracts-abi/deploy.ts'
import { encodeMarketId } from '../../contracts-abi/market-id.ts'
import { markets } from '../../contracts-abi/markets.ts'
import { perpExchangeAbi } from '../../contracts-abi/perp-exchange.abi.ts'
import type { Anvil } from './anvil.ts'

export interface PerpDevnet {
  readonly rpcUrl: string
  readonly chainId: number
  readonly contract: Hex
  /** The owner and keeper. */
  readonly keeper: Hex
  readonly traders: readonly Hex[]
}

export interface PerpLoadOptions {
  /** PositionOpened events to emit, in openPositions calls of `perTransaction`. */
  readonly opens: number
  /** PositionClosed events (one transaction each), closing the oldest positions. */
  readonly closes: number
  /** FundingUpdated events (one transaction each), round-robin over the markets. */
  readonly fundingUpdates: number
  /** Positions per openPositions call (default 500; about 27k gas each). */
  readonly perTransaction?: number
}

const WAD = 18
const PRICES = ['65000', '3500', '150'] as const
/** Gas of a plain call; openPositions adds this per position. */
const CALL_GAS = 500_000
const GAS_PER_POSITION = 40_000
/** Transactions per block at most, so blocks stay many and small. */
const MAX_PER_BLOCK = 25

export async function deployPerpDevnet(anvil: Anvil): Promise<PerpDevnet> {
  const owner = anvil.accounts[0]!
  const transport = http(anvil.rpcUrl)
  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 20 })
  const walletClient = createWalletClient({ chain: { ...foundry, id: anvil.chainId }, transport, account: privateKeyToAccount(owner.privateKey) })
  const contract = await deployPerpExchange(walletClient, publicClient, { keeper: owner.address })
  await listMarkets(walletClient, publicClient, { address: contract })
  const devnet = { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, contract, keeper: owner.address, traders: anvil.accounts.map((a) => a.address) }
  const ids = markets.map((m) => encodeMarketId(m.id))
  const prices = PRICES.map((p) => parseUnits(p, WAD))
  await sendAll(devnet, [call(devnet, owner.address, encodeFunctionData({ abi: perpExchangeAbi, functionName: 'setPrices', args: [ids, prices] }))])
  return devnet
}

/** Emits the events; resolves once all are mined. Returns the number of events emitted. */
export async function generatePerpEvents(devnet: PerpDevnet, options: PerpLoadOptions): Promise<number> {
  const perTransaction = options.perTransaction ?? 500
  const opens: Transaction[] = []
  for (let done = 0, i = 0; done < options.opens; i++) {
    const count = Math.min(perTransaction, options.opens - done)
    opens.push(openCall(devnet, i, count))
    done += count
  }
  const funding = Array.from({ length: options.fundingUpdates }, (_, i) => fundingCall(devnet, i))
  // Funding updates land between the bulk opens, so blocks of each kind interleave.
  await sendAll(devnet, interleave(opens, funding))
  const positions = await openedPositions(devnet, options.closes)
  const closes = positions.map(({ id, trader }) =>
    call(devnet, trader, encodeFunctionData({ abi: perpExchangeAbi, functionName: 'closePosition', args: [id] })),
  )
  await sendAll(devnet, closes)
  return options.opens + options.fundingUpdates + closes.length
}

interface Transaction {
  readonly from: Hex
  readonly to: Hex
  readonly data: Hex
  readonly gas: Hex
}

function call(devnet: PerpDevnet, from: Hex, data: Hex, gas = CALL_GAS): Transaction {
  return { from, to: devnet.contract, data, gas: `0x${gas.toString(16)}` }
}

function openCall(devnet: PerpDevnet, i: number, count: number): Transaction {
  const market = markets[i % markets.length]!
  const trader = devnet.traders[i % devnet.traders.length]!
  const data = encodeFunctionData({
    abi: perpExchangeAbi,
    functionName: 'openPositions',
    args: [encodeMarketId(market.id), i % 2 === 0, parseUnits('0.5', WAD), parseUnits('20000', WAD), BigInt(count)],
  })
  return call(devnet, trader, data, CALL_GAS + GAS_PER_POSITION * count)
}

function fundingCall(devnet: PerpDevnet, i: number): Transaction {
  const market = markets[i % markets.length]!
  const rate = (BigInt(i % 7) - 3n) * 10n ** 12n
  return call(devnet, devnet.keeper, encodeFunctionData({ abi: perpExchangeAbi, functionName: 'updateFunding', args: [encodeMarketId(market.id), rate] }))
}

function interleave<T>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = []
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const step = Math.max(1, Math.ceil(b.length / Math.max(1, a.length)))
    if (i < a.length) out.push(a[i]!)
    out.push(...b.slice(i * step, (i + 1) * step))
  }
  return out
}

async function rpc(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (!response.ok) throw new Error(`anvil answered HTTP ${response.status}`)
  return response.json()
}

interface JsonRpcAnswer {
  readonly result?: unknown
  readonly error?: { readonly message: string }
}

/**
 * Sends the transactions in blocks: automine off, as many transactions as the block gas limit holds
 * (by their gas limits) sent as one JSON-RPC batch, then one evm_mine. anvil drops pending
 * transactions that do not fit the block being mined, so nothing is left waiting for a later block.
 * Each transaction carries its sender's next nonce explicitly, since anvil serves a batch concurrently.
 */
async function sendAll(devnet: PerpDevnet, transactions: readonly Transaction[]): Promise<void> {
  const nonces = new Map<string, number>()
  for (const from of new Set(transactions.map((tx) => tx.from))) {
    const answer = (await rpc(devnet.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'eth_getTransactionCount', params: [from, 'pending'] })) as JsonRpcAnswer
    nonces.set(from, Number(answer.result))
  }
  const latest = (await rpc(devnet.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'eth_getBlockByNumber', params: ['latest', false] })) as JsonRpcAnswer
  const blockGas = Number((latest.result as { gasLimit: string }).gasLimit)
  await rpc(devnet.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'evm_setAutomine', params: [false] })
  try {
    for (const block of packBlocks(transactions, blockGas)) {
      const batch = block.map((tx) => {
        const nonce = nonces.get(tx.from) ?? 0
        nonces.set(tx.from, nonce + 1)
        return { ...tx, nonce: `0x${nonce.toString(16)}` }
      })
      await mineBlock(devnet, batch)
    }
  } finally {
    await rpc(devnet.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'evm_setAutomine', params: [true] })
  }
}

function packBlocks(transactions: readonly Transaction[], blockGas: number): Transaction[][] {
  const blocks: Transaction[][] = []
  let current: Transaction[] = []
  let gas = 0
  for (const tx of transactions) {
    const txGas = Number(tx.gas)
    if (current.length > 0 && (gas + txGas > blockGas || current.length >= MAX_PER_BLOCK)) {
      blocks.push(current)
      current = []
      gas = 0
    }
    current.push(tx)
    gas += txGas
  }
  if (current.length > 0) blocks.push(current)
  return blocks
}

async function mineBlock(devnet: PerpDevnet, batch: readonly Transaction[]): Promise<void> {
  const sent = (await rpc(devnet.rpcUrl, batch.map((tx, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_sendTransaction', params: [tx] })))) as JsonRpcAnswer[]
  const hashes = sent.map((answer) => {
    if (typeof answer.result !== 'string') throw new Error(`eth_sendTransaction failed: ${answer.error?.message ?? 'no hash'}`)
    return answer.result
  })
  await rpc(devnet.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'evm_mine', params: [] })
  const receipts = (await rpc(devnet.rpcUrl, hashes.map((hash, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_getTransactionReceipt', params: [hash] })))) as JsonRpcAnswer[]
  receipts.forEach((answer, i) => {
    const status = (answer.result as { status?: string } | null)?.status
    if (status !== '0x1') throw new Error(`transaction ${hashes[i]} was not mined successfully (status ${String(status)})`)
  })
}

/** `count` positions with their traders, spread over the early PositionOpened logs. */
async function openedPositions(devnet: PerpDevnet, count: number): Promise<{ id: Hex; trader: Hex }[]> {
  if (count === 0) return []
  const [positionOpened] = encodeEventTopics({ abi: perpExchangeAbi, eventName: 'PositionOpened' })
  const head = Number((await rpc(devnet.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }) as JsonRpcAnswer).result)
  const logs: { topics: Hex[] }[] = []
  // Enough early positions to spread the closes over every market and trader, without reading all.
  for (let from = 0; from <= head && logs.length < count * 5; from += 50) {
    const filter = { address: devnet.contract, fromBlock: `0x${from.toString(16)}`, toBlock: `0x${Math.min(head, from + 49).toString(16)}`, topics: [positionOpened] }
    const answer = (await rpc(devnet.rpcUrl, { jsonrpc: '2.0', id: 1, method: 'eth_getLogs', params: [filter] })) as JsonRpcAnswer
    logs.push(...(answer.result as { topics: Hex[] }[]))
  }
  const step = Math.max(1, Math.floor(logs.length / count))
  return Array.from({ length: Math.min(count, logs.length) }, (_, i) => {
    const topics = logs[i * step]!.topics
    return { id: topics[1]!, trader: `0x${topics[2]!.slice(26)}` as Hex }
  })
}
