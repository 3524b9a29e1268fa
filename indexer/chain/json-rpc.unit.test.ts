import {
  HttpRequestError,
  InvalidParamsRpcError,
  LimitExceededRpcError,
  ResponseBodyTooLargeError,
  RpcRequestError,
  SocketClosedError,
  TimeoutError,
} from 'viem'
import { describe, expect, it } from 'vitest'
import { silentLogger } from '../runtime/logger.ts'
import { RpcError } from './chain-rpc.ts'
import { classifyRpcError, createChainRpc } from './json-rpc.ts'

const url = 'http://127.0.0.1:8545'
const body = { method: 'eth_getLogs', params: [] }

/** A JSON-RPC error answer as viem's transports raise it (buildRequest wraps it by code). */
function jsonRpcError(code: number, message: string, status?: number): RpcRequestError {
  return new RpcRequestError({ body, error: { code, message }, url, ...(status === undefined ? {} : { status }) })
}

function connectionReset(): HttpRequestError {
  const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })
  return new HttpRequestError({ body, url, cause: new TypeError('fetch failed', { cause: socket }) })
}

describe('classifyRpcError', () => {
  it.each([
    ['an HTTP 429', new HttpRequestError({ body, url, status: 429 }), 'rate_limited'],
    ['a JSON-RPC 429 in a 200 answer', jsonRpcError(429, 'Too Many Requests'), 'rate_limited'],
    ["Infura's -32005 rate limit", new LimitExceededRpcError(jsonRpcError(-32005, 'daily request count exceeded, request rate limited')), 'rate_limited'],
    ['an HTTP 500', new HttpRequestError({ body, url, status: 500 }), 'server_error'],
    ['an HTTP 503 with a JSON-RPC body', jsonRpcError(-32603, 'backend unavailable', 503), 'server_error'],
    ['a request timeout', new TimeoutError({ body, url }), 'timeout'],
    ['a reset connection', connectionReset(), 'connection'],
    ['a refused connection', new HttpRequestError({ body, url, cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }), 'connection'],
    ['a closed WebSocket', new SocketClosedError({ url: 'ws://127.0.0.1:8545' }), 'connection'],
    ['-32005 "more than 10000 results"', new LimitExceededRpcError(jsonRpcError(-32005, 'query returned more than 10000 results')), 'range_too_large'],
    ['-32602 "block range too large"', new InvalidParamsRpcError(jsonRpcError(-32602, 'block range too large, max 2000')), 'range_too_large'],
    ['-32602 "exceed maximum block range"', new InvalidParamsRpcError(jsonRpcError(-32602, 'exceed maximum block range: 5000')), 'range_too_large'],
    ["viem's response body limit", new ResponseBodyTooLargeError({ maxSize: 10, size: 11 }), 'response_too_large'],
    ['a malformed parameter', new InvalidParamsRpcError(jsonRpcError(-32602, 'invalid argument 0: hex string without 0x prefix')), 'rejected'],
    ['a reverted call', jsonRpcError(3, 'execution reverted'), 'rejected'],
  ] as const)('classifies %s', (_name, error, kind) => {
    const classified = classifyRpcError(error, 'eth_getLogs')
    expect(classified.kind).toBe(kind)
    expect(classified.method).toBe('eth_getLogs')
    expect(classified.cause).toBe(error)
  })

  it('treats a range message as a range error only for eth_getLogs', () => {
    const error = new LimitExceededRpcError(jsonRpcError(-32005, 'limit exceeded'))
    expect(classifyRpcError(error, 'eth_getLogs').kind).toBe('range_too_large')
    expect(classifyRpcError(error, 'eth_blockNumber').kind).toBe('rate_limited')
  })

  it('passes an RpcError through unchanged', () => {
    const error = new RpcError('x', 'timeout', 'eth_chainId')
    expect(classifyRpcError(error, 'eth_getLogs')).toBe(error)
  })
})

describe('createChainRpc', () => {
  it('refuses a URL that is neither http(s) nor ws(s)', () => {
    expect(() => createChainRpc({ url: 'ftp://node', timeoutMs: 1_000, logger: silentLogger })).toThrow(/http\(s\):\/\/ or ws\(s\):\/\//)
  })

  it('offers newHeads subscriptions on WebSocket URLs only', async () => {
    const ws = createChainRpc({ url: 'ws://127.0.0.1:1', timeoutMs: 1_000, logger: silentLogger })
    const http = createChainRpc({ url: 'http://127.0.0.1:1', timeoutMs: 1_000, logger: silentLogger })
    expect(ws.subscribeNewHeads).toBeTypeOf('function')
    expect(http.subscribeNewHeads).toBeUndefined()
    await http.close()
  })
})
