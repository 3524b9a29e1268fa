// The frame schemas of a path, one zod object per frame type, read out of the unions of
// ../protocol/messages.ts so that nothing restates which frames a path carries.
import { z } from 'zod'
import { framesByPath } from './messages.ts'
import type { PathKind } from './messages.ts'

/** A frame schema: a zod object whose `type` is one string literal. */
export interface FrameSchema {
  readonly type: string
  readonly schema: z.ZodObject
}

/** The object schemas a union of frames is built from, nested unions flattened, in order. */
export function frameSchemasOf(schema: z.ZodType): FrameSchema[] {
  if (schema instanceof z.ZodUnion) return (schema.options as readonly z.ZodType[]).flatMap(frameSchemasOf)
  if (schema instanceof z.ZodObject) {
    const type = (schema.shape as Record<string, z.ZodType | undefined>)['type']
    const values = type instanceof z.ZodLiteral ? [...(type.values as Set<unknown>)] : []
    const [value] = values
    if (values.length === 1 && typeof value === 'string') return [{ type: value, schema }]
  }
  throw new TypeError('a frame schema must be a union of objects whose `type` is one string literal')
}

/** The frame types each path may send, e.g. prices → connected, price_update, error, pong. */
export function frameTypesByPath(): Record<PathKind, ReadonlySet<string>> {
  const entries = Object.entries(framesByPath).map(([path, union]) => [
    path,
    new Set(frameSchemasOf(union).map((frame) => frame.type)),
  ])
  return Object.fromEntries(entries) as Record<PathKind, ReadonlySet<string>>
}
