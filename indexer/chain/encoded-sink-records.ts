// The event sink's per-record work for a range of the trusted write path (encoded-records.ts): note
// each record's market, drop the records already on the log (at or before their partition's tail
// after a restart) and turn the rest into the log's outgoing records, keyed by market id, each value
// a view into the range's one buffer.
import type { OutgoingRecord } from '../log/log.ts'
import type { ChainEventRecord } from '../records/schemas.ts'
import { encodedValue, type EncodedRecords } from './encoded-records.ts'

export interface FreshSelection {
  /** Market id -> Pyth feed id once its MarketListed was seen; updated in place. */
  readonly markets: Map<string, string | undefined>
  readonly isFresh: (partition: number, block: number, logIndex: number) => boolean
  readonly partitionOf: (marketId: string) => number
}

export interface FreshRecords {
  readonly records: OutgoingRecord[]
  /** The index in the range of each of `records`. */
  readonly indexes: number[]
  readonly types: ChainEventRecord['type'][]
}

export function encodedFreshRecords(encoded: EncodedRecords, selection: FreshSelection): FreshRecords {
  const { markets, isFresh, partitionOf } = selection
  const partitions = encoded.markets.map(partitionOf)
  const fresh: FreshRecords = { records: [], indexes: [], types: [] }
  for (let i = 0; i < encoded.count; i++) {
    const code = encoded.marketCodes[i]!
    const market = encoded.markets[code]!
    const type = encoded.types[i]!
    if (type === 'market_listed') markets.set(market, pythFeedOf(encodedValue(encoded, i)))
    else if (!markets.has(market)) markets.set(market, undefined)
    if (!isFresh(partitions[code]!, encoded.blockNumbers[i]!, encoded.logIndexes[i]!)) continue
    fresh.records.push({ key: market, value: encodedValue(encoded, i) })
    fresh.indexes.push(i)
    fresh.types.push(type)
  }
  return fresh
}

/** A market_listed record's feed id; a few per chain, so its JSON is simply parsed. */
function pythFeedOf(value: Buffer): string {
  const record = JSON.parse(value.toString('utf8')) as { readonly data: { readonly pyth_feed_id: string } }
  return record.data.pyth_feed_id
}
