// Sortable text keys for chain positions within a market: "<market_id>:<block_number>" for a block
// and "<market_id>:<block_number>:<log_index>" for a log, with the numbers zero-padded to 16 digits
// (block numbers and log indices are below 2^53), so a market's keys sort in chain order byte for
// byte. SQLite then appends a market's funding history and undo journal at the end of that market's
// key range instead of at random places.

const WIDTH = 16

export function blockKey(marketId: string, blockNumber: number): string {
  return `${marketId}:${String(blockNumber).padStart(WIDTH, '0')}`
}

export function chainKey(marketId: string, blockNumber: number, logIndex: number): string {
  return `${blockKey(marketId, blockNumber)}:${String(logIndex).padStart(WIDTH, '0')}`
}
