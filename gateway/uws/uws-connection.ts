// One open WebSocket as the channels see it, and the per-socket rules of the transport: sends report
// what uWS did with the frame and close the socket once it is over its backpressure limit; client
// frames are counted per fixed window for flood control. A uWS socket must not be touched after its
// close handler ran (uWS throws), so every method checks `open` first and costs nothing afterwards.
import type { WebSocket } from 'uWebSockets.js'
import type { SendResult, TransportCloseReason, WsConnection } from '../transport/ws-transport.ts'

/** What the uWS socket carries as its user data. */
export interface SocketData<C> {
  readonly connection: UwsConnection<C>
}

/** What a connection reports back to its transport. */
export interface ConnectionEvents {
  sent(frames: number): void
  dropped(): void
}

// uWS's send() status codes.
const SEND_SUCCESS = 1
const SEND_DROPPED = 2

export class UwsConnection<C> implements WsConnection<C> {
  readonly id: number
  readonly ip: string
  readonly context: C
  /** Set just before the transport closes the socket itself, so the close is counted by reason. */
  closingReason: TransportCloseReason | undefined
  private ws: WebSocket<SocketData<C>> | undefined
  private windowStart = 0
  private framesInWindow = 0
  private readonly events: ConnectionEvents

  constructor(id: number, ip: string, context: C, events: ConnectionEvents) {
    this.id = id
    this.ip = ip
    this.context = context
    this.events = events
    this.closingReason = undefined
    this.ws = undefined
  }

  /** Binds the uWS socket once it is open; until then and after detach() the connection is closed. */
  attach(ws: WebSocket<SocketData<C>>): void {
    this.ws = ws
  }

  detach(): void {
    this.ws = undefined
  }

  isOpen(): boolean {
    return this.ws !== undefined
  }

  send(text: string): SendResult {
    const ws = this.ws
    if (ws === undefined) return 'closed'
    let status = SEND_SUCCESS
    // Corked so that a send from a timer or a resolved promise leaves in one write; inside a uWS
    // callback the socket is corked already and this is a plain call.
    ws.cork(() => {
      status = ws.send(text, false, false)
    })
    if (status === SEND_DROPPED) {
      this.events.dropped()
      this.abort('backpressure')
      return 'dropped'
    }
    this.events.sent(1)
    return status === SEND_SUCCESS ? 'sent' : 'buffered'
  }

  subscribe(topic: string): void {
    this.ws?.subscribe(topic)
  }

  close(code: number, reason: string): void {
    const ws = this.ws
    if (ws === undefined) return
    ws.cork(() => ws.end(code, reason))
  }

  /** Closes on the transport's own account, counted under `reason`. */
  closeAs(reason: TransportCloseReason, code: number, text: string): void {
    if (this.ws === undefined) return
    this.closingReason = reason
    this.close(code, text)
  }

  /**
   * Drops the TCP connection without a close frame: for a socket too slow to read, a close frame
   * would only queue behind the backlog it is being closed for.
   */
  abort(reason: TransportCloseReason): void {
    const ws = this.ws
    if (ws === undefined) return
    this.closingReason = reason
    ws.close()
  }

  bufferedAmount(): number {
    return this.ws?.getBufferedAmount() ?? 0
  }

  /** Counts one client frame; false once the window holds more than `max`. */
  countFrame(now: number, max: number, windowMs: number): boolean {
    if (now - this.windowStart >= windowMs) {
      this.windowStart = now
      this.framesInWindow = 0
    }
    this.framesInWindow += 1
    return this.framesInWindow <= max
  }
}
