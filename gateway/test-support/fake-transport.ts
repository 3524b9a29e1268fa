// A transport in memory for the channels' unit tests: it runs the gateway's handlers as uWS would
// (upgrade, open, message, close once per opened socket), records what each socket was sent, and
// delivers publish() to the sockets subscribed to the topic. Sockets never push back: every send is
// 'sent' until the socket is closed.
import type { ConnectionContext } from '../channels/connection-context.ts'
import type {
  HttpRequestInfo,
  HttpResponse,
  SendResult,
  WsConnection,
  WsHandlers,
  WsTransport,
  WsTransportCounters,
} from '../transport/ws-transport.ts'

export interface ReceivedFrame {
  readonly type: string
  readonly [field: string]: unknown
}

export interface FakeSocket extends WsConnection<ConnectionContext> {
  readonly topics: ReadonlySet<string>
  /** The text frames sent to this socket, in order. */
  readonly sent: readonly string[]
  frames(): ReceivedFrame[]
  framesOfType(type: string): ReceivedFrame[]
  /** The close code and reason, once closed by the server. */
  readonly closedWith: { code: number; reason: string } | undefined
  /** A text frame from the client. */
  clientSend(text: string): void
  /** The client goes away. */
  clientClose(): void
}

export type Refusal = { readonly refused: true; readonly status: number; readonly body: string }

export interface FakeTransport extends WsTransport {
  connect(path: string, query?: string): FakeSocket | Refusal
  /** Like connect, but fails the test unless the upgrade was accepted. */
  open(path: string, query?: string): FakeSocket
  request(method: string, path: string): Promise<HttpResponse | undefined>
  readonly published: readonly { topic: string; text: string }[]
}

export function createFakeTransport(handlers: WsHandlers<ConnectionContext>): FakeTransport {
  const sockets = new Set<FakeSocket>()
  const published: { topic: string; text: string }[] = []
  let nextId = 1
  let framesSent = 0

  function socket(context: ConnectionContext): FakeSocket {
    const sent: string[] = []
    const topics = new Set<string>()
    let open = true
    let closedWith: { code: number; reason: string } | undefined
    const end = (): void => {
      if (!open) return
      open = false
      sockets.delete(self)
      handlers.close(self, closedWith?.code ?? 1005)
    }
    const frames = () => sent.map((text) => JSON.parse(text) as ReceivedFrame)
    const self: FakeSocket = {
      id: nextId++,
      ip: '127.0.0.1',
      context,
      topics,
      sent,
      frames,
      framesOfType: (type) => frames().filter((f) => f.type === type),
      get closedWith() {
        return closedWith
      },
      isOpen: () => open,
      send(text): SendResult {
        if (!open) return 'closed'
        sent.push(text)
        framesSent++
        return 'sent'
      },
      subscribe: (topic) => void topics.add(topic),
      close(code, reason) {
        if (!open) return
        closedWith = { code, reason }
        end()
      },
      bufferedAmount: () => 0,
      clientSend: (text) => {
        if (open) handlers.message(self, text)
      },
      clientClose: end,
    }
    return self
  }

  function connect(path: string, query = ''): FakeSocket | Refusal {
    const decision = handlers.upgrade({ path, query, ip: '127.0.0.1' })
    if (!decision.accept) return { refused: true, status: decision.status, body: decision.body }
    const opened = socket(decision.context)
    sockets.add(opened)
    handlers.open(opened)
    return opened
  }

  return {
    connect,
    open(path, query) {
      const result = connect(path, query)
      if ('refused' in result) throw new Error(`upgrade of ${path} refused: ${result.status} ${result.body}`)
      return result
    },
    request: async (method, path) => handlers.http({ method, path, query: '', ip: '127.0.0.1' } satisfies HttpRequestInfo),
    published,
    listen: async () => 0,
    publish(topic, text) {
      published.push({ topic, text })
      for (const s of sockets) if (s.topics.has(topic)) s.send(text)
    },
    counters: (): WsTransportCounters => ({
      open: sockets.size,
      closedBy: { backpressure: 0, flood: 0, payload: 0, idle: 0 },
      framesSent,
      framesDropped: 0,
    }),
    async close() {
      for (const s of [...sockets]) s.close(1001, 'server shutting down')
    },
  }
}
