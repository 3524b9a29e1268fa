// JSON-RPC over HTTP(S) with node:http itself, for the backfill's hot path: one request per call on
// a keep-alive connection, the answer's chunks collected as they come and decoded with one
// Buffer.concat, one toString (latin1 when ASCII) and one JSON.parse. viem's transport (fetch, then
// a streaming TextDecoder over the body) cost about 1 µs more CPU per log of an eth_getLogs answer.
// requestReading offers a 2xx answer's bytes to a reader first (the backfill's answer reader, which
// writes records straight from them) and parses only what the reader declines.
//
// Failures are thrown in the shapes json-rpc.ts's classifier reads from viem's errors (a name, an
// HTTP status, a JSON-RPC code and message, a socket error code), so every failure lands in the same
// RpcError kind as it did through viem: 429 -> rate_limited, 5xx -> server_error, the request timer
// -> timeout, a reset or refused socket -> connection, a JSON-RPC error by its code and message, a
// body over the limit -> response_too_large, an answer that is not JSON -> invalid_response.
import { isAscii } from 'node:buffer'
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

export interface HttpJsonRpcOptions {
  readonly url: string
  readonly timeoutMs: number
  /** Largest response body accepted, in bytes. */
  readonly maxResponseBytes: number
}

export type JsonRpcRequest = (args: { method: string; params?: readonly unknown[] }) => Promise<unknown>

/** Reads a 2xx answer's body itself, or returns undefined to have it parsed as JSON. */
export type AnswerReader<T> = (body: Buffer) => T | undefined

/** What the reader made of the answer, or the parsed result when it declined. */
export type ReadAnswer<T> = { readonly read: T } | { readonly result: unknown }

export interface HttpJsonRpc {
  readonly request: JsonRpcRequest
  /** As request, but a 2xx answer's bytes go to `reader` first (a failure is thrown as request throws it). */
  requestReading<T>(args: { method: string; params?: readonly unknown[] }, reader: AnswerReader<T>): Promise<ReadAnswer<T>>
  /** Closes the idle keep-alive connections; requests in flight are not waited for. */
  close(): void
}

/** A non-2xx answer; `details` is its body (or the JSON-RPC error message it held). */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError'
  constructor(
    readonly status: number,
    readonly details: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`HTTP ${status}`, options)
  }
}

/** A JSON-RPC error answer: `code` is the node's error code. */
export class JsonRpcAnswerError extends Error {
  override readonly name = 'JsonRpcAnswerError'
  constructor(
    readonly code: number,
    message: string,
    readonly status?: number,
  ) {
    super(message)
  }
}

/** Named as viem names it, so the classifier reads both alike. */
export class ResponseBodyTooLargeError extends Error {
  override readonly name = 'ResponseBodyTooLargeError'
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
}

/** An answer that is not a JSON-RPC object. */
export class InvalidJsonRpcAnswerError extends Error {
  override readonly name = 'InvalidJsonRpcAnswerError'
}

interface JsonRpcAnswer {
  readonly result?: unknown
  readonly error?: { readonly code?: unknown; readonly message?: unknown }
}

export function createHttpJsonRpc(options: HttpJsonRpcOptions): HttpJsonRpc {
  const url = new URL(options.url)
  const secure = url.protocol === 'https:'
  // Keep-alive: a backfill sends thousands of requests, and a new TCP connection each costs more
  // than the small answers. Idle sockets are unref'd by the agent, so they never hold the process.
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true })
  const send = secure ? httpsRequest : httpRequest
  let nextId = 1

  const call = <T>(args: { method: string; params?: readonly unknown[] }, reader?: AnswerReader<T>): Promise<ReadAnswer<T>> =>
    new Promise<ReadAnswer<T>>((resolve, reject) => {
      const body = JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: args.method, params: args.params ?? [] })
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
      const req = send(url, { method: 'POST', agent, headers })
      let settled = false
      // The first outcome wins; a failure also destroys the socket, so a half-read answer never
      // goes back into the keep-alive pool.
      const settle = (error: unknown, value?: ReadAnswer<T>): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (error === undefined && value !== undefined) resolve(value)
        else {
          req.destroy()
          reject(error)
        }
      }
      const timer = setTimeout(() => settle(new TimeoutError(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs)
      req.once('error', (error) => settle(error))
      req.once('response', (response) => readAnswer(response, options.maxResponseBytes, reader, settle))
      req.end(body)
    })
  const request: JsonRpcRequest = async (args) => {
    const answer = await call(args)
    return 'result' in answer ? answer.result : undefined
  }
  return { request, requestReading: call, close: () => agent.destroy() }
}

function readAnswer<T>(response: IncomingMessage, maxBytes: number, reader: AnswerReader<T> | undefined, settle: (error: unknown, value?: ReadAnswer<T>) => void): void {
  const declared = Number(response.headers['content-length'])
  if (declared > maxBytes) {
    settle(new ResponseBodyTooLargeError(`the answer has ${declared} bytes, more than the ${maxBytes} allowed`))
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  let ended = false
  response.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > maxBytes) settle(new ResponseBodyTooLargeError(`the answer exceeds the ${maxBytes} bytes allowed`))
    else chunks.push(chunk)
  })
  response.once('error', (error) => settle(error))
  // Once the answer has begun, a reset socket ends it with 'close' and no 'end'.
  response.once('close', () => {
    if (!ended) settle(Object.assign(new Error('the connection closed before the answer ended'), { code: 'ECONNRESET' }))
  })
  response.once('end', () => {
    ended = true
    try {
      const status = response.statusCode ?? 0
      const body = Buffer.concat(chunks, size)
      const read = reader !== undefined && status >= 200 && status < 300 ? reader(body) : undefined
      settle(undefined, read !== undefined ? { read } : { result: answerOf(status, textOf(body)) })
    } catch (error) {
      settle(error)
    }
  })
}

/**
 * The body as text. Hex answers are ASCII, which latin1 decodes to the same string as UTF-8 does,
 * several times faster (a copy into a one-byte string, no UTF-8 validation); isAscii is a SIMD scan.
 */
function textOf(body: Buffer): string {
  return isAscii(body) ? body.toString('latin1') : body.toString('utf8')
}

/** The result of a JSON-RPC answer, or the error it stands for. */
function answerOf(status: number, text: string): unknown {
  const ok = status >= 200 && status < 300
  let answer: JsonRpcAnswer
  try {
    answer = JSON.parse(text) as JsonRpcAnswer
  } catch (cause) {
    if (!ok) throw new HttpStatusError(status, text.slice(0, 200))
    throw new InvalidJsonRpcAnswerError(`the answer is not JSON: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  if (typeof answer !== 'object' || answer === null) {
    if (!ok) throw new HttpStatusError(status, text.slice(0, 200))
    throw new InvalidJsonRpcAnswerError('the answer is not a JSON-RPC object')
  }
  const error = answer.error
  if (error !== undefined && error !== null) {
    const code = typeof error.code === 'number' ? error.code : 0
    const message = typeof error.message === 'string' ? error.message : JSON.stringify(error)
    const rpcError = new JsonRpcAnswerError(code, message, ok ? undefined : status)
    throw ok ? rpcError : new HttpStatusError(status, message, { cause: rpcError })
  }
  if (!ok) throw new HttpStatusError(status, text.slice(0, 200))
  if (!('result' in answer)) throw new InvalidJsonRpcAnswerError('the answer has neither result nor error')
  return answer.result
}
