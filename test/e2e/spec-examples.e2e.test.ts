// The spec's JavaScript examples, extracted from docs/WEBSOCKET_API.md and run unchanged against the
// gateway (`serve` on the embedded log, over real sockets): the price-stream example, and the
// WebSocketManager class of "Best Practices" through a gateway stop and restart on the same port.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseServeConfig, resolveServeConfig } from '../../gateway/config.ts'
import { statsResponse } from '../../gateway/protocol/messages.ts'
import { createServe, type Serve } from '../../gateway/serve.ts'
import { startServeFixture, type ServeFixture } from '../../gateway/test-support/serve-fixture.ts'
import { openClient } from '../../gateway/test-support/ws-client.ts'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { marketListed, priceTick } from '../../projections/test-support/records.ts'
import { createSpecExampleContext, priceStreamExample, webSocketManagerExample, type SpecExampleContext } from '../support/e2e-spec-examples.ts'

const BTC = 'btc-usdc-perp'
const specPath = join(import.meta.dirname, '..', '..', 'docs', 'WEBSOCKET_API.md')
/** The example's reconnect delay is 5 s; the restart must be seen well within the test's 30 s. */
const RECONNECT_WAIT_MS = 15_000

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * A second `serve` on the fixture's data directory and port: the same gateway, restarted. The port
 * cannot be bound again while a connection that a client closed (server side in TIME_WAIT) remains,
 * so the tests end their own sockets with terminate() or leave them to the gateway's stop.
 */
async function restartServe(fixture: ServeFixture, port: number): Promise<{ serve: Serve; running: Promise<void> }> {
  const parsed = parseServeConfig([], { DATA_DIR: fixture.dir, HOST: '127.0.0.1', PORT: String(port), PRICES_INTERVAL_MS: '200', LOG_LEVEL: 'silent' })
  if (parsed.kind !== 'config') throw new Error('unexpected --help')
  const serve = createServe(resolveServeConfig(parsed.config), { logger: silentLogger })
  const running = serve.run()
  let failure: unknown
  running.catch((error: unknown) => {
    failure = error
  })
  await until(() => {
    if (failure !== undefined) throw new Error('the restarted serve failed', { cause: failure })
    return serve.port() !== 0
  }, 'the restarted serve to listen')
  return { serve, running }
}

describe('the spec\'s JavaScript examples, run unchanged against the gateway', () => {
  let markdown: string
  let fixture: ServeFixture
  let restarted: { serve: Serve; running: Promise<void> } | undefined
  const contexts: SpecExampleContext[] = []
  const origin = () => `ws://127.0.0.1:${fixture.serve.port()}`

  beforeAll(async () => {
    markdown = await readFile(specPath, 'utf8')
    fixture = await startServeFixture()
    // Left open: the gateway's stop closes it (see restartServe).
    const events = await openClient(fixture.wsUrl('events'))
    await fixture.events.write([marketListed(BTC, { block: 1 })])
    await events.waitFor((frames) => frames.some((f) => f.type === 'market_listed'), 'market_listed')
    await fixture.ticks.write([priceTick(BTC, Math.floor(Date.now() / 1000), '65000.5')])
  })

  afterAll(async () => {
    for (const context of contexts) context.dispose()
    if (restarted !== undefined) {
      await restarted.serve.stop()
      await restarted.running.catch(() => undefined)
    }
    await fixture?.close()
  })

  it('the price-stream example logs "Price: $<decimal>" for each price_update', async () => {
    const example = createSpecExampleContext(origin())
    contexts.push(example)
    const code = priceStreamExample(markdown)
    expect(code).toContain("new WebSocket('ws://localhost:8000/api/v1/ws/prices/btc-usdc-perp')")
    example.run(code)
    await until(() => example.logs.length >= 3, 'three price lines')
    for (const line of example.logs) expect(line).toEqual({ level: 'log', text: expect.stringMatching(/^Price: \$-?(0|[1-9]\d*)(\.\d+)?$/) })
    expect(example.logs[0]?.text).toBe('Price: $65000.5')
    example.dispose()
  })

  it('WebSocketManager connects, and reconnects once the gateway is stopped and restarted on the same port', async () => {
    const example = createSpecExampleContext(origin())
    contexts.push(example)
    const port = fixture.serve.port()
    example.run(webSocketManagerExample(markdown))
    example.run(`globalThis.manager = new WebSocketManager(${JSON.stringify(`${origin()}/api/v1/ws/prices/${BTC}`)}); manager.connect()`)
    const texts = () => example.logs.map((l) => l.text)
    await until(() => texts().includes('Connected'), "'Connected'")

    await fixture.serve.stop()
    await until(() => texts().includes('Disconnected, reconnecting...'), "'Disconnected, reconnecting...'")
    const stoppedAt = Date.now()
    restarted = await restartServe(fixture, port)
    await until(() => texts().filter((t) => t === 'Connected').length === 2, "a second 'Connected'", RECONNECT_WAIT_MS)
    // The example waits its reconnect delay (5 s) before dialling again.
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(4_500)
    expect(texts().slice(0, 3)).toEqual(['Connected', 'Disconnected, reconnecting...', 'Connected'])

    const response = await fetch(`http://127.0.0.1:${port}/api/v1/ws/stats`)
    const stats = statsResponse.parse(await response.json())
    expect(stats.data.by_type.prices).toBe(1)
    example.dispose()
  }, 30_000)
})
