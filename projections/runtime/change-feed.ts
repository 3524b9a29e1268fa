// The change feed: after each commit, the runtime tells its listeners what changed, for the gateway
// to push. A listener runs after the commit, so what it reads from the store is already durable;
// a listener that throws is reported and does not stop the fold (the batch is committed already).
import type { ProjectionRecord } from '../fold/projection-record.ts'
import type { MarketRow, PositionRow, TickRow } from '../fold/read-model-rows.ts'

/** A position as committed; row undefined: a reorg undid its opening, so it no longer exists. */
export interface PositionImage {
  readonly position_id: string
  readonly market_id: string
  readonly row: PositionRow | undefined
}

/** A market as committed, with its latest tick; row undefined: a reorg undid its listing. */
export interface MarketImage {
  readonly market_id: string
  readonly row: MarketRow | undefined
  readonly tick: TickRow | undefined
}

export interface ProjectionChange {
  readonly topic: string
  readonly partition: number
  /** The partition's next offset as committed with this change. */
  readonly nextOffset: number
  /** The records that changed the read models, in fold order: redelivered and stale ones are left out. */
  readonly records: readonly ProjectionRecord[]
  /** Each record's offset in the partition, index for index (raw-event frames carry it in their cursor). */
  readonly offsets: readonly number[]
  /** Positions whose rows were written (opened, closed, liquidated, or restored by a reorg). */
  readonly positionIds: readonly string[]
  /** Markets of the records folded: their row, price, positions or history changed. */
  readonly marketIds: readonly string[]
  /** The committed row of every position in positionIds. */
  readonly positions: readonly PositionImage[]
  /** The committed row and tick of every market in marketIds that is listed, or was unlisted by a reorg. */
  readonly markets: readonly MarketImage[]
}

export type ChangeListener = (change: ProjectionChange) => void

export interface ChangeFeed {
  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void
}

export interface ChangePublisher extends ChangeFeed {
  publish(change: ProjectionChange): void
  /** Whether anyone is subscribed: with no one, a change need not be built at all (a replay). */
  hasListeners(): boolean
}

export function createChangeFeed(onListenerError: (error: unknown) => void): ChangePublisher {
  const listeners = new Set<ChangeListener>()
  return {
    subscribe: (listener) => {
      // A wrapper per subscription, so the same function subscribed twice is called twice and
      // each unsubscribe removes only its own.
      const entry: ChangeListener = (change) => listener(change)
      listeners.add(entry)
      return () => {
        listeners.delete(entry)
      }
    },
    hasListeners: () => listeners.size > 0,
    publish: (change) => {
      for (const listener of [...listeners]) {
        try {
          listener(change)
        } catch (error) {
          onListenerError(error)
        }
      }
    },
  }
}
