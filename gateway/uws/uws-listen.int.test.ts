// Restarting a server on the port it served from: the connections it closed sit in TIME_WAIT for
// about a minute, and uWS's bind (without SO_REUSEADDR) fails meanwhile.
import { createServer } from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { WsTransport } from '../transport/ws-transport.ts'
import { UwsListenError } from './uws-errors.ts'
import { createUwsTransport } from './uws-transport.ts'
import { closeOf, openClient, testLimits, type TestContext } from './uws-test-kit.ts'

function transport(): WsTransport {
  return createUwsTransport<TestContext>(
    {
      upgrade: (request) => ({ accept: true, context: { path: request.path } }),
      open: (connection) => connection.close(1000, 'bye'),
      message: () => undefined,
      close: () => undefined,
      http: () => undefined,
    },
    testLimits,
    { logger: silentLogger, metrics: createMetricsRegistry() },
  )
}

describe('uWS transport listen', () => {
  const open: WsTransport[] = []
  afterEach(async () => {
    for (const t of open.splice(0)) await t.close()
  })

  it('binds again the port a closed server left with connections in TIME_WAIT', async () => {
    const first = transport()
    const port = await first.listen('127.0.0.1', 0)
    // The server closes each connection first, so the TIME_WAIT entries are on its side of the port.
    for (let i = 0; i < 3; i++) {
      const ws = await openClient(`ws://127.0.0.1:${port}/`)
      await closeOf(ws)
    }
    await first.close()

    const second = transport()
    open.push(second)
    expect(await second.listen('127.0.0.1', port)).toBe(port)
    const ws = await openClient(`ws://127.0.0.1:${port}/`)
    expect((await closeOf(ws)).reason).toBe('bye')
  }, 90_000)

  it('fails at once, naming the address, when another listener holds the port', async () => {
    const holder = createServer()
    holder.listen(0, '127.0.0.1')
    await once(holder, 'listening')
    const { port } = holder.address() as { port: number }
    try {
      const started = Date.now()
      await expect(transport().listen('127.0.0.1', port)).rejects.toThrow(new UwsListenError('127.0.0.1', port).message)
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      holder.close()
    }
  })
})
