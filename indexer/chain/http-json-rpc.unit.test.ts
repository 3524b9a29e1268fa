import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../runtime/logger.ts'
import { RpcError, type RpcErrorKind } from './chain-rpc.ts'
import { createChainRpc } from './json-rpc.ts'

// A JSON-RPC node on a loopback socket whose every answer the test decides.
type Answer = (req: IncomingMessage, res: ServerResponse, call: { id: number; method: string }) => void

interface FakeNode {
  readonly url: string
  /** TCP connections accepted so far. */
  connections(): number
  close(): Promise<void>
}

let node: FakeNode | undefined

async function startNode(answer: Answer): Promise<FakeNode> {
  let connections = 0
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => answer(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string }))
  })
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

afterEach(async () => {
  await node?.close()
  node = undefined
})

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

async function failureKind(answer: Answer, options: { timeoutMs?: number; maxResponseBytes?: number } = {}): Promise<RpcErrorKind> {
  node = await startNode(answer)
  const rpc = createChainRpc({ url: node.url, timeoutMs: options.timeoutMs ?? 2_000, ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }), logger: silentLogger })
  try {
    await rpc.getLogs({ address: '0x0000000000000000000000000000000000000001', fromBlock: 0, toBlock: 10 })
  } catch (error) {
    expect(error).toBeInstanceOf(RpcError)
    expect((error as RpcError).method).toBe('eth_getLogs')
    return (error as RpcError).kind
  } finally {
    await rpc.close()
  }
  throw new Error('the request did not fail')
}

describe('the HTTP JSON-RPC client', () => {
  it('returns the result and reuses one keep-alive connection for consecutive requests', async () => {
    node = await startNode((_req, res, call) => json(res, 200, { jsonrpc: '2.0', id: call.id, result: call.method === 'eth_chainId' ? '0x7a69' : '0x10' }))
    const rpc = createChainRpc({ url: node.url, timeoutMs: 2_000, logger: silentLogger })
    expect(await rpc.chainId()).toBe(31337)
    expect(await rpc.blockNumber()).toBe(16)
    expect(await rpc.blockNumber()).toBe(16)
    expect(node.connections()).toBe(1)
    await rpc.close()
  })

  it('reads an answer that arrives in many chunks', async () => {
    const logs = Array.from({ length: 2_000 }, (_, i) => ({
      address: '0x0000000000000000000000000000000000000001',
      topics: [`0x${'ab'.repeat(32)}`],
      data: `0x${'00'.repeat(64)}`,
      blockNumber: `0x${i.toString(16)}`,
      blockHash: `0x${'cd'.repeat(32)}`,
      transactionHash: `0x${'ef'.repeat(32)}`,
      logIndex: '0x0',
    }))
    node = await startNode((_req, res, call) => {
      const text = JSON.stringify({ jsonrpc: '2.0', id: call.id, result: logs })
      res.writeHead(200, { 'content-type': 'application/json' })
      for (let at = 0; at < text.length; at += 7_000) res.write(text.slice(at, at + 7_000))
      res.end()
    })
    const rpc = createChainRpc({ url: node.url, timeoutMs: 2_000, logger: silentLogger })
    expect(await rpc.getLogs({ address: '0x0000000000000000000000000000000000000001', fromBlock: 0, toBlock: 2_000 })).toEqual(logs)
    await rpc.close()
  })

  describe('getLogsReading', () => {
    const filter = { address: '0x0000000000000000000000000000000000000001', fromBlock: 0, toBlock: 9 } as const
    const logs = [{ address: filter.address, topics: [], data: '0x', blockNumber: '0x1', blockHash: `0x${'cd'.repeat(32)}`, transactionHash: `0x${'ef'.repeat(32)}`, logIndex: '0x0' }]

    it('offers the whole body of a 2xx answer to the reader and returns what it read', async () => {
      let sent = ''
      node = await startNode((_req, res, call) => {
        sent = JSON.stringify({ jsonrpc: '2.0', id: call.id, result: logs })
        res.writeHead(200, { 'content-type': 'application/json' })
        for (let at = 0; at < sent.length; at += 50) res.write(sent.slice(at, at + 50))
        res.end()
      })
      const rpc = createChainRpc({ url: node.url, timeoutMs: 2_000, logger: silentLogger })
      expect(await rpc.getLogsReading!(filter, (body) => body.toString('latin1'))).toEqual({ read: sent })
      await rpc.close()
    })

    it('parses the answer as getLogs does when the reader declines it', async () => {
      node = await startNode((_req, res, call) => json(res, 200, { jsonrpc: '2.0', id: call.id, result: logs }))
      const rpc = createChainRpc({ url: node.url, timeoutMs: 2_000, logger: silentLogger })
      expect(await rpc.getLogsReading!(filter, () => undefined)).toEqual({ logs })
      await rpc.close()
    })

    it.each([
      ['an HTTP 429', ((_q, res) => res.writeHead(429).end('Too Many Requests')) as Answer, 'rate_limited', 0],
      ['an HTTP 503 with a JSON-RPC body', ((_q, res, c) => json(res, 503, { jsonrpc: '2.0', id: c.id, error: { code: -32603, message: 'down' } })) as Answer, 'server_error', 0],
      ['-32005 in a 200 answer', ((_q, res, c) => json(res, 200, { jsonrpc: '2.0', id: c.id, error: { code: -32005, message: 'query returned more than 10000 results' } })) as Answer, 'range_too_large', 1],
    ] as const)('fails on %s as getLogs does, offering only a 2xx body to the reader', async (_name, answer, kind, offered) => {
      node = await startNode(answer)
      const rpc = createChainRpc({ url: node.url, timeoutMs: 2_000, logger: silentLogger })
      let calls = 0
      await expect(rpc.getLogsReading!(filter, () => void calls++)).rejects.toMatchObject({ kind, method: 'eth_getLogs' })
      expect(calls).toBe(offered)
      await rpc.close()
    })
  })

  it('decodes an answer holding UTF-8 text as UTF-8', async () => {
    node = await startNode((_req, res, call) => json(res, 200, { jsonrpc: '2.0', id: call.id, error: { code: 3, message: 'réverted: ₿ too low' } }))
    const rpc = createChainRpc({ url: node.url, timeoutMs: 2_000, logger: silentLogger })
    await expect(rpc.blockNumber()).rejects.toThrow(/réverted: ₿ too low/)
    await rpc.close()
  })

  it.each([
    ['an HTTP 429', ((_q, res) => res.writeHead(429).end('Too Many Requests')) as Answer, 'rate_limited'],
    ['an HTTP 500', ((_q, res) => res.writeHead(500).end('Internal Server Error')) as Answer, 'server_error'],
    ['an HTTP 503 with a JSON-RPC body', ((_q, res, c) => json(res, 503, { jsonrpc: '2.0', id: c.id, error: { code: -32603, message: 'backend unavailable' } })) as Answer, 'server_error'],
    ['a JSON-RPC 429 in a 200 answer', ((_q, res, c) => json(res, 200, { jsonrpc: '2.0', id: c.id, error: { code: 429, message: 'Too Many Requests' } })) as Answer, 'rate_limited'],
    ['-32005 "more than 10000 results"', ((_q, res, c) => json(res, 200, { jsonrpc: '2.0', id: c.id, error: { code: -32005, message: 'query returned more than 10000 results' } })) as Answer, 'range_too_large'],
    ['-32602 "block range too large"', ((_q, res, c) => json(res, 200, { jsonrpc: '2.0', id: c.id, error: { code: -32602, message: 'block range too large, max 2000' } })) as Answer, 'range_too_large'],
    ['a reverted call', ((_q, res, c) => json(res, 200, { jsonrpc: '2.0', id: c.id, error: { code: 3, message: 'execution reverted' } })) as Answer, 'rejected'],
    ['a reset connection', ((req) => req.socket.destroy()) as Answer, 'connection'],
    ['an answer cut short', ((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      res.write('{"jsonrpc":"2.0","id":1,"result":[')
      setTimeout(() => req.socket.destroy(), 20)
    }) as Answer, 'connection'],
    ['an answer that is not JSON', ((_q, res) => res.writeHead(200).end('<html>')) as Answer, 'invalid_response'],
    ['an answer with neither result nor error', ((_q, res, c) => json(res, 200, { jsonrpc: '2.0', id: c.id })) as Answer, 'invalid_response'],
  ] as const)('classifies %s', async (_name, answer, kind) => {
    expect(await failureKind(answer)).toBe(kind)
  })

  it('times out a request the node never answers', async () => {
    expect(await failureKind(() => undefined, { timeoutMs: 100 })).toBe('timeout')
  })

  it('refuses an answer over the body limit, declared or streamed, as response_too_large', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'x'.repeat(5_000) })
    expect(await failureKind((_q, res) => res.writeHead(200, { 'content-length': String(big.length) }).end(big), { maxResponseBytes: 1_000 })).toBe('response_too_large')
    await node?.close()
    node = undefined
    const streamed: Answer = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      for (let i = 0; i < 5; i++) res.write(big)
      res.end()
    }
    expect(await failureKind(streamed, { maxResponseBytes: 10_000 })).toBe('response_too_large')
  })

  it('reports a refused connection as connection', async () => {
    const free = await startNode(() => undefined)
    const url = free.url
    await free.close()
    const rpc = createChainRpc({ url, timeoutMs: 1_000, logger: silentLogger })
    await expect(rpc.blockNumber()).rejects.toMatchObject({ kind: 'connection' })
    await rpc.close()
  })
})
