import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocketServer, type WebSocket } from 'ws'
import { silentLogger } from '../runtime/logger.ts'
import type { BlockRef } from './chain-types.ts'
import { createChainRpc } from './json-rpc.ts'

// A WebSocket JSON-RPC node over a real socket that answers eth_chainId and eth_subscribe, pushes
// newHeads notifications on demand, and counts the pong frames the client sends it.
interface FakeNode {
  readonly url: string
  pongs(): number
  notify(head: number): void
  close(): Promise<void>
}

async function startNode(): Promise<FakeNode> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  let pongs = 0
  const clients = new Set<WebSocket>()
  server.on('connection', (socket) => {
    clients.add(socket)
    socket.on('pong', () => pongs++)
    socket.on('message', (data) => {
      const request = JSON.parse(String(data)) as { id: number; method: string }
      const result = request.method === 'eth_chainId' ? '0x7a69' : request.method === 'eth_subscribe' ? '0xabc' : null
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result }))
    })
  })
  const hash = (n: number): string => `0x${n.toString(16).padStart(64, '0')}`
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pongs: () => pongs,
    notify: (head) => {
      const result = { number: `0x${head.toString(16)}`, hash: hash(head), parentHash: hash(head - 1), timestamp: '0x1' }
      const frame = JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0xabc', result } })
      for (const client of clients) client.send(frame)
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.terminate()
        server.close(() => resolve())
      }),
  }
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('WebSocket ChainRpc acknowledgements', () => {
  let node: FakeNode | undefined
  afterEach(async () => {
    await node?.close()
  })

  it('answers every frame from the node with a pong, so a delayed ACK cannot hold the next notification', async () => {
    node = await startNode()
    const rpc = createChainRpc({ url: node.url, timeoutMs: 5_000, logger: silentLogger })
    try {
      expect(await rpc.chainId()).toBe(31337)
      const heads: BlockRef[] = []
      const errors: Error[] = []
      const unsubscribe = await rpc.subscribeNewHeads!((head) => heads.push(head), (error) => errors.push(error))
      const before = node.pongs()
      for (let n = 1; n <= 3; n++) node.notify(n)
      await until(() => heads.length === 3)
      // One pong per notification at least (the answers to eth_chainId and eth_subscribe had theirs).
      await until(() => node!.pongs() >= before + 3)
      expect(heads.map((head) => head.number)).toEqual([1, 2, 3])
      expect(before).toBeGreaterThanOrEqual(1)
      expect(errors).toEqual([])
      await unsubscribe()
    } finally {
      await rpc.close()
    }
  })
})
