// The server under test, alone in its process so that its RSS is its own: `uws` is the gateway's
// transport (createUwsTransport, every socket subscribed to one market's topic, fan-out by topic
// publish); `ws` is a plain `ws`-library server broadcasting the way its README does. Both publish
// the same frames on the same schedule, told by the benchmark over IPC.
import { WebSocketServer, WebSocket } from 'ws'
import { silentLogger } from '../../indexer/runtime/logger.ts'
import { createMetricsRegistry } from '../../indexer/runtime/metrics.ts'
import type { WsTransport } from '../../gateway/transport/ws-transport.ts'
import { createUwsTransport } from '../../gateway/uws/uws-transport.ts'
import { createHistogram, record } from './latency-histogram.ts'
import { monotonicMicros, stampedFrame, TOPIC, type ServerCommand, type ServerKind, type ServerReply } from './fanout-protocol.ts'

interface Server {
  publish(text: string): void
  open(): number
  close(): Promise<void>
}

// Generous per-socket limits: the benchmark measures fan-out, not the caps.
const limits = {
  maxConnections: 100_000,
  maxConnectionsPerIp: 100_000,
  maxPayloadBytes: 4096,
  maxBackpressureBytes: 4 * 1024 * 1024,
  idleTimeoutSeconds: 120,
  maxClientFramesPerWindow: 1000,
  floodWindowMs: 1000,
}

async function startUws(): Promise<{ server: Server; port: number }> {
  let open = 0
  const transport: WsTransport = createUwsTransport<null>(
    {
      upgrade: () => ({ accept: true, context: null }),
      open: (connection) => {
        open += 1
        connection.subscribe(TOPIC)
      },
      message: () => undefined,
      close: () => {
        open -= 1
      },
      http: () => undefined,
    },
    limits,
    { logger: silentLogger, metrics: createMetricsRegistry() },
  )
  const port = await transport.listen('127.0.0.1', 0)
  return { port, server: { publish: (text) => transport.publish(TOPIC, text), open: () => open, close: () => transport.close() } }
}

async function startWs(): Promise<{ server: Server; port: number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, backlog: 4096 })
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()))
  const address = wss.address()
  if (address === null || typeof address === 'string') throw new Error('ws server has no TCP address')
  // The README's broadcast, with the text encoded once rather than once per client.
  const publish = (text: string): void => {
    const data = Buffer.from(text)
    for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(data, { binary: false })
  }
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const client of wss.clients) client.terminate()
      wss.close(() => resolve())
    })
  return { port: address.port, server: { publish, open: () => wss.clients.size, close } }
}

/**
 * Publishes `rate` frames a second for `durationMs`, catching up in bursts when a tick runs late. A
 * server that cannot keep the schedule stops publishing at half again the duration, so that an
 * overloaded step costs bounded time; its throughput is what it managed in the time it took.
 */
async function run(server: Server, rate: number, durationMs: number): Promise<ServerReply> {
  const cpuStart = process.cpuUsage()
  const start = performance.now()
  const cutoff = start + durationMs * 1.5
  const publishHistogram = createHistogram()
  let published = 0
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = Math.min(durationMs, performance.now() - start)
      const due = Math.floor((rate * elapsed) / 1000)
      while (published < due && (published % 64 !== 0 || performance.now() < cutoff)) {
        const stamp = monotonicMicros()
        server.publish(stampedFrame(stamp, `${50_000 + (published % 1000)}.50`))
        record(publishHistogram, monotonicMicros() - stamp)
        published += 1
      }
      if (elapsed >= durationMs || performance.now() >= cutoff) {
        clearInterval(tick)
        resolve()
      }
    }, 2)
  })
  const cpu = process.cpuUsage(cpuStart)
  return { type: 'ran', published, wallMs: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1000, publishHistogram }
}

async function main(kind: ServerKind): Promise<void> {
  const { server, port } = kind === 'uws' ? await startUws() : await startWs()
  const reply = (message: ServerReply): void => void process.send?.(message)
  process.on('message', (command: ServerCommand) => {
    if (command.type === 'rss') {
      globalThis.gc?.()
      reply({ type: 'rss', rss: process.memoryUsage().rss, open: server.open() })
    } else if (command.type === 'run') {
      void run(server, command.rate, command.durationMs).then(reply)
    } else {
      void server.close().then(() => process.exit(0))
    }
  })
  reply({ type: 'listening', port })
}

const kind = process.argv[2]
if (kind !== 'uws' && kind !== 'ws') throw new Error(`fanout server: kind is uws or ws, not ${String(kind)}`)
void main(kind)
