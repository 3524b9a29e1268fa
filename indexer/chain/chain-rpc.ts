// The JSON-RPC calls the indexer makes, and nothing else. Implementations return raw logs (no
// decoding: the indexer decodes with its own per-signature decoder) and classify failures into
// RpcError kinds, so backfill and live tail decide between retrying, splitting and stopping.
import type { Hex } from 'viem'
import type { BlockRef, RawLog } from './chain-types.ts'

export type LogFilter =
  | { readonly address: Hex; readonly fromBlock: number; readonly toBlock: number }
  | { readonly address: Hex; readonly blockHash: Hex }

export interface ChainRpc {
  chainId(): Promise<number>
  blockNumber(): Promise<number>
  getBlockByNumber(block: number | 'latest' | 'finalized'): Promise<BlockRef | undefined>
  getBlockByHash(hash: Hex): Promise<BlockRef | undefined>
  getLogs(filter: LogFilter): Promise<RawLog[]>
  /**
   * getLogs with the answer's bytes offered to `reader` first (HTTP transports): `read` when it
   * took them, else the logs as getLogs parses them. Failures are getLogs's.
   */
  readonly getLogsReading?: <T>(filter: LogFilter, reader: (body: Buffer) => T | undefined) => Promise<{ readonly read: T } | { readonly logs: RawLog[] }>
  /** New heads over a WebSocket subscription; undefined on HTTP transports. Returns an unsubscribe. */
  readonly subscribeNewHeads?: (onHead: (head: BlockRef) => void, onError: (error: Error) => void) => Promise<() => Promise<void>>
  close(): Promise<void>
}

export type RpcErrorKind =
  | 'rate_limited' // HTTP 429 or a provider's rate-limit code
  | 'server_error' // HTTP 5xx
  | 'timeout'
  | 'connection' // refused, reset, closed socket
  | 'range_too_large' // e.g. -32602 "range too large", -32005 "query returned more than 10000 results"
  | 'response_too_large' // the response body limit
  | 'invalid_response'
  | 'rejected' // any other JSON-RPC error: not retryable

export class RpcError extends Error {
  override readonly name = 'RpcError'
  constructor(
    message: string,
    readonly kind: RpcErrorKind,
    readonly method: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }

  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'server_error' || this.kind === 'timeout' || this.kind === 'connection'
  }

  /** The request asked for too much at once: retry with a smaller block range. */
  get shouldSplit(): boolean {
    return this.kind === 'range_too_large' || this.kind === 'response_too_large'
  }
}
