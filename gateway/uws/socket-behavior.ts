// The WebSocket side of the transport as uWS callbacks: the upgrade decides (caps, then the
// channels' handler) from what it copied out of the request; open, message and close keep the
// registry and the counters; a handler that throws is logged and costs the client its socket at
// most, never the process (an exception escaping a uWS callback would end it).
import uws from 'uWebSockets.js'
import type { HttpRequest, HttpResponse as UwsResponse, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js'
import type { Logger } from '../../indexer/runtime/logger.ts'
import type { ErrorFrame } from '../protocol/messages.ts'
import type { TransportCloseReason, WsHandlers, WsTransportLimits } from '../transport/ws-transport.ts'
import type { ConnectionRegistry } from './connection-registry.ts'
import { statusLine } from './http-bridge.ts'
import { decodePath, remoteAddress } from './request-text.ts'
import type { TransportMetrics } from './transport-metrics.ts'
import { UwsConnection, type SocketData } from './uws-connection.ts'

const CLOSE_POLICY = 1008
const CLOSE_TOO_BIG = 1009
const CLOSE_INTERNAL = 1011
// uWS's own close messages, which tell its closes apart (both arrive with code 1006).
const UWS_TOO_BIG = 'Received too big message'
const UWS_TIMED_OUT = 'WebSocket timed out from inactivity'

const binaryRefused = JSON.stringify({
  type: 'error',
  code: 'bad_frame',
  message: 'binary frames are not accepted; send JSON text frames',
} satisfies ErrorFrame)

const textDecoder = new TextDecoder()

export interface SocketBehaviorDeps<C> {
  readonly handlers: WsHandlers<C>
  readonly limits: WsTransportLimits
  readonly registry: ConnectionRegistry<UwsConnection<C>>
  readonly counts: TransportMetrics
  readonly logger: Logger
}

export function createSocketBehavior<C>(deps: SocketBehaviorDeps<C>): WebSocketBehavior<SocketData<C>> {
  const { handlers, limits, registry, counts, logger } = deps
  const events = { sent: counts.sent, dropped: counts.dropped }
  let nextId = 1

  const refuse = (res: UwsResponse, status: number, body: string): void => {
    counts.refused(status)
    res.cork(() => res.writeStatus(statusLine(status)).writeHeader('content-type', 'text/plain; charset=utf-8').end(body, true))
  }

  const upgrade = (res: UwsResponse, req: HttpRequest, context: us_socket_context_t): void => {
    const key = req.getHeader('sec-websocket-key')
    const protocol = req.getHeader('sec-websocket-protocol')
    const extensions = req.getHeader('sec-websocket-extensions')
    const path = decodePath(req.getUrl())
    const query = req.getQuery() ?? ''
    const ip = remoteAddress(res)
    const refusal = registry.refusal(ip)
    if (refusal !== undefined) return refuse(res, refusal.status, refusal.body)
    if (path === undefined) return refuse(res, 400, 'malformed path')
    let decision: ReturnType<WsHandlers<C>['upgrade']>
    try {
      decision = handlers.upgrade({ path, query, ip })
    } catch (error) {
      logger.error('upgrade handler threw', { path, error: asError(error) })
      return refuse(res, 500, 'internal error')
    }
    if (!decision.accept) return refuse(res, decision.status, decision.body)
    const connection = new UwsConnection(nextId++, ip, decision.context, events)
    res.upgrade<SocketData<C>>({ connection }, key, protocol, extensions, context)
  }

  const open = (ws: WebSocket<SocketData<C>>): void => {
    const connection = ws.getUserData().connection
    connection.attach(ws)
    registry.add(connection)
    counts.opened()
    guard('open', connection, () => handlers.open(connection))
  }

  const message = (ws: WebSocket<SocketData<C>>, data: ArrayBuffer, isBinary: boolean): void => {
    const connection = ws.getUserData().connection
    if (!connection.countFrame(Date.now(), limits.maxClientFramesPerWindow, limits.floodWindowMs)) {
      connection.closeAs('flood', CLOSE_POLICY, 'too many frames')
      return
    }
    if (data.byteLength > limits.maxPayloadBytes) {
      connection.closeAs('payload', CLOSE_TOO_BIG, 'frame too large')
      return
    }
    if (isBinary) {
      connection.send(binaryRefused)
      return
    }
    // The ArrayBuffer is neutered when this callback returns; decoding copies it out.
    const text = textDecoder.decode(data)
    guard('message', connection, () => handlers.message(connection, text))
  }

  const close = (ws: WebSocket<SocketData<C>>, code: number, reason: ArrayBuffer): void => {
    const connection = ws.getUserData().connection
    connection.detach()
    registry.remove(connection)
    counts.closed(connection.closingReason ?? uwsCloseReason(textDecoder.decode(reason)))
    try {
      handlers.close(connection, code)
    } catch (error) {
      logger.error('close handler threw', { connection: connection.id, error: asError(error) })
    }
  }

  const guard = (stage: string, connection: UwsConnection<C>, run: () => void): void => {
    try {
      run()
    } catch (error) {
      logger.error(`${stage} handler threw`, { connection: connection.id, error: asError(error) })
      connection.close(CLOSE_INTERNAL, 'internal error')
    }
  }

  // A publish to a socket over its limit makes uWS shut the socket's read side, and the close that
  // follows carries code 1006 and no message, like any vanished peer. uWS unsubscribes a closing socket
  // from its topics before the close handler, with the socket still readable: the only moment its
  // backlog tells why it closed. (Sockets reached by send() are closed by UwsConnection itself.)
  const noteBackpressureClose = (ws: WebSocket<SocketData<C>>, _topic: ArrayBuffer, newCount: number, oldCount: number): void => {
    if (newCount >= oldCount) return
    const connection = ws.getUserData().connection
    if (connection.closingReason !== undefined) return
    let buffered = 0
    try {
      buffered = ws.getBufferedAmount()
    } catch {
      // A socket closed by end() is unsubscribed after it stopped being accessible: not a backpressure close.
      return
    }
    if (buffered > limits.maxBackpressureBytes) {
      connection.closingReason = 'backpressure'
      counts.dropped()
    }
  }

  const behavior: WebSocketBehavior<SocketData<C>> = {
    compression: uws.DISABLED,
    // uWS drops a connection over its own limit without a close frame; up to twice the configured
    // limit, the transport answers 1009 itself, so a client that sent too much is told why.
    maxPayloadLength: limits.maxPayloadBytes * 2,
    maxBackpressure: limits.maxBackpressureBytes,
    // Typed as a number in this package's typings; uWS reads it as a boolean.
    closeOnBackpressureLimit: 1,
    idleTimeout: limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    maxLifetime: 0,
    upgrade,
    open,
    message,
    close,
    subscription: noteBackpressureClose,
  }
  return behavior
}

/** Why uWS closed a socket on its own, read from the message it hands the close handler. */
function uwsCloseReason(message: string): TransportCloseReason | undefined {
  if (message === UWS_TOO_BIG) return 'payload'
  if (message === UWS_TIMED_OUT) return 'idle'
  return undefined
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
