// Nothing a client sends costs the server anything lasting: each transport-level bad input, over a
// real socket, ends in an error frame or a closed socket, counted by reason, with the process serving.
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import type { WsConnection } from '../transport/ws-transport.ts'
import { closeOf, nextText, openClient, openNonReadingSocket, startHarness, until, type Harness, type TestContext } from './uws-test-kit.ts'

const harnesses: Harness[] = []
const sockets: Socket[] = []
async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  const h = await startHarness(...args)
  harnesses.push(h)
  return h
}
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await Promise.all(harnesses.splice(0).map((h) => h.transport.close()))
})

describe('frames the server does not understand', () => {
  it('delivers a text frame of any content to the message handler, which answers it', async () => {
    const h = await harness({ message: (connection, text) => connection.send(`{"type":"error","code":"bad_frame","message":"${text.length}"}`) })
    const ws = await openClient(h.url('/a'))
    const answer = nextText(ws)
    ws.send('not json at all')
    expect(JSON.parse(await answer)).toEqual({ type: 'error', code: 'bad_frame', message: '15' })
    expect(h.received).toEqual([{ id: 1, text: 'not json at all' }])
    ws.close()
  })

  it('answers a binary frame with an error frame itself and keeps the socket open', async () => {
    const h = await harness()
    const ws = await openClient(h.url('/a'))
    const answer = nextText(ws)
    ws.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]))
    expect(JSON.parse(await answer)).toMatchObject({ type: 'error', code: 'bad_frame' })
    expect(h.received).toEqual([])
    expect(h.opened[0]?.isOpen()).toBe(true)
    ws.close()
  })

  it('closes the socket with 1011 when the message handler throws, and keeps serving others', async () => {
    const h = await harness({
      message: () => {
        throw new Error('channel bug')
      },
    })
    const ws = await openClient(h.url('/a'))
    const closed = closeOf(ws)
    ws.send('{"type":"ping"}')
    expect((await closed).code).toBe(1011)
    const other = await openClient(h.url('/a'))
    other.close()
  })
})

describe('limits', () => {
  it('closes a client that floods frames with 1008 and delivers none past the limit', async () => {
    const h = await harness({}, { maxClientFramesPerWindow: 20, floodWindowMs: 10_000 })
    const ws = await openClient(h.url('/a'))
    const closed = closeOf(ws)
    for (let i = 0; i < 100; i++) ws.send(`{"n":${i}}`)
    expect(await closed).toEqual({ code: 1008, reason: 'too many frames' })
    expect(h.received).toHaveLength(20)
    expect(h.transport.counters().closedBy.flood).toBe(1)
  })

  it('lets a client send at the flood limit in every window', async () => {
    const h = await harness({}, { maxClientFramesPerWindow: 5, floodWindowMs: 100 })
    const ws = await openClient(h.url('/a'))
    for (let window = 0; window < 3; window++) {
      for (let i = 0; i < 5; i++) ws.send('x')
      await new Promise((resolve) => setTimeout(resolve, 150))
    }
    await until(() => h.received.length === 15)
    expect(h.opened[0]?.isOpen()).toBe(true)
    ws.close()
  })

  it('closes a client whose frame is over the payload limit with 1009, and drops one far over it', async () => {
    const h = await harness({}, { maxPayloadBytes: 1000 })
    const near = await openClient(h.url('/a'))
    near.send('x'.repeat(1000))
    await until(() => h.received.length === 1)
    const nearClosed = closeOf(near)
    near.send('x'.repeat(1001))
    expect(await nearClosed).toEqual({ code: 1009, reason: 'frame too large' })
    const far = await openClient(h.url('/a'))
    const farClosed = closeOf(far)
    far.send('x'.repeat(100_000))
    expect((await farClosed).code).toBe(1006)
    await until(() => h.transport.counters().closedBy.payload === 2)
    expect(h.received).toHaveLength(1)
  })

  it('removes a connection that stops answering pings after the idle timeout', { timeout: 40_000 }, async () => {
    const h = await harness({}, { idleTimeoutSeconds: 8 })
    const live = await openClient(h.url('/live'))
    const dead = await openClient(h.url('/dead'), { autoPong: false })
    let pings = 0
    dead.on('ping', () => (pings += 1))
    const started = Date.now()
    const closed = closeOf(dead)
    await closed
    const elapsedSeconds = (Date.now() - started) / 1000
    expect(pings).toBeGreaterThanOrEqual(1)
    // uWS keeps time in 4-second ticks: the close lands between one and two timeouts after the last frame.
    expect(elapsedSeconds).toBeGreaterThanOrEqual(4)
    expect(elapsedSeconds).toBeLessThan(30)
    await until(() => h.transport.counters().closedBy.idle === 1)
    expect(h.opened.map((c) => c.isOpen())).toEqual([true, false])
    live.close()
  })
})

describe('slow clients', () => {
  const frame = 'p'.repeat(16 * 1024)
  const limit = 64 * 1024

  it('closes a subscriber that stops reading once published frames pass its backpressure limit, buffering no more than the limit', async () => {
    const h = await harness({}, { maxBackpressureBytes: limit })
    sockets.push(await openNonReadingSocket(h.port, '/slow'))
    const reader = await openClient(h.url('/fast'))
    let delivered = 0
    reader.on('message', () => (delivered += 1))
    const slow = h.opened[0] as WsConnection<TestContext>
    let mostBuffered = 0
    let published = 0
    while (slow.isOpen() && published < 20_000) {
      h.transport.publish('all', frame)
      published += 1
      if (slow.isOpen()) mostBuffered = Math.max(mostBuffered, slow.bufferedAmount())
      // Publish no faster than the reading client reads, even on a loaded machine: only the
      // client that stopped reading may reach the limit.
      if (published % 50 === 0) {
        await new Promise((resolve) => setImmediate(resolve))
        await until(() => (published - delivered) * frame.length < limit / 2, 5000, 'the reading client to keep up')
      }
    }
    await until(() => !slow.isOpen(), 5000, 'the slow socket to close')
    expect(mostBuffered).toBeGreaterThan(0)
    expect(mostBuffered).toBeLessThanOrEqual(limit + frame.length)
    expect(h.transport.counters().closedBy.backpressure).toBe(1)
    await until(() => delivered === published, 10_000, 'the reading client to get every frame')
    expect(h.opened[1]?.isOpen()).toBe(true)
    reader.close()
  })

  it('reports a send over the backpressure limit as dropped and closes that socket', async () => {
    const h = await harness({ open: () => undefined }, { maxBackpressureBytes: limit })
    sockets.push(await openNonReadingSocket(h.port, '/slow'))
    const slow = h.opened[0] as WsConnection<TestContext>
    const results: string[] = []
    let mostBuffered = 0
    while (results.at(-1) !== 'dropped' && results.length < 20_000) {
      results.push(slow.send(frame))
      mostBuffered = Math.max(mostBuffered, slow.bufferedAmount())
      if (results.length % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    expect(results.at(-1)).toBe('dropped')
    expect(results.slice(0, -1).every((r) => r === 'sent' || r === 'buffered')).toBe(true)
    expect(results).toContain('buffered')
    expect(mostBuffered).toBeLessThanOrEqual(limit + frame.length)
    expect(slow.isOpen()).toBe(false)
    expect(slow.send(frame)).toBe('closed')
    expect(h.transport.counters()).toMatchObject({ framesDropped: 1, closedBy: { backpressure: 1 } })
    await until(() => h.closed.length === 1)
  })
})
