// Builders of valid log records for the projections' tests. Every record is parsed with the schema
// the indexer writes with, so a test can never fold a record the log would refuse. Hashes are
// derived from labels, so the same label always names the same block, transaction or position.
import { createHash } from 'node:crypto'
import { formatDecimal, fromPythPrice, parseDecimal } from '../../indexer/records/decimal.ts'
import { chainEventId, reorgId, tickId } from '../../indexer/records/record-ids.ts'
import {
  chainReorgRecord,
  fundingUpdatedRecord,
  marketListedRecord,
  positionClosedRecord,
  positionLiquidatedRecord,
  positionOpenedRecord,
  tickRecord,
  type ChainPosition,
  type ChainReorgRecord,
  type FundingUpdatedRecord,
  type MarketListedRecord,
  type PositionClosedRecord,
  type PositionLiquidatedRecord,
  type PositionOpenedRecord,
  type TickRecord,
} from '../../indexer/records/schemas.ts'

export const CHAIN_ID = 31337
export const CONTRACT = '0x5fbdb2315678afecb367f032d93f642f64180aa3'
export const GENESIS_TIME = 1_732_615_200

/** "0x" and 64 hex digits, the same for the same label. */
export function hashOf(label: string): string {
  return `0x${createHash('sha256').update(label).digest('hex')}`
}

/** An address, the same for the same label. */
export function addressOf(label: string): string {
  return hashOf(`address:${label}`).slice(0, 42)
}

/** The hash of block `number` on branch `branch` (the canonical branch is "main"). */
export function blockHash(number: number, branch = 'main'): string {
  return hashOf(`block:${branch}:${number}`)
}

export interface At {
  readonly block: number
  readonly logIndex?: number
  /** Which branch the block is on (default "main"). */
  readonly branch?: string
  /** Default: a transaction of its own, named after the block, branch and log index. */
  readonly txHash?: string
}

export function chainAt(at: At): ChainPosition {
  const branch = at.branch ?? 'main'
  const logIndex = at.logIndex ?? 0
  return {
    chain_id: CHAIN_ID,
    contract: CONTRACT,
    block_number: at.block,
    block_hash: blockHash(at.block, branch),
    tx_hash: at.txHash ?? hashOf(`tx:${branch}:${at.block}:${logIndex}`),
    log_index: logIndex,
    block_timestamp: GENESIS_TIME + at.block * 12,
  }
}

function envelope<Type extends string>(type: Type, marketId: string, at: At) {
  const chain = chainAt(at)
  return { v: 1 as const, id: chainEventId(chain.chain_id, chain.tx_hash, chain.log_index), type, market_id: marketId, chain }
}

export function marketListed(marketId: string, at: At, data: Partial<MarketListedRecord['data']> = {}): MarketListedRecord {
  return marketListedRecord.parse({
    ...envelope('market_listed', marketId, at),
    data: {
      symbol: marketId.split('-').slice(0, 2).join('/').toUpperCase(),
      pyth_feed_id: hashOf(`feed:${marketId}`),
      maintenance_margin_ratio: '0.05',
      liquidation_fee_ratio: '0.01',
      ...data,
    },
  })
}

export type OpenedData = Pick<PositionOpenedRecord['data'], 'position_id' | 'side' | 'size' | 'collateral' | 'entry_price'> &
  Partial<PositionOpenedRecord['data']>

export function positionOpened(marketId: string, at: At, data: OpenedData): PositionOpenedRecord {
  const notional = (parseDecimal(data.size) * parseDecimal(data.entry_price)) / 10n ** 18n
  return positionOpenedRecord.parse({
    ...envelope('position_opened', marketId, at),
    data: {
      trader: addressOf('trader'),
      leverage: formatDecimal((notional * 10n ** 18n) / parseDecimal(data.collateral)),
      entry_funding_index: '0',
      ...data,
    },
  })
}

export type ClosedData = Pick<PositionClosedRecord['data'], 'position_id' | 'exit_price'> & Partial<PositionClosedRecord['data']>

export function positionClosed(marketId: string, at: At, data: ClosedData): PositionClosedRecord {
  return positionClosedRecord.parse({
    ...envelope('position_closed', marketId, at),
    data: { trader: addressOf('trader'), realized_pnl: '0', funding_paid: '0', ...data },
  })
}

export type LiquidatedData = Pick<PositionLiquidatedRecord['data'], 'position_id' | 'liquidation_price'> &
  Partial<PositionLiquidatedRecord['data']>

export function positionLiquidated(marketId: string, at: At, data: LiquidatedData): PositionLiquidatedRecord {
  return positionLiquidatedRecord.parse({
    ...envelope('position_liquidated', marketId, at),
    data: {
      trader: addressOf('trader'),
      liquidator: addressOf('liquidator'),
      liquidation_fee: '0',
      realized_pnl: '0',
      ...data,
    },
  })
}

export type FundingData = Pick<FundingUpdatedRecord['data'], 'funding_rate' | 'cumulative_funding_index'> &
  Partial<FundingUpdatedRecord['data']>

export function fundingUpdated(marketId: string, at: At, data: FundingData): FundingUpdatedRecord {
  return fundingUpdatedRecord.parse({
    ...envelope('funding_updated', marketId, at),
    data: { long_open_interest: '0', short_open_interest: '0', timestamp: chainAt(at).block_timestamp, ...data },
  })
}

export interface BlockAt {
  readonly block: number
  readonly branch?: string
}

function blockRef(at: BlockAt) {
  return { block_number: at.block, block_hash: blockHash(at.block, at.branch) }
}

/** The chain dropped `orphaned` (ascending) above `ancestor`; `newHead` is the new branch's head. */
export function chainReorg(marketId: string, ancestor: BlockAt, orphaned: readonly BlockAt[], newHead: BlockAt): ChainReorgRecord {
  const common = blockRef(ancestor)
  const orphans = orphaned.map(blockRef)
  return chainReorgRecord.parse({
    v: 1,
    id: reorgId(CHAIN_ID, common.block_hash, orphans[0]?.block_hash ?? '', marketId),
    type: 'chain_reorg',
    market_id: marketId,
    chain: { chain_id: CHAIN_ID, ...common },
    data: { common_ancestor: common, orphaned_blocks: orphans, new_head: blockRef(newHead) },
  })
}

/** A tick of the market's feed at `price` (at most -expo fractional digits). */
export function priceTick(marketId: string, publishTime: number, price: string, expo = -8): TickRecord {
  const feedId = hashOf(`feed:${marketId}`)
  const priceRaw = parseDecimal(price, -expo)
  const confRaw = 1000n
  return tickRecord.parse({
    v: 1,
    id: tickId(feedId, publishTime),
    type: 'price_tick',
    market_id: marketId,
    data: {
      feed_id: feedId,
      price: formatDecimal(fromPythPrice(priceRaw, expo)),
      confidence: formatDecimal(fromPythPrice(confRaw, expo)),
      expo,
      price_raw: priceRaw.toString(),
      conf_raw: confRaw.toString(),
      publish_time: publishTime,
    },
  })
}
