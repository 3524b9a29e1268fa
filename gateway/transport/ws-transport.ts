// The WebSocket transport as the rest of the gateway sees it. Only gateway/uws/ implements it, and
// only that folder imports uWebSockets.js; the channels, the protocol and the tests speak to these
// types. The transport owns every per-socket rule (limits, flood, ping and idle timeout,
// backpressure); the channels own what is sent.

/** What the transport copied out of the upgrade request, before anything else ran. */
export interface UpgradeRequest {
  /** The URL path, percent-decoded, without the query, e.g. "/api/v1/ws/prices/btc-usdc-perp". */
  readonly path: string
  /** The raw query string without "?", "" when none. */
  readonly query: string
  /** The peer's address as text. */
  readonly ip: string
}

/** Accept with the context the socket carries for its life, or answer plain HTTP and never upgrade. */
export type UpgradeDecision<C> =
  | { readonly accept: true; readonly context: C }
  | { readonly accept: false; readonly status: number; readonly body: string }

/**
 * What send() did, as uWS tells it: written to the socket ('sent'), queued in the socket's buffer
 * under the backpressure limit ('buffered'), or not queued because the buffer is over the limit
 * ('dropped': the transport closes such a socket); 'closed' when the socket is gone already.
 */
export type SendResult = 'sent' | 'buffered' | 'dropped' | 'closed'

export interface WsConnection<C> {
  /** Unique per transport for the process's life. */
  readonly id: number
  readonly ip: string
  readonly context: C
  /** False once the socket closed: sends are then 'closed' and cost nothing. */
  isOpen(): boolean
  /** Sends one text frame (corked when called outside a uWS callback). */
  send(text: string): SendResult
  /** Joins a pub/sub topic: transport.publish(topic, …) reaches this socket. */
  subscribe(topic: string): void
  /** Closes the socket with a WebSocket close code and a short reason (e.g. 1008 after an error frame). */
  close(code: number, reason: string): void
  /** Bytes buffered for this socket and not yet written. */
  bufferedAmount(): number
}

export interface HttpRequestInfo {
  readonly method: string
  /** Percent-decoded path without the query. */
  readonly path: string
  readonly query: string
  readonly ip: string
}

export interface HttpResponse {
  readonly status: number
  readonly contentType: string
  readonly body: string | Uint8Array
  readonly headers?: Readonly<Record<string, string>>
}

export interface WsHandlers<C> {
  /** Decides synchronously from what was copied out of the request. */
  upgrade(request: UpgradeRequest): UpgradeDecision<C>
  open(connection: WsConnection<C>): void
  /** A text frame the client sent (binary frames are refused by the transport with an error frame). */
  message(connection: WsConnection<C>, text: string): void
  /** Called once per opened socket, whatever closed it. */
  close(connection: WsConnection<C>, code: number): void
  /** Plain HTTP requests on paths that are not WebSocket upgrades; undefined answers 404. */
  http(request: HttpRequestInfo): HttpResponse | Promise<HttpResponse> | undefined
}

export interface WsTransportLimits {
  /** Open sockets in total; the next upgrade is answered 503. */
  readonly maxConnections: number
  /** Open sockets per peer address; the next upgrade is answered 429. */
  readonly maxConnectionsPerIp: number
  /** Largest client frame; a larger one closes the socket (1009). */
  readonly maxPayloadBytes: number
  /** Bytes buffered for one socket before it is closed as too slow. */
  readonly maxBackpressureBytes: number
  /** A socket silent this long (pings included) is closed; uWS pings before that. */
  readonly idleTimeoutSeconds: number
  /** More client frames than this within floodWindowMs closes the socket (1008). */
  readonly maxClientFramesPerWindow: number
  readonly floodWindowMs: number
}

/** Why the transport closed a socket on its own, for metrics and logs. */
export type TransportCloseReason = 'backpressure' | 'flood' | 'payload' | 'idle'

export interface WsTransportCounters {
  readonly open: number
  readonly closedBy: Readonly<Record<TransportCloseReason, number>>
  readonly framesSent: number
  readonly framesDropped: number
}

export interface WsTransport {
  /** Listens on host:port (0 picks a free port); resolves with the port bound. */
  listen(host: string, port: number): Promise<number>
  /** Sends one text frame to every socket subscribed to the topic. */
  publish(topic: string, text: string): void
  counters(): WsTransportCounters
  /** Stops listening and closes every socket (1001); resolves when done. */
  close(): Promise<void>
}
