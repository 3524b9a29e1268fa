// ChainRpc over HTTP (http-json-rpc.ts, node:http with keep-alive) for http(s) URLs, and over viem's
// webSocket transport for ws(s) URLs (which also gives newHeads subscriptions). Only raw requests:
// the answers stay the node's hex JSON, because the indexer decodes logs itself, far faster than
// viem's getLogs and decodeEventLog path.
//
// Neither retries: retrying is the caller's (rpc-retry.ts), which also needs to see every failure
// as one of the RpcError kinds, classified here (viem's retries are off, retryCount 0). One
// eth_getLogs answer of 10,000 perp events is about 10 MB of JSON, so the response body limit is
// 256 MiB by default, configurable, and hitting it is 'response_too_large' so the range is split.
import { webSocket, type Hex } from 'viem'
import type { Logger } from '../runtime/logger.ts'
import type { MetricsRegistry } from '../runtime/metrics.ts'
import { RpcError, type ChainRpc, type LogFilter, type RpcErrorKind } from './chain-rpc.ts'
import type { BlockRef, RawLog } from './chain-types.ts'
import { createHttpJsonRpc } from './http-json-rpc.ts'

export interface ChainRpcOptions {
  /** http(s):// or ws(s)://. */
  readonly url: string
  readonly timeoutMs: number
  /** Largest HTTP response body accepted, in bytes (default 256 MiB). */
  readonly maxResponseBytes?: number
  readonly logger: Logger
  /** Request durations and errors by kind are recorded here when given. */
  readonly metrics?: MetricsRegistry
}

export const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024

type RawRequest = (args: { method: string; params?: readonly unknown[] }) => Promise<unknown>

interface Subscriber {
  subscribe(args: {
    params: ['newHeads']
    onData: (data: { result?: unknown }) => void
    onError: (error: unknown) => void
  }): Promise<{ unsubscribe: () => Promise<unknown> }>
  getRpcClient(): Promise<{ close(): void; readonly socket: unknown }>
}

/** The parts of a `ws` WebSocket (what viem's transport uses on Node 20) that acknowledging needs. */
interface PongingSocket {
  pong(): void
  on(event: 'message', listener: (this: PongingSocket) => void): void
  listeners(event: 'message'): readonly unknown[]
}

function isPongingSocket(socket: unknown): socket is PongingSocket {
  if (typeof socket !== 'object' || socket === null) return false
  const s = socket as Record<string, unknown>
  return typeof s['pong'] === 'function' && typeof s['on'] === 'function' && typeof s['listeners'] === 'function'
}

// Anvil's WebSocket server leaves Nagle's algorithm on: it holds a small frame (a newHeads
// notification) until the client acknowledges the previous one, and Linux delays that ACK by up to
// 40 ms when the client has nothing to send. An unsolicited pong after every frame received (RFC
// 6455 allows one; no reply is due) makes the ACK leave at once, so back-to-back blocks arrive
// without the 40 ms stall. One listener per socket: it is found again by identity, so a socket
// shared by several ChainRpc instances (viem caches one per URL) is never hooked twice.
function pongAfterFrame(this: PongingSocket): void {
  try {
    this.pong()
  } catch {
    // A socket still connecting or already closing: there is nothing to acknowledge.
  }
}

/** Hooks pongAfterFrame on viem's current socket; called again after a reconnect gave it a new one. */
async function acknowledgeFrames(subscriber: Subscriber): Promise<void> {
  const socket = (await subscriber.getRpcClient()).socket
  if (isPongingSocket(socket) && !socket.listeners('message').includes(pongAfterFrame)) socket.on('message', pongAfterFrame)
}

export function createChainRpc(options: ChainRpcOptions): ChainRpc {
  const protocol = new URL(options.url).protocol
  if (protocol === 'ws:' || protocol === 'wss:') return webSocketRpc(options)
  if (protocol === 'http:' || protocol === 'https:') return httpRpc(options)
  throw new RangeError(`RPC URL must be http(s):// or ws(s)://, got ${protocol}`)
}

function httpRpc(options: ChainRpcOptions): ChainRpc {
  const client = createHttpJsonRpc({
    url: options.url,
    timeoutMs: options.timeoutMs,
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
  })
  const measured = measure(options)
  const rpc = rpcMethods((args) => measured(args.method, () => client.request(args)), async () => client.close())
  return {
    ...rpc,
    getLogsReading: async (filter, reader) => {
      const params = [logFilterParams(filter)]
      const answer = await measured('eth_getLogs', () => client.requestReading({ method: 'eth_getLogs', params }, reader))
      return 'read' in answer ? { read: answer.read } : { logs: parseLogs(answer.result) }
    },
  }
}

function webSocketRpc(options: ChainRpcOptions): ChainRpc {
  const transport = webSocket(options.url, { retryCount: 0, timeout: options.timeoutMs })({ retryCount: 0 })
  const subscriber = transport.value as unknown as Subscriber
  const raw = transport.request as unknown as RawRequest
  // viem opens the socket on first use; close() must not open one just to close it.
  let opened = false
  const acknowledge = (): void => void acknowledgeFrames(subscriber).catch(() => undefined)
  const measured = measure(options)
  const request: RawRequest = (args) =>
    measured(args.method, () => {
      opened = true
      const answer = raw(args)
      acknowledge()
      return answer
    })
  const rpc = rpcMethods(request, async () => {
    if (opened) await subscriber.getRpcClient().then((client) => client.close(), () => undefined)
  })
  return {
    ...rpc,
    subscribeNewHeads: async (onHead, onError) => {
      opened = true
      const subscription = await subscriber
        .subscribe({
          params: ['newHeads'],
          onData: (data) => {
            const head = parseBlock(data.result, 'eth_subscribe')
            if (head === undefined) onError(new RpcError('eth_subscribe sent an empty head', 'invalid_response', 'eth_subscribe'))
            else onHead(head)
          },
          onError: (error) => onError(classifyRpcError(error, 'eth_subscribe')),
        })
        .catch((error: unknown) => {
          throw classifyRpcError(error, 'eth_subscribe')
        })
      acknowledge()
      return async () => {
        await subscription.unsubscribe()
      }
    },
  }
}

/** Runs one request: classifies its failure into an RpcError and records durations and errors. */
function measure(options: ChainRpcOptions): <T>(method: string, run: () => Promise<T>) => Promise<T> {
  const duration = options.metrics?.histogram('rpc_request_duration_seconds', 'JSON-RPC request durations by method')
  const errors = options.metrics?.counter('rpc_errors_total', 'JSON-RPC request failures by method and kind')
  const logger = options.logger
  return async (method, run) => {
    const started = performance.now()
    try {
      return await run()
    } catch (error) {
      const classified = classifyRpcError(error, method)
      errors?.inc({ method, kind: classified.kind })
      logger.debug('rpc request failed', { method, kind: classified.kind, error: classified })
      throw classified
    } finally {
      duration?.observe((performance.now() - started) / 1000, { method })
    }
  }
}

function rpcMethods(request: RawRequest, close: () => Promise<void>): ChainRpc {
  const blockBy = async (method: string, params: readonly unknown[]): Promise<BlockRef | undefined> =>
    parseBlock(await request({ method, params }), method)
  return {
    chainId: async () => quantity(await request({ method: 'eth_chainId' }), 'eth_chainId'),
    blockNumber: async () => quantity(await request({ method: 'eth_blockNumber' }), 'eth_blockNumber'),
    getBlockByNumber: (block) =>
      blockBy('eth_getBlockByNumber', [typeof block === 'number' ? toHex(block) : block, false]),
    getBlockByHash: (hash) => blockBy('eth_getBlockByHash', [hash, false]),
    getLogs: async (filter) => parseLogs(await request({ method: 'eth_getLogs', params: [logFilterParams(filter)] })),
    close,
  }
}

function toHex(value: number): Hex {
  return `0x${value.toString(16)}`
}

function logFilterParams(filter: LogFilter): Record<string, string> {
  if ('blockHash' in filter) return { address: filter.address, blockHash: filter.blockHash }
  return { address: filter.address, fromBlock: toHex(filter.fromBlock), toBlock: toHex(filter.toBlock) }
}

const HEX_QUANTITY = /^0x[0-9a-fA-F]{1,15}$/
const HASH = /^0x[0-9a-fA-F]{64}$/

function quantity(value: unknown, method: string): number {
  if (typeof value !== 'string' || !HEX_QUANTITY.test(value)) {
    throw new RpcError(`${method} answered ${JSON.stringify(value)}, not a hex quantity`, 'invalid_response', method)
  }
  return Number.parseInt(value.slice(2), 16)
}

function hash(value: unknown, method: string, field: string): Hex {
  if (typeof value !== 'string' || !HASH.test(value)) {
    throw new RpcError(`${method} answered a ${field} of ${JSON.stringify(value)}`, 'invalid_response', method)
  }
  return value as Hex
}

function parseBlock(value: unknown, method: string): BlockRef | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'object') throw new RpcError(`${method} answered a non-object block`, 'invalid_response', method)
  const block = value as Record<string, unknown>
  return {
    number: quantity(block['number'], method),
    hash: hash(block['hash'], method, 'hash'),
    parentHash: hash(block['parentHash'], method, 'parentHash'),
    timestamp: quantity(block['timestamp'], method),
  }
}

/**
 * Checks only the shape the decoder and the record mapping rely on; they validate the contents.
 * A loop with typeof tests, since it runs on every log of a backfill.
 */
function parseLogs(value: unknown): RawLog[] {
  if (!Array.isArray(value)) throw new RpcError('eth_getLogs answered a non-array', 'invalid_response', 'eth_getLogs')
  for (let i = 0; i < value.length; i++) {
    const log = value[i] as Record<string, unknown> | null
    if (
      typeof log !== 'object' ||
      log === null ||
      typeof log['blockHash'] !== 'string' ||
      typeof log['blockNumber'] !== 'string' ||
      typeof log['logIndex'] !== 'string' ||
      typeof log['transactionHash'] !== 'string' ||
      typeof log['data'] !== 'string' ||
      !Array.isArray(log['topics'])
    ) {
      throw new RpcError(`eth_getLogs answered a malformed log at index ${i}`, 'invalid_response', 'eth_getLogs')
    }
  }
  return value as RawLog[]
}

// Providers' words for a range they will not serve: -32005 "query returned more than 10000
// results", -32602 "range too large" / "block range is too wide" / "exceed maximum block range",
// "Log response size exceeded", "too many blocks".
const RANGE_MESSAGE =
  /more than \d+ results|range (is )?too (large|wide|big)|block range|too many (blocks|results|logs)|response size (exceeded|too large)|max(imum)? (block )?range|exceeds? (the )?(max|limit)/i
const RATE_MESSAGE = /rate.?limit|too many requests|request limit|requests? (per|\/) ?sec|exceeded .*(capacity|quota|compute units)|throttl/i
const CONNECTION_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT'])
const CONNECTION_MESSAGE = /other side closed|socket hang up|socket has been closed|fetch failed|terminated|connection (reset|refused|closed)/i
const CONNECTION_NAMES = new Set(['SocketClosedError', 'WebSocketRequestError'])

interface Facts {
  readonly names: Set<string>
  readonly status: number | undefined
  readonly rpcCode: number | undefined
  readonly messages: string
  readonly codes: Set<string>
}

/** What the cause chain of a viem (or undici) failure says: error names, HTTP status, JSON-RPC error. */
function factsOf(error: unknown): Facts {
  const names = new Set<string>()
  const codes = new Set<string>()
  const messages: string[] = []
  let status: number | undefined
  let rpcCode: number | undefined
  let current: unknown = error
  for (let depth = 0; depth < 12 && typeof current === 'object' && current !== null; depth++) {
    const node = current as Record<string, unknown>
    if (typeof node['name'] === 'string') names.add(node['name'])
    if (typeof node['message'] === 'string') messages.push(node['message'])
    if (typeof node['details'] === 'string') messages.push(node['details'])
    if (typeof node['code'] === 'string') codes.add(node['code'])
    if (typeof node['status'] === 'number') status ??= node['status']
    if (typeof node['code'] === 'number' && node['code'] !== -1) rpcCode ??= node['code']
    current = node['cause']
  }
  return { names, status, rpcCode, messages: messages.join(' | '), codes }
}

function kindOf(facts: Facts, method: string): RpcErrorKind {
  const { names, status, rpcCode, messages } = facts
  if (names.has('ResponseBodyTooLargeError')) return 'response_too_large'
  if (method === 'eth_getLogs' && rpcCode !== undefined && RANGE_MESSAGE.test(messages)) return 'range_too_large'
  if (status === 429 || rpcCode === 429 || rpcCode === -32007 || RATE_MESSAGE.test(messages)) return 'rate_limited'
  if (status !== undefined && status >= 500) return 'server_error'
  if (names.has('TimeoutError') || status === 408) return 'timeout'
  if (names.has('AbortError') && /timeout|timed out/i.test(messages)) return 'timeout'
  if ([...facts.codes].some((code) => CONNECTION_CODES.has(code))) return 'connection'
  if ([...names].some((name) => CONNECTION_NAMES.has(name)) || CONNECTION_MESSAGE.test(messages)) return 'connection'
  if (rpcCode === -32603) return 'server_error'
  if (rpcCode === -32005) return method === 'eth_getLogs' ? 'range_too_large' : 'rate_limited'
  if (names.has('SyntaxError') || names.has('InvalidJsonRpcAnswerError')) return 'invalid_response'
  return 'rejected'
}

/** Any failure of a request, as the RpcError kind that tells the caller whether to retry or split. */
export function classifyRpcError(error: unknown, method: string): RpcError {
  if (error instanceof RpcError) return error
  const facts = factsOf(error)
  const kind = kindOf(facts, method)
  const status = facts.status === undefined ? '' : ` HTTP ${facts.status}`
  const code = facts.rpcCode === undefined ? '' : ` code ${facts.rpcCode}`
  const first = facts.messages.split(' | ')[0] ?? ''
  return new RpcError(`${method} failed (${kind}${status}${code}): ${first}`, kind, method, { cause: error })
}
