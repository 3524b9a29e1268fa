// A realistic perp workload of log records, generated fast and deterministically from a seed, for the
// replay benchmark and the projections' crash and replay tests: N markets listed in the first block,
// then one block per second with position opens, closes, liquidations and a funding update per
// market per minute, and one Pyth tick per market per second. Every record is valid under the zod
// schemas the log validates with; amounts are exact WAD arithmetic, as the contract's.
import { divWad, formatDecimal, fromPythPrice, mulWad, parseDecimal, WAD } from '../indexer/records/decimal.ts'
import { chainEventId, tickId } from '../indexer/records/record-ids.ts'
import type { ChainEventRecord, EventsTopicRecord, TickRecord } from '../indexer/records/schemas.ts'

export interface PerpWorkloadOptions {
  /** Records to generate, both topics together (a few more may come with the last second). */
  readonly records: number
  readonly markets?: number
  readonly seed?: number
  /** Seconds of chain time per chunk handed out (default 600). */
  readonly secondsPerChunk?: number
}

export interface WorkloadChunk {
  /** perp.events.v1 records, each market's in chain order. */
  readonly events: EventsTopicRecord[]
  /** pyth.ticks.v1 records, each market's in publish order. */
  readonly ticks: TickRecord[]
}

const CHAIN_ID = 31337
const CONTRACT = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
const GENESIS_TIME = 1_732_615_200
const EXPO = -8
const MARKET_NAMES = ['btc', 'eth', 'sol', 'arb', 'avax', 'doge', 'link', 'op', 'bnb', 'xrp', 'ada', 'dot', 'ltc', 'atom', 'near', 'apt']
const START_PRICES = [6_500_000_000_000n, 350_000_000_000n, 15_000_000_000n, 120_000_000n, 3_500_000_000n, 15_000_000n, 1_800_000_000n, 250_000_000n, 60_000_000_000n, 60_000_000n]
const SIZES = ['0.1', '0.25', '0.5', '1', '2'].map((s) => parseDecimal(s))
const COLLATERALS = ['500', '1000', '2500', '10000'].map((s) => parseDecimal(s))
// Per second: 10 ticks (one per market) and on average 1.9 opens, 0.5 closes, 0.13 liquidations and
// 10/60 funding updates: 1M records are about 79k seconds, 150k opens and 100k positions left open.
const RATES = { opens: 1.9, closes: 0.5, liquidations: 0.13 } as const
const FUNDING_EVERY_S = 60

/** A seeded 32-bit generator (mulberry32). */
function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = Math.imul(state ^ (state >>> 15), state | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A 32-byte hash that looks random, the same for the same (kind, n). */
function hash32(kind: number, n: number): string {
  let out = '0x'
  for (let i = 0; i < 8; i++) {
    let h = Math.imul(n ^ (kind << 24) ^ (i * 0x9e3779b9), 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
    out += (h >>> 0).toString(16).padStart(8, '0')
  }
  return out
}

interface OpenPosition {
  readonly id: string
  readonly market: MarketState
  readonly trader: string
  readonly side: 'long' | 'short'
  readonly size: bigint
  readonly collateral: bigint
  readonly entry: bigint
  readonly entryIndex: bigint
}

interface MarketState {
  readonly id: string
  readonly feed: string
  priceRaw: bigint
  index: bigint
  long: bigint
  short: bigint
}

export function* generatePerpWorkload(options: PerpWorkloadOptions): Generator<WorkloadChunk> {
  const random = seeded(options.seed ?? 1)
  const traders = Array.from({ length: 200 }, (_, i) => hash32(7, i).slice(0, 42))
  const markets: MarketState[] = Array.from({ length: options.markets ?? 10 }, (_, i) => ({
    id: `${MARKET_NAMES[i % MARKET_NAMES.length]}${i >= MARKET_NAMES.length ? i : ''}-usdc-perp`,
    feed: hash32(1, i),
    priceRaw: START_PRICES[i % START_PRICES.length]!,
    index: 0n,
    long: 0n,
    short: 0n,
  }))
  const open: OpenPosition[] = []
  let produced = 0
  let tx = 0
  let nonce = 0
  let second = 0

  const price = (market: MarketState): bigint => fromPythPrice(market.priceRaw, EXPO)
  const chainAt = (block: number, logIndex: number) => ({
    chain_id: CHAIN_ID,
    contract: CONTRACT,
    block_number: block,
    block_hash: hash32(2, block),
    tx_hash: hash32(3, tx++),
    log_index: logIndex,
    block_timestamp: GENESIS_TIME + block,
  })
  const envelope = <T extends string>(type: T, marketId: string, block: number, logIndex: number) => {
    const chain = chainAt(block, logIndex)
    return { v: 1 as const, id: chainEventId(CHAIN_ID, chain.tx_hash, chain.log_index), type, market_id: marketId, chain }
  }

  function listing(block: number): ChainEventRecord[] {
    return markets.map((market, i) => ({
      ...envelope('market_listed', market.id, block, i),
      data: { symbol: `${market.id.split('-')[0]!.toUpperCase()}/USDC`, pyth_feed_id: market.feed, maintenance_margin_ratio: '0.05', liquidation_fee_ratio: '0.01' },
    }))
  }

  function tick(market: MarketState, time: number): TickRecord {
    const step = BigInt(Math.floor(random() * 21) - 10)
    market.priceRaw += (market.priceRaw * step) / 10_000n
    const confRaw = market.priceRaw / 2_000n
    return {
      v: 1,
      id: tickId(market.feed, time),
      type: 'price_tick',
      market_id: market.id,
      data: {
        feed_id: market.feed,
        price: formatDecimal(price(market)),
        confidence: formatDecimal(fromPythPrice(confRaw, EXPO)),
        expo: EXPO,
        price_raw: market.priceRaw.toString(),
        conf_raw: confRaw.toString(),
        publish_time: time,
      },
    }
  }

  function openOne(block: number, logIndex: number): ChainEventRecord {
    const market = markets[Math.floor(random() * markets.length)]!
    const side = random() < 0.5 ? 'long' : 'short'
    const size = SIZES[Math.floor(random() * SIZES.length)]!
    const collateral = COLLATERALS[Math.floor(random() * COLLATERALS.length)]!
    const position: OpenPosition = { id: hash32(4, nonce++), market, trader: traders[Math.floor(random() * traders.length)]!, side, size, collateral, entry: price(market), entryIndex: market.index }
    const notional = mulWad(size, position.entry)
    if (side === 'long') market.long += notional
    else market.short += notional
    open.push(position)
    return {
      ...envelope('position_opened', market.id, block, logIndex),
      data: {
        position_id: position.id,
        trader: position.trader,
        side,
        size: formatDecimal(size),
        collateral: formatDecimal(collateral),
        leverage: formatDecimal(divWad(notional, collateral)),
        entry_price: formatDecimal(position.entry),
        entry_funding_index: formatDecimal(position.entryIndex),
      },
    }
  }

  /** Takes a random open position off the book, with its market's open interest. */
  function takeOpen(): OpenPosition | undefined {
    if (open.length === 0) return undefined
    const at = Math.floor(random() * open.length)
    const position = open[at]!
    open[at] = open[open.length - 1]!
    open.pop()
    const notional = mulWad(position.size, position.entry)
    if (position.side === 'long') position.market.long -= notional
    else position.market.short -= notional
    return position
  }

  function closeOne(block: number, logIndex: number, liquidate: boolean): ChainEventRecord | undefined {
    const position = takeOpen()
    if (position === undefined) return undefined
    const { market } = position
    const exit = price(market)
    const sign = position.side === 'long' ? 1n : -1n
    const funding = sign * mulWad(position.size, market.index - position.entryIndex)
    const pnl = sign * mulWad(position.size, exit - position.entry) - funding
    const base = { position_id: position.id, trader: position.trader }
    if (!liquidate) {
      const data = { ...base, exit_price: formatDecimal(exit), realized_pnl: formatDecimal(pnl), funding_paid: formatDecimal(funding) }
      return { ...envelope('position_closed', market.id, block, logIndex), data }
    }
    const fee = mulWad(mulWad(position.size, exit), WAD / 100n)
    const data = { ...base, liquidator: traders[0]!, liquidation_price: formatDecimal(exit), liquidation_fee: formatDecimal(fee), realized_pnl: formatDecimal(-position.collateral) }
    return { ...envelope('position_liquidated', market.id, block, logIndex), data }
  }

  function funding(market: MarketState, block: number, logIndex: number): ChainEventRecord {
    const rate = BigInt(Math.floor(random() * 7) - 3) * 10n ** 12n
    market.index += mulWad(rate, price(market))
    const data = {
      funding_rate: formatDecimal(rate),
      cumulative_funding_index: formatDecimal(market.index),
      long_open_interest: formatDecimal(market.long),
      short_open_interest: formatDecimal(market.short),
      timestamp: GENESIS_TIME + block,
    }
    return { ...envelope('funding_updated', market.id, block, logIndex), data }
  }

  /** The chain events of one second's block. */
  function block(number: number): ChainEventRecord[] {
    const events: ChainEventRecord[] = []
    const count = (rate: number) => Math.floor(rate + random())
    for (let n = count(RATES.opens); n > 0; n--) events.push(openOne(number, events.length))
    for (let n = count(RATES.closes); n > 0; n--) events.push(...optional(closeOne(number, events.length, false)))
    for (let n = count(RATES.liquidations); n > 0; n--) events.push(...optional(closeOne(number, events.length, true)))
    markets.forEach((market, i) => {
      if (number % FUNDING_EVERY_S === (i * 6) % FUNDING_EVERY_S) events.push(funding(market, number, events.length))
    })
    return events
  }

  const secondsPerChunk = options.secondsPerChunk ?? 600
  while (produced < options.records) {
    const chunk: WorkloadChunk = { events: second === 0 ? listing(1) : [], ticks: [] }
    for (let end = second + secondsPerChunk; second < end && produced + chunk.events.length + chunk.ticks.length < options.records; second++) {
      for (const market of markets) chunk.ticks.push(tick(market, GENESIS_TIME + second))
      chunk.events.push(...block(second + 2))
    }
    produced += chunk.events.length + chunk.ticks.length
    yield chunk
  }
}

function optional<T>(value: T | undefined): T[] {
  return value === undefined ? [] : [value]
}
