// A WebSocket client over a real socket (the `ws` package) for the gateway's integration tests: it
// keeps every frame it received, and waits for frames or the close.
import WebSocket from 'ws'
import type { ReceivedFrame } from './fake-transport.ts'

export interface TestClient {
  readonly frames: ReceivedFrame[]
  ofType(type: string): ReceivedFrame[]
  /** Resolves once `predicate` holds for the frames received (checked on every frame). */
  waitFor(predicate: (frames: readonly ReceivedFrame[]) => boolean, what: string, timeoutMs?: number): Promise<void>
  send(text: string): void
  /** Resolves with the close code and reason, once the socket closed. */
  readonly closed: Promise<{ code: number; reason: string }>
  close(): Promise<void>
}

export type Refused = { readonly refused: true; readonly status: number }

/** Opens ws://host:port/path; resolves once open, or with the HTTP status that refused the upgrade. */
export function connectClient(url: string): Promise<TestClient | Refused> {
  const socket = new WebSocket(url)
  const frames: ReceivedFrame[] = []
  const waiters = new Set<() => void>()
  socket.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as ReceivedFrame)
    for (const waiter of [...waiters]) waiter()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => {
      resolve({ code, reason: String(reason) })
      for (const waiter of [...waiters]) waiter()
    })
  })
  const client: TestClient = {
    frames,
    ofType: (type) => frames.filter((f) => f.type === type),
    waitFor: (predicate, what, timeoutMs = 15_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!predicate(frames)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames.map((f) => f.type))}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      }),
    send: (text) => socket.send(text),
    closed,
    close: async () => {
      if (socket.readyState !== WebSocket.CLOSED) socket.close(1000)
      await closed
    },
  }
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client))
    socket.once('unexpected-response', (_request, response) => {
      resolve({ refused: true, status: response.statusCode ?? 0 })
      socket.terminate()
    })
    socket.once('error', (error) => reject(error))
  })
}

export async function openClient(url: string): Promise<TestClient> {
  const client = await connectClient(url)
  if ('refused' in client) throw new Error(`${url} refused with ${client.status}`)
  return client
}
