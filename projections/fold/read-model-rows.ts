// The rows of the read models, one interface per table, named as the SQLite columns are. They hold
// facts from the log only: amounts are canonical decimal strings exactly as the records carry them
// (or as exact WAD sums of them), chain positions are integers, and nothing depends on a clock or on
// the order in which the two topics were consumed. Derived values (PnL, health, liquidation price)
// are computed at read time by projections/risk from these facts and the latest tick.

export type PositionStatus = 'open' | 'closed' | 'liquidated'

/** A listed market: its parameters (MarketListed) and its funding state (FundingUpdated). */
export interface MarketRow {
  readonly market_id: string
  readonly symbol: string
  readonly pyth_feed_id: string
  readonly maintenance_margin_ratio: string
  readonly liquidation_fee_ratio: string
  readonly chain_id: number
  readonly contract: string
  readonly listed_block_number: number
  readonly listed_block_hash: string
  readonly listed_tx_hash: string
  readonly listed_log_index: number
  readonly listed_at: number
  /** "0" until the first FundingUpdated. */
  readonly funding_rate: string
  readonly cumulative_funding_index: string
  /**
   * Σ mulWad(size, entry_price) over the open positions of each side, as the contract keeps it:
   * set from every FundingUpdated and moved by every open, close and liquidation in between.
   */
  readonly long_open_interest: string
  readonly short_open_interest: string
  /** The funding time of the latest FundingUpdated (unix seconds), null before the first. */
  readonly last_funding_update: number | null
}

/** A position from its opening to its close or liquidation. The close columns are null while open. */
export interface PositionRow {
  readonly position_id: string
  readonly market_id: string
  readonly trader: string
  readonly side: 'long' | 'short'
  readonly size: string
  readonly collateral: string
  readonly leverage: string
  readonly entry_price: string
  readonly entry_funding_index: string
  readonly status: PositionStatus
  readonly opened_block_number: number
  readonly opened_block_hash: string
  readonly opened_tx_hash: string
  readonly opened_log_index: number
  readonly opened_at: number
  /** The close's exit price, or the liquidation's price. */
  readonly exit_price: string | null
  readonly realized_pnl: string | null
  /** Funding settled on close (negative: received); null for a liquidation, which does not report it. */
  readonly funding_paid: string | null
  readonly liquidator: string | null
  readonly liquidation_fee: string | null
  readonly closed_block_number: number | null
  readonly closed_block_hash: string | null
  readonly closed_tx_hash: string | null
  readonly closed_log_index: number | null
  readonly closed_at: number | null
}

/** The newest Pyth tick of a market, by publish time. */
export interface TickRow {
  readonly market_id: string
  readonly record_id: string
  readonly feed_id: string
  readonly price: string
  readonly confidence: string
  readonly expo: number
  readonly price_raw: string
  readonly conf_raw: string
  readonly publish_time: number
}

/** A liquidation (PositionLiquidated); a position is liquidated at most once. */
export interface LiquidationRow {
  readonly position_id: string
  readonly record_id: string
  readonly market_id: string
  readonly trader: string
  readonly liquidator: string
  readonly liquidation_price: string
  readonly liquidation_fee: string
  readonly realized_pnl: string
  readonly block_number: number
  readonly block_hash: string
  readonly tx_hash: string
  readonly log_index: number
  readonly block_timestamp: number
}

/** One FundingUpdated, keyed by its chain key so that a market's history is stored in chain order. */
export interface FundingRow {
  readonly chain_key: string
  readonly record_id: string
  readonly market_id: string
  readonly funding_rate: string
  readonly cumulative_funding_index: string
  readonly long_open_interest: string
  readonly short_open_interest: string
  /** The funding time the contract emitted (unix seconds). */
  readonly funding_time: number
  readonly block_number: number
  readonly block_hash: string
  readonly tx_hash: string
  readonly log_index: number
  readonly block_timestamp: number
}

export interface ReadModelRows {
  readonly markets: MarketRow
  readonly positions: PositionRow
  readonly latest_ticks: TickRow
  readonly liquidations: LiquidationRow
  readonly funding_history: FundingRow
}

export type ReadModelTable = keyof ReadModelRows

/** A row's new image (undefined: the row is deleted), keyed by the table's primary key. */
export type RowWrite = {
  readonly [T in ReadModelTable]: { readonly table: T; readonly key: string; readonly row: ReadModelRows[T] | undefined }
}[ReadModelTable]

type ColumnsOf<Row> = readonly (keyof Row & string)[]

interface TableSpec<Row> {
  /** The single-column primary key. */
  readonly key: keyof Row & string
  /** Every column, in the order SQL statements and the state hash use. */
  readonly columns: ColumnsOf<Row>
}

/**
 * The tables of the read models, in the order the state hash visits them. Every table has one
 * TEXT primary key, so a row is addressed the same way in memory, in SQLite and in the undo journal.
 */
export const readModelTables: { readonly [T in ReadModelTable]: TableSpec<ReadModelRows[T]> } = {
  markets: {
    key: 'market_id',
    columns: [
      'market_id', 'symbol', 'pyth_feed_id', 'maintenance_margin_ratio', 'liquidation_fee_ratio', 'chain_id',
      'contract', 'listed_block_number', 'listed_block_hash', 'listed_tx_hash', 'listed_log_index', 'listed_at',
      'funding_rate', 'cumulative_funding_index', 'long_open_interest', 'short_open_interest', 'last_funding_update',
    ],
  },
  positions: {
    key: 'position_id',
    columns: [
      'position_id', 'market_id', 'trader', 'side', 'size', 'collateral', 'leverage', 'entry_price',
      'entry_funding_index', 'status', 'opened_block_number', 'opened_block_hash', 'opened_tx_hash',
      'opened_log_index', 'opened_at', 'exit_price', 'realized_pnl', 'funding_paid', 'liquidator', 'liquidation_fee',
      'closed_block_number', 'closed_block_hash', 'closed_tx_hash', 'closed_log_index', 'closed_at',
    ],
  },
  latest_ticks: {
    key: 'market_id',
    columns: ['market_id', 'record_id', 'feed_id', 'price', 'confidence', 'expo', 'price_raw', 'conf_raw', 'publish_time'],
  },
  liquidations: {
    key: 'position_id',
    columns: [
      'position_id', 'record_id', 'market_id', 'trader', 'liquidator', 'liquidation_price', 'liquidation_fee',
      'realized_pnl', 'block_number', 'block_hash', 'tx_hash', 'log_index', 'block_timestamp',
    ],
  },
  funding_history: {
    key: 'chain_key',
    columns: [
      'chain_key', 'record_id', 'market_id', 'funding_rate', 'cumulative_funding_index', 'long_open_interest',
      'short_open_interest', 'funding_time', 'block_number', 'block_hash', 'tx_hash', 'log_index', 'block_timestamp',
    ],
  },
}

export const readModelTableNames = Object.keys(readModelTables) as ReadModelTable[]

/** A row as the values of its columns in readModelTables order. */
export function rowValues<T extends ReadModelTable>(table: T, row: ReadModelRows[T]): (string | number | null)[] {
  const spec = readModelTables[table] as TableSpec<ReadModelRows[T]>
  return spec.columns.map((column) => row[column] as string | number | null)
}

/** The inverse of rowValues. */
export function rowFromValues<T extends ReadModelTable>(table: T, values: readonly (string | number | null)[]): ReadModelRows[T] {
  const spec = readModelTables[table] as TableSpec<ReadModelRows[T]>
  const row: Record<string, string | number | null> = {}
  spec.columns.forEach((column, i) => {
    row[column] = values[i] ?? null
  })
  return row as unknown as ReadModelRows[T]
}
