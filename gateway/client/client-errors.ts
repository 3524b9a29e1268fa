// Errors of the typed client. Each names the bad input in a short message, carries it in fields
// for callers that branch on it, and keeps the underlying `cause`.
import type { PathKind } from '../protocol/messages.ts'

interface WithCause {
  readonly cause?: unknown
}

function causeOption(options: WithCause | undefined): ErrorOptions | undefined {
  return options?.cause === undefined ? undefined : { cause: options.cause }
}

/** Why a frame the server sent was not delivered to onMessage. */
export type InvalidFrameReason = 'binary' | 'not_json' | 'not_a_frame' | 'schema'

/**
 * A frame that is not JSON, not an object with a string `type`, or of a known type but not of its
 * schema. It is handed to onInvalid, never thrown: one bad frame must not end a subscription.
 */
export class InvalidFrameError extends Error {
  override readonly name = 'InvalidFrameError'
  readonly path: PathKind
  readonly reason: InvalidFrameReason
  /** The frame's text ('' for a binary frame). */
  readonly text: string
  constructor(path: PathKind, reason: InvalidFrameReason, text: string, options?: WithCause) {
    super(`invalid frame on ${path} (${reason}): ${text.length > 120 ? `${text.slice(0, 120)}…` : text}`, causeOption(options))
    this.path = path
    this.reason = reason
    this.text = text
  }
}

/** A subscription argument (market id, user address, cursor) that no server would accept. */
export class InvalidSubscriptionError extends Error {
  override readonly name = 'InvalidSubscriptionError'
  readonly field: string
  readonly value: string
  constructor(field: string, value: string, options?: WithCause) {
    super(`invalid ${field}: ${JSON.stringify(value)}`, causeOption(options))
    this.field = field
    this.value = value
  }
}

/** A client option that cannot work: a base URL that is not ws:// or wss://, a bad backoff, no WebSocket. */
export class InvalidClientOptionError extends Error {
  override readonly name = 'InvalidClientOptionError'
  readonly option: string
  constructor(option: string, detail: string, options?: WithCause) {
    super(`invalid client option ${option}: ${detail}`, causeOption(options))
    this.option = option
  }
}
