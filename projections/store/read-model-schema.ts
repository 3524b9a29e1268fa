// The SQLite tables of the read models and of the fold's bookkeeping. Tables are STRICT, so an
// amount stored as TEXT stays TEXT (never coerced to a REAL), and every amount column is TEXT holding
// a canonical decimal. Columns are listed in readModelTables order (read-model-rows.ts); a test
// checks that they agree.
import type Database from 'better-sqlite3'

/** PRAGMA user_version of the layout below; a file of another version is refused, not migrated. */
export const READ_MODEL_SCHEMA_VERSION = 1

export class ReadModelSchemaError extends Error {
  override readonly name = 'ReadModelSchemaError'
  constructor(
    readonly found: number,
    options?: ErrorOptions,
  ) {
    super(
      `read-model file has schema version ${found}, this build uses ${READ_MODEL_SCHEMA_VERSION}; rebuild it with replay`,
      options,
    )
  }
}

// positions is a rowid table: rows are appended in the order they are first written, and only the
// narrow index of the random 32-byte position ids takes random inserts. The tables keyed by chain
// or block key are WITHOUT ROWID: their keys grow per market, so rows append at the end of a key range.
const DDL = `
CREATE TABLE markets (
  market_id TEXT PRIMARY KEY,
  symbol TEXT NOT NULL,
  pyth_feed_id TEXT NOT NULL,
  maintenance_margin_ratio TEXT NOT NULL,
  liquidation_fee_ratio TEXT NOT NULL,
  chain_id INTEGER NOT NULL,
  contract TEXT NOT NULL,
  listed_block_number INTEGER NOT NULL,
  listed_block_hash TEXT NOT NULL,
  listed_tx_hash TEXT NOT NULL,
  listed_log_index INTEGER NOT NULL,
  listed_at INTEGER NOT NULL,
  funding_rate TEXT NOT NULL,
  cumulative_funding_index TEXT NOT NULL,
  long_open_interest TEXT NOT NULL,
  short_open_interest TEXT NOT NULL,
  last_funding_update INTEGER
) STRICT;

CREATE TABLE positions (
  position_id TEXT PRIMARY KEY,
  market_id TEXT NOT NULL,
  trader TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('long', 'short')),
  size TEXT NOT NULL,
  collateral TEXT NOT NULL,
  leverage TEXT NOT NULL,
  entry_price TEXT NOT NULL,
  entry_funding_index TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'liquidated')),
  opened_block_number INTEGER NOT NULL,
  opened_block_hash TEXT NOT NULL,
  opened_tx_hash TEXT NOT NULL,
  opened_log_index INTEGER NOT NULL,
  opened_at INTEGER NOT NULL,
  exit_price TEXT,
  realized_pnl TEXT,
  funding_paid TEXT,
  liquidator TEXT,
  liquidation_fee TEXT,
  closed_block_number INTEGER,
  closed_block_hash TEXT,
  closed_tx_hash TEXT,
  closed_log_index INTEGER,
  closed_at INTEGER
) STRICT;

CREATE TABLE latest_ticks (
  market_id TEXT PRIMARY KEY,
  record_id TEXT NOT NULL,
  feed_id TEXT NOT NULL,
  price TEXT NOT NULL,
  confidence TEXT NOT NULL,
  expo INTEGER NOT NULL,
  price_raw TEXT NOT NULL,
  conf_raw TEXT NOT NULL,
  publish_time INTEGER NOT NULL
) STRICT;

CREATE TABLE liquidations (
  position_id TEXT PRIMARY KEY,
  record_id TEXT NOT NULL,
  market_id TEXT NOT NULL,
  trader TEXT NOT NULL,
  liquidator TEXT NOT NULL,
  liquidation_price TEXT NOT NULL,
  liquidation_fee TEXT NOT NULL,
  realized_pnl TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  block_timestamp INTEGER NOT NULL
) STRICT;

CREATE TABLE funding_history (
  chain_key TEXT PRIMARY KEY,
  record_id TEXT NOT NULL,
  market_id TEXT NOT NULL,
  funding_rate TEXT NOT NULL,
  cumulative_funding_index TEXT NOT NULL,
  long_open_interest TEXT NOT NULL,
  short_open_interest TEXT NOT NULL,
  funding_time INTEGER NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  tx_hash TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  block_timestamp INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Per market, its blocks not yet final: the ids of their folded events (JSON array) and the row
-- images that undo them (JSON, see sqlite-read-model-store.ts).
CREATE TABLE undo_journal (
  block_key TEXT PRIMARY KEY,
  market_id TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  record_ids TEXT NOT NULL,
  undo TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE fold_cursors (
  market_id TEXT PRIMARY KEY,
  head_block INTEGER NOT NULL,
  finalized_through INTEGER NOT NULL
) STRICT;

CREATE TABLE consumer_offsets (
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
) STRICT;
`

// The indexes only queries use (the fold reads by primary key alone). A bulk load builds them once
// at the end, from sorted keys, instead of inserting every row into them at random places: with
// them, an insert into positions costs about twice as much.
const SECONDARY_INDEXES = `
CREATE INDEX IF NOT EXISTS positions_open_by_trader ON positions (trader) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS positions_open_by_market ON positions (market_id, side) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS liquidations_by_chain_position ON liquidations (block_number, log_index);
`

export interface SchemaOptions {
  /** Leave the secondary indexes out of a new file (a bulk load); createSecondaryIndexes adds them. */
  readonly deferIndexes?: boolean
}

/**
 * Creates the tables in a new file; accepts a file of this version; refuses any other. The
 * secondary indexes are created when missing (unless deferred), so a file whose bulk load stopped
 * before they were built still gets them.
 */
export function ensureReadModelSchema(db: Database.Database, options: SchemaOptions = {}): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version !== READ_MODEL_SCHEMA_VERSION) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number }
    if (version !== 0 || tables.n > 0) throw new ReadModelSchemaError(version)
    db.transaction(() => {
      db.exec(DDL)
      db.pragma(`user_version = ${READ_MODEL_SCHEMA_VERSION}`)
    }).immediate()
  }
  if (options.deferIndexes !== true) createSecondaryIndexes(db)
}

/** Builds the secondary indexes that are missing. */
export function createSecondaryIndexes(db: Database.Database): void {
  db.exec(SECONDARY_INDEXES)
}
