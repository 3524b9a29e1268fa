// Turns the data of one WebSocket message into a typed frame of its path. Pure: no socket, no
// clock. Following the spec ("handle unknown message types gracefully"), a frame whose `type` this
// client does not know is not an error: a newer server may send types added after this client.
import type { z } from 'zod'
import type { FrameOf, PathKind } from '../protocol/messages.ts'
import { framesByPath } from '../protocol/messages.ts'
import { InvalidFrameError } from './client-errors.ts'
import { frameSchemasOf } from '../protocol/frame-schemas.ts'

/** A JSON object with a string `type` that the path's schemas do not know. */
export interface UnknownFrame {
  readonly type: string
  readonly [field: string]: unknown
}

export type ParsedFrame<P extends PathKind> =
  | { readonly kind: 'frame'; readonly frame: FrameOf<P> }
  | { readonly kind: 'unknown'; readonly frame: UnknownFrame }
  | { readonly kind: 'invalid'; readonly error: InvalidFrameError }

export type FrameParser<P extends PathKind> = (data: unknown) => ParsedFrame<P>

function isUnknownFrame(value: unknown): value is UnknownFrame {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string'
}

/**
 * A parser for the frames of `path`. Fields the schemas do not know are dropped, so a server that
 * adds fields stays compatible; a known type with a missing or malformed field is invalid.
 */
export function createFrameParser<P extends PathKind>(path: P): FrameParser<P> {
  const schemaByType = new Map<string, z.ZodObject>(
    frameSchemasOf(framesByPath[path]).map(({ type, schema }) => [type, schema]),
  )
  return (data) => {
    if (typeof data !== 'string') return { kind: 'invalid', error: new InvalidFrameError(path, 'binary', '') }
    let value: unknown
    try {
      value = JSON.parse(data)
    } catch (error) {
      return { kind: 'invalid', error: new InvalidFrameError(path, 'not_json', data, { cause: error }) }
    }
    if (!isUnknownFrame(value)) return { kind: 'invalid', error: new InvalidFrameError(path, 'not_a_frame', data) }
    const schema = schemaByType.get(value.type)
    if (schema === undefined) return { kind: 'unknown', frame: value }
    const parsed = schema.safeParse(value)
    if (!parsed.success) return { kind: 'invalid', error: new InvalidFrameError(path, 'schema', data, { cause: parsed.error }) }
    // The schema is one member of framesByPath[path], so its output is one of the path's frames.
    return { kind: 'frame', frame: parsed.data as FrameOf<P> }
  }
}
