// The part of a WebSocket the client uses. Both the browser's WebSocket and the `ws` package's
// class have it, so the client takes the constructor by injection and imports neither.

/**
 * An event handler property. Declared through a method so that its parameter is compared
 * bivariantly: the browser's and ws's handlers take their own, richer event types, and either
 * class must still be accepted where this interface is expected.
 */
type EventHandler<E> = { handle(event: E): void }['handle']

export interface MessageEventLike {
  /** A string for a text frame; a Buffer, ArrayBuffer or Blob for a binary one. */
  readonly data: unknown
}

export interface CloseEventLike {
  readonly code: number
  readonly reason: string
}

export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed, as in the WebSocket standard. */
  readonly readyState: number
  onopen: EventHandler<unknown> | null
  onmessage: EventHandler<MessageEventLike> | null
  onclose: EventHandler<CloseEventLike> | null
  onerror: EventHandler<unknown> | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type WebSocketConstructor = new (url: string) => WebSocketLike

export const webSocketOpen = 1
