// A client worker: many WebSocket connections in one process, each a bare TCP socket that performs the
// handshake and then only splits frames and reads their stamps (frame-counter.ts), so that the clients
// cost far less per frame than the servers under test. Latencies go into one histogram per worker.
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { createHistogram, record } from './latency-histogram.ts'
import { FrameCounter } from './frame-counter.ts'
import { monotonicMicros, PATH, type ClientCommand, type ClientReply } from './fanout-protocol.ts'

const CONNECT_BATCH = 100

interface Counts {
  histogram: Uint32Array
  received: number
}

async function openSocket(port: number, localAddress: string, counts: Counts): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port, localAddress })
  socket.setNoDelay(true)
  await once(socket, 'connect')
  const key = randomBytes(16).toString('base64')
  socket.write(
    `GET ${PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  const [head] = (await once(socket, 'data')) as [Buffer]
  const end = head.indexOf('\r\n\r\n')
  if (!head.toString('latin1', 0, 12).startsWith('HTTP/1.1 101') || end < 0) {
    throw new Error(`handshake refused: ${head.toString('latin1', 0, 40)}`)
  }
  // The clock is read once per chunk, not per frame: frames of one chunk arrived together.
  let now = monotonicMicros()
  const counter = new FrameCounter({
    frame(stamp) {
      counts.received += 1
      record(counts.histogram, now - stamp)
    },
  })
  if (end + 4 < head.length) counter.push(head.subarray(end + 4))
  socket.on('data', (chunk: Buffer) => {
    now = monotonicMicros()
    counter.push(chunk)
  })
  socket.on('error', () => undefined)
  return socket
}

function startWorker(): void {
  const counts: Counts = { histogram: createHistogram(), received: 0 }
  const sockets: Socket[] = []
  let cpuStart = process.cpuUsage()
  const reply = (message: ClientReply): void => void process.send?.(message)
  const connectAll = async (port: number, count: number, localAddress: string): Promise<void> => {
    for (let opened = 0; opened < count; opened += CONNECT_BATCH) {
      const batch = Math.min(CONNECT_BATCH, count - opened)
      sockets.push(...(await Promise.all(Array.from({ length: batch }, () => openSocket(port, localAddress, counts)))))
    }
  }
  process.on('message', (command: ClientCommand) => {
    switch (command.type) {
      case 'connect':
        void connectAll(command.port, command.sockets, command.localAddress).then(() => reply({ type: 'connected', open: sockets.length }))
        return
      case 'reset':
        counts.histogram = createHistogram()
        counts.received = 0
        cpuStart = process.cpuUsage()
        reply({ type: 'count', received: 0 })
        return
      case 'count':
        reply({ type: 'count', received: counts.received })
        return
      case 'report': {
        const cpu = process.cpuUsage(cpuStart)
        reply({ type: 'report', received: counts.received, histogram: counts.histogram, cpuMs: (cpu.user + cpu.system) / 1000 })
        return
      }
      case 'stop':
        for (const socket of sockets) socket.destroy()
        process.exit(0)
    }
  })
  reply({ type: 'connected', open: 0 })
}

startWorker()
