// What the transport's integration tests share: a transport on a free port with recording handlers,
// and real clients over real sockets (the `ws` package, or a bare TCP socket that never reads).
import { connect as tcpConnect, type Socket } from 'node:net'
import { once } from 'node:events'
import WebSocket, { type ClientOptions } from 'ws'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry, type MetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { WsConnection, WsHandlers, WsTransport, WsTransportLimits } from '../transport/ws-transport.ts'
import { createUwsTransport } from './uws-transport.ts'

export const testLimits: WsTransportLimits = {
  maxConnections: 100,
  maxConnectionsPerIp: 100,
  maxPayloadBytes: 1024,
  maxBackpressureBytes: 64 * 1024,
  idleTimeoutSeconds: 120,
  maxClientFramesPerWindow: 50,
  floodWindowMs: 1000,
}

export interface TestContext {
  readonly path: string
}

export interface Harness {
  readonly transport: WsTransport
  readonly port: number
  readonly metrics: MetricsRegistry
  /** Every connection opened, in order. */
  readonly opened: WsConnection<TestContext>[]
  /** Every text frame the handlers received. */
  readonly received: { readonly id: number; readonly text: string }[]
  /** Every close the handlers saw. */
  readonly closed: { readonly id: number; readonly code: number }[]
  url(path: string): string
}

/** Accepts every upgrade (the path as context) and subscribes each socket to "all" unless overridden. */
export async function startHarness(overrides: Partial<WsHandlers<TestContext>> = {}, limits: Partial<WsTransportLimits> = {}): Promise<Harness> {
  const opened: WsConnection<TestContext>[] = []
  const received: { id: number; text: string }[] = []
  const closed: { id: number; code: number }[] = []
  const metrics = createMetricsRegistry()
  const handlers: WsHandlers<TestContext> = {
    upgrade: (request) => ({ accept: true, context: { path: request.path } }),
    open: (connection) => connection.subscribe('all'),
    message: () => undefined,
    close: () => undefined,
    http: () => undefined,
    ...overrides,
  }
  const transport = createUwsTransport<TestContext>(
    {
      ...handlers,
      open: (connection) => {
        opened.push(connection)
        handlers.open(connection)
      },
      message: (connection, text) => {
        received.push({ id: connection.id, text })
        handlers.message(connection, text)
      },
      close: (connection, code) => {
        closed.push({ id: connection.id, code })
        handlers.close(connection, code)
      },
    },
    { ...testLimits, ...limits },
    { logger: silentLogger, metrics },
  )
  const port = await transport.listen('127.0.0.1', 0)
  return { transport, port, metrics, opened, received, closed, url: (path) => `ws://127.0.0.1:${port}${path}` }
}

/** A client socket once open; rejects when the server refuses the upgrade. */
export async function openClient(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options)
  ws.on('error', () => undefined)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused with ${response.statusCode}`)))
    ws.once('close', () => reject(new Error('closed before open')))
  })
  return ws
}

/** The HTTP answer to an upgrade the server refuses. */
export function upgradeRefusal(url: string, options: ClientOptions = {}): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(url, options)
  ws.on('error', () => undefined)
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.terminate()
      reject(new Error('upgrade was accepted'))
    })
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
    })
  })
}

export function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'))
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })))
}

export function nextText(ws: WebSocket): Promise<string> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString('utf8'))))
}

/**
 * A WebSocket client that completes the handshake and then never reads: the server's writes pile up
 * in the kernel's buffers, then in uWS's backpressure buffer.
 */
export async function openNonReadingSocket(port: number, path: string): Promise<Socket> {
  const socket = tcpConnect({ host: '127.0.0.1', port })
  socket.on('error', () => undefined)
  await once(socket, 'connect')
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  const [head] = (await once(socket, 'data')) as [Buffer]
  if (!head.toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`handshake refused: ${head.toString('latin1')}`)
  socket.pause()
  return socket
}

export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
