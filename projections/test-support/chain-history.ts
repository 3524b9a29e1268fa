// Random but valid histories of the perp contract for property tests: a simulated chain of blocks
// with opens, closes, liquidations and funding updates in several markets, reorganised now and
// then (a chain_reorg per affected market, then a new branch that mines the first orphaned block's
// transactions again, with the same record ids), and per market a stream of ticks with repeats and
// some out of publish order. It also returns the events of the final canonical chain alone.
import { formatDecimal, mulWad, parseDecimal } from '../../indexer/records/decimal.ts'
import type { ChainEventRecord, EventsTopicRecord, TickRecord } from '../../indexer/records/schemas.ts'
import type { Random } from './random.ts'
import {
  addressOf,
  chainReorg,
  fundingUpdated,
  hashOf,
  marketListed,
  positionClosed,
  positionLiquidated,
  positionOpened,
  priceTick,
  type At,
} from './records.ts'

export interface ChainHistoryOptions {
  readonly markets?: readonly string[]
  /** Blocks mined on top of genesis, reorgs not counted (default 30). */
  readonly blocks?: number
  readonly reorgChance?: number
  readonly ticksPerMarket?: number
}

export interface ChainHistory {
  readonly markets: readonly string[]
  /** Per market: its perp.events.v1 records in log order, orphaned branches and reorgs included. */
  readonly events: readonly (readonly EventsTopicRecord[])[]
  /** Per market: its pyth.ticks.v1 records in log order, with repeats and some out of order. */
  readonly ticks: readonly (readonly TickRecord[])[]
  /** Per market: the events of the final canonical chain only, in chain order. */
  readonly canonical: readonly (readonly ChainEventRecord[])[]
}

interface OpenPosition {
  readonly side: 'long' | 'short'
  readonly size: bigint
  readonly collateral: bigint
  readonly entry: bigint
  readonly entryIndex: bigint
}

interface MarketState {
  listed: boolean
  index: bigint
  long: bigint
  short: bigint
  readonly open: Map<string, OpenPosition>
}

type ChainState = Map<string, MarketState>

interface Block {
  readonly number: number
  readonly branch: string
  readonly events: readonly ChainEventRecord[]
  readonly stateAfter: ChainState
}

const WAD = 10n ** 18n
const FIRST_TICK_TIME = 1_732_615_200
const BASE_PRICES: Record<string, bigint> = { 'btc-usdc-perp': 65000n, 'eth-usdc-perp': 3500n, 'sol-usdc-perp': 150n }

function cloneState(state: ChainState): ChainState {
  return new Map([...state].map(([id, m]) => [id, { ...m, open: new Map(m.open) }]))
}

function priceNear(marketId: string, random: Random): bigint {
  const base = BASE_PRICES[marketId] ?? 100n
  return (base * WAD * BigInt(90 + random.int(21))) / 100n
}

/** The effect of a chain event on the simulated contract. */
function simulate(state: ChainState, record: ChainEventRecord): void {
  const market = state.get(record.market_id)!
  switch (record.type) {
    case 'market_listed':
      market.listed = true
      return
    case 'position_opened': {
      const { data } = record
      const position = {
        side: data.side,
        size: parseDecimal(data.size),
        collateral: parseDecimal(data.collateral),
        entry: parseDecimal(data.entry_price),
        entryIndex: parseDecimal(data.entry_funding_index),
      }
      market.open.set(data.position_id, position)
      if (data.side === 'long') market.long += mulWad(position.size, position.entry)
      else market.short += mulWad(position.size, position.entry)
      return
    }
    case 'position_closed':
    case 'position_liquidated': {
      const position = market.open.get(record.data.position_id)!
      market.open.delete(record.data.position_id)
      if (position.side === 'long') market.long -= mulWad(position.size, position.entry)
      else market.short -= mulWad(position.size, position.entry)
      return
    }
    case 'funding_updated':
      market.index = parseDecimal(record.data.cumulative_funding_index)
      return
  }
}

function freshEvent(marketId: string, market: MarketState, at: At, random: Random, nonce: number): ChainEventRecord {
  if (!market.listed) return marketListed(marketId, at)
  const roll = random.int(10)
  const open = [...market.open.keys()]
  if (roll < 4 || open.length === 0) {
    const size = BigInt(1 + random.int(100)) * 10n ** 17n
    const entry = priceNear(marketId, random)
    const collateral = mulWad(size, entry) / BigInt(1 + random.int(10))
    return positionOpened(marketId, at, {
      position_id: hashOf(`position:${nonce}`),
      trader: addressOf(`trader:${random.int(4)}`),
      side: random.chance(0.5) ? 'long' : 'short',
      size: formatDecimal(size),
      collateral: formatDecimal(collateral),
      entry_price: formatDecimal(entry),
      entry_funding_index: formatDecimal(market.index),
    })
  }
  if (roll < 6) {
    const rate = BigInt(random.int(7) - 3) * 10n ** 12n
    return fundingUpdated(marketId, at, {
      funding_rate: formatDecimal(rate),
      cumulative_funding_index: formatDecimal(market.index + mulWad(rate, priceNear(marketId, random))),
      long_open_interest: formatDecimal(market.long),
      short_open_interest: formatDecimal(market.short),
    })
  }
  return endPosition(marketId, market, random.pick(open), at, random, roll < 9)
}

function endPosition(marketId: string, market: MarketState, id: string, at: At, random: Random, close: boolean): ChainEventRecord {
  const position = market.open.get(id)!
  const price = priceNear(marketId, random)
  const sign = position.side === 'long' ? 1n : -1n
  if (!close) {
    return positionLiquidated(marketId, at, {
      position_id: id,
      liquidation_price: formatDecimal(price),
      liquidation_fee: formatDecimal(mulWad(mulWad(position.size, price), WAD / 100n)),
      realized_pnl: formatDecimal(-position.collateral),
    })
  }
  const funding = sign * mulWad(position.size, market.index - position.entryIndex)
  return positionClosed(marketId, at, {
    position_id: id,
    exit_price: formatDecimal(price),
    funding_paid: formatDecimal(funding),
    realized_pnl: formatDecimal(sign * mulWad(position.size, price - position.entry) - funding),
  })
}

/** The same event mined again at `number` on `branch`: same transaction and log index, so same id. */
function remine(record: ChainEventRecord, number: number, branch: string): ChainEventRecord {
  const at: At = { block: number, branch, logIndex: record.chain.log_index, txHash: record.chain.tx_hash }
  switch (record.type) {
    case 'market_listed':
      return marketListed(record.market_id, at, record.data)
    case 'position_opened':
      return positionOpened(record.market_id, at, record.data)
    case 'position_closed':
      return positionClosed(record.market_id, at, record.data)
    case 'position_liquidated':
      return positionLiquidated(record.market_id, at, record.data)
    case 'funding_updated':
      return fundingUpdated(record.market_id, at, record.data)
  }
}

function tickStream(marketId: string, count: number, random: Random): TickRecord[] {
  const ticks = Array.from({ length: count }, (_, i) => priceTick(marketId, FIRST_TICK_TIME + i, formatDecimal(priceNear(marketId, random))))
  const stream: TickRecord[] = []
  for (let i = 0; i < ticks.length; i++) {
    if (i + 1 < ticks.length && random.chance(0.15)) [ticks[i], ticks[i + 1]] = [ticks[i + 1]!, ticks[i]!]
    stream.push(ticks[i]!)
    if (random.chance(0.1)) stream.push(random.pick(stream))
  }
  return stream
}

export function generateChainHistory(random: Random, options: ChainHistoryOptions = {}): ChainHistory {
  const markets = options.markets ?? ['btc-usdc-perp', 'eth-usdc-perp', 'sol-usdc-perp']
  const genesis: Block = {
    number: 0,
    branch: 'main',
    events: [],
    stateAfter: new Map(markets.map((id) => [id, { listed: false, index: 0n, long: 0n, short: 0n, open: new Map() }])),
  }
  const chain: Block[] = [genesis]
  const streams = new Map(markets.map((id) => [id, [] as EventsTopicRecord[]]))
  let nonce = 0
  let reorgs = 0

  function mine(branch: string, remined: readonly ChainEventRecord[]): void {
    const number = chain.length
    const state = cloneState(chain.at(-1)!.stateAfter)
    const events = remined.map((record) => remine(record, number, branch))
    events.forEach((record) => simulate(state, record))
    let logIndex = (events.at(-1)?.chain.log_index ?? -1) + 1
    for (let n = random.int(4); n > 0; n--) {
      const marketId = random.pick(markets)
      const record = freshEvent(marketId, state.get(marketId)!, { block: number, branch, logIndex: logIndex++ }, random, nonce++)
      simulate(state, record)
      events.push(record)
    }
    chain.push({ number, branch, events, stateAfter: state })
    for (const record of events) streams.get(record.market_id)!.push(record)
  }

  function reorganise(): void {
    const depth = 1 + random.int(Math.min(3, chain.length - 1))
    const orphaned = chain.splice(chain.length - depth, depth)
    const ancestor = chain.at(-1)!
    const branch = `fork-${++reorgs}`
    const newHeight = ancestor.number + depth + random.int(2)
    const affected = new Set(orphaned.flatMap((block) => block.events.map((record) => record.market_id)))
    const refs = orphaned.map((block) => ({ block: block.number, branch: block.branch }))
    for (const marketId of affected) {
      streams.get(marketId)!.push(chainReorg(marketId, { block: ancestor.number, branch: ancestor.branch }, refs, { block: newHeight, branch }))
    }
    mine(branch, orphaned[0]!.events)
    while (chain.length <= newHeight) mine(branch, [])
  }

  for (let mined = 0; mined < (options.blocks ?? 30); ) {
    if (chain.length > 1 && random.chance(options.reorgChance ?? 0.15)) reorganise()
    else {
      mine(chain.at(-1)!.branch, [])
      mined++
    }
  }
  return {
    markets,
    events: markets.map((id) => streams.get(id)!),
    ticks: markets.map((id) => tickStream(id, options.ticksPerMarket ?? 12, random)),
    canonical: markets.map((id) => chain.flatMap((block) => block.events.filter((record) => record.market_id === id))),
  }
}
