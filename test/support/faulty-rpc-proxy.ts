// An HTTP JSON-RPC proxy in front of anvil that misbehaves as real providers do: 429s, 500/503s,
// requests that hang (the client must time out), connections destroyed before any answer, and
// eth_getLogs range refusals (-32005 "query returned more than 10000 results" alternating with
// -32602 "block range too large") for ranges wider than a configured number of blocks. Faults come
// from a fixed sequence first (so a test can be sure each kind occurs) and then by probability, from
// a seeded random source. Everything it injected is counted.
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export type ProxyFault = 'rate_limited' | 'server_error' | 'timeout' | 'reset'
export type InjectedKind = ProxyFault | 'range_error'

export interface FaultyRpcProxyOptions {
  /** anvil's http URL. */
  readonly target: string
  /** Probability per request of each fault, checked in this order. */
  readonly probabilities?: Partial<Readonly<Record<ProxyFault, number>>>
  /** Faults injected, in order, into the first requests (after `cleanRequests`). */
  readonly sequence?: readonly ProxyFault[]
  /** Requests passed through untouched before any fault (e.g. a test's own setup calls). */
  readonly cleanRequests?: number
  /** eth_getLogs over more blocks than this is refused with a range error. */
  readonly maxGetLogsBlocks?: number
  /** How long a hung request is held before its socket is destroyed (default 60 s). */
  readonly hangMs?: number
  /** Uniform in [0, 1); seed it for a reproducible run. */
  readonly random?: () => number
}

export interface FaultyRpcProxy {
  readonly url: string
  /** Counts of what was injected, by kind. */
  injected(): Readonly<Record<InjectedKind, number>>
  /** Requests received, faulty or not. */
  requests(): number
  /** Replaces the probabilities, e.g. 0 for a clean phase. */
  setProbabilities(probabilities: Partial<Readonly<Record<ProxyFault, number>>>): void
  close(): Promise<void>
}

interface JsonRpcCall {
  readonly id?: unknown
  readonly method?: unknown
  readonly params?: unknown
}

const FAULTS: readonly ProxyFault[] = ['rate_limited', 'server_error', 'timeout', 'reset']

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

export async function startFaultyRpcProxy(options: FaultyRpcProxyOptions): Promise<FaultyRpcProxy> {
  const target = new URL(options.target)
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const random = options.random ?? Math.random
  const hangMs = options.hangMs ?? 60_000
  const sequence = [...(options.sequence ?? [])]
  const counts: Record<InjectedKind, number> = { rate_limited: 0, server_error: 0, timeout: 0, reset: 0, range_error: 0 }
  const sockets = new Set<Socket>()
  let probabilities = { ...options.probabilities }
  let received = 0

  function pickFault(index: number): ProxyFault | undefined {
    if (index < (options.cleanRequests ?? 0)) return undefined
    const scripted = sequence.shift()
    if (scripted !== undefined) return scripted
    return FAULTS.find((fault) => random() < (probabilities[fault] ?? 0))
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const index = received++
      const fault = pickFault(index)
      if (fault !== undefined) {
        counts[fault]++
        inject(fault, res, req.socket, { hangMs, faultsSoFar: counts[fault] })
        return
      }
      const refusal = rangeRefusal(body, options.maxGetLogsBlocks, counts.range_error)
      if (refusal !== undefined) {
        counts.range_error++
        res.writeHead(200, { 'content-type': 'application/json' }).end(refusal)
        return
      }
      forward(target, agent, body, req, res)
    })
  })
  const port = await listenTracked(server, sockets)
  return {
    url: `http://127.0.0.1:${port}`,
    injected: () => ({ ...counts }),
    requests: () => received,
    setProbabilities: (next) => {
      probabilities = { ...next }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        agent.destroy()
        server.close(() => resolve())
      }),
  }
}

/** Listens on a free port of 127.0.0.1, keeping every open socket in `sockets` so close() can end them. */
async function listenTracked(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  return (server.address() as AddressInfo).port
}

function inject(fault: ProxyFault, res: ServerResponse, socket: Socket, how: { hangMs: number; faultsSoFar: number }): void {
  switch (fault) {
    case 'rate_limited':
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '0' }).end('Too Many Requests')
      return
    case 'server_error': {
      const status = how.faultsSoFar % 2 === 0 ? 503 : 500
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 503 ? 'Service Unavailable' : 'Internal Server Error')
      return
    }
    case 'timeout': {
      // No answer at all: the client's own timeout has to fire.
      const timer = setTimeout(() => socket.destroy(), how.hangMs)
      socket.once('close', () => clearTimeout(timer))
      return
    }
    case 'reset':
      socket.destroy()
      return
  }
}

function forward(target: URL, agent: Agent, body: Buffer, req: IncomingMessage, res: ServerResponse): void {
  const headers = { 'content-type': 'application/json', 'content-length': body.length }
  const upstream = httpRequest({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' })
    answer.pipe(res)
  })
  upstream.on('error', () => req.socket.destroy())
  upstream.end(body)
}

/** The JSON-RPC error answer for an eth_getLogs wider than `maxBlocks`, or undefined. */
function rangeRefusal(body: Buffer, maxBlocks: number | undefined, refusedSoFar: number): string | undefined {
  if (maxBlocks === undefined) return undefined
  let call: JsonRpcCall
  try {
    call = JSON.parse(body.toString('utf8')) as JsonRpcCall
  } catch {
    return undefined
  }
  if (Array.isArray(call) || call.method !== 'eth_getLogs' || !Array.isArray(call.params)) return undefined
  const filter = call.params[0] as { fromBlock?: unknown; toBlock?: unknown } | undefined
  if (typeof filter?.fromBlock !== 'string' || typeof filter.toBlock !== 'string') return undefined
  const blocks = Number(filter.toBlock) - Number(filter.fromBlock) + 1
  if (!(blocks > maxBlocks)) return undefined
  const error =
    refusedSoFar % 2 === 0
      ? { code: -32005, message: 'query returned more than 10000 results' }
      : { code: -32602, message: `block range too large: ${blocks} blocks, at most ${maxBlocks} allowed` }
  return JSON.stringify({ jsonrpc: '2.0', id: call.id ?? null, error })
}
