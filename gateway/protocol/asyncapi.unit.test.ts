import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { frameTypesByPath } from './frame-schemas.ts'
import { asyncApiDocument, renderAsyncApi } from './asyncapi.ts'
import { framesByPath } from './messages.ts'
import type { PathKind } from './messages.ts'

const documentUrl = new URL('../../docs/asyncapi.json', import.meta.url)

function checkedIn(): string | undefined {
  try {
    return readFileSync(documentUrl, 'utf8')
  } catch {
    return undefined
  }
}

interface Ref {
  $ref: string
}

interface Channel {
  address: string
  parameters?: Record<string, { description: string; examples: string[] }>
  messages: Record<string, Ref>
  bindings: { ws: { method: string; query?: { properties: Record<string, unknown> }; bindingVersion: string } }
}

interface Operation {
  action: 'send' | 'receive'
  channel: Ref
  messages: Ref[]
  reply?: { channel: Ref; messages: Ref[] }
}

interface Message {
  name: string
  contentType: string
  payload: { type: string; properties: Record<string, { const?: string }>; required: string[] }
}

interface Document {
  asyncapi: string
  servers: Record<string, { host: string; protocol: string; pathname: string }>
  channels: Record<string, Channel>
  operations: Record<string, Operation>
  components: { messages: Record<string, Message> }
}

/** The value a local JSON pointer such as "#/channels/prices" points at, or undefined. */
function resolve(root: unknown, pointer: string): unknown {
  if (!pointer.startsWith('#/')) return undefined
  return pointer
    .slice(2)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, token) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[token] : undefined), root)
}

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn)
  if (typeof node !== 'object' || node === null) return []
  const own = typeof (node as Partial<Ref>).$ref === 'string' ? [(node as Ref).$ref] : []
  return [...own, ...Object.values(node).flatMap(refsIn)]
}

describe('AsyncAPI document of the WebSocket API', () => {
  const generated = asyncApiDocument()
  const document = generated as unknown as Document
  const paths = Object.keys(framesByPath) as PathKind[]
  /** The message a reference leads to, through the channel's reference to components.messages. */
  const messageOf = (ref: Ref): Message => {
    const target = resolve(document, ref.$ref) as Message | Ref
    return '$ref' in target ? messageOf(target) : target
  }

  it('docs/asyncapi.json is what the zod schemas generate', () => {
    expect(checkedIn(), 'docs/asyncapi.json is stale: run `npm run asyncapi`').toBe(renderAsyncApi(generated))
  })

  it('is an AsyncAPI 3.0.0 document of the gateway under /api/v1/ws', () => {
    expect(document.asyncapi).toBe('3.0.0')
    expect(document.servers['local']).toEqual(expect.objectContaining({ host: 'localhost:8000', protocol: 'ws', pathname: '/api/v1/ws' }))
  })

  it('resolves every $ref inside the document', () => {
    const refs = refsIn(document)
    expect(refs.length).toBeGreaterThan(50)
    for (const ref of refs) expect(resolve(document, ref), ref).toBeDefined()
  })

  it('has one channel per path at the spec addresses, each parameter of the address described', () => {
    expect(Object.fromEntries(Object.entries(document.channels).map(([key, channel]) => [key, channel.address]))).toEqual({
      prices: '/prices/{market_id}',
      positions: '/positions/{user_address}',
      liquidations: '/liquidations',
      'market-stats': '/market-stats/{market_id}',
      events: '/events',
    })
    for (const channel of Object.values(document.channels)) {
      const inAddress = [...channel.address.matchAll(/\{(\w+)\}/g)].map((match) => match[1])
      expect(Object.keys(channel.parameters ?? {})).toEqual(inAddress)
    }
  })

  it.each(paths)('channel %s carries exactly the frames of framesByPath, and the ping', (path) => {
    const channel = document.channels[path]!
    const types = Object.values(channel.messages).map((ref) => messageOf(ref).payload.properties['type']?.const)
    expect(types).toEqual([...frameTypesByPath()[path], 'ping'])
  })

  it('offers ?from=<cursor> exactly on the paths that carry raw events', () => {
    const resumable = Object.entries(document.channels)
      .filter(([, channel]) => channel.bindings.ws.query?.properties['from'] !== undefined)
      .map(([key]) => key)
    expect(resumable).toEqual(['positions', 'market-stats', 'events'])
    const carryCursor = paths.filter((path) =>
      Object.values(document.channels[path]!.messages).some((ref) => messageOf(ref).payload.required.includes('cursor')),
    )
    expect(carryCursor).toEqual(resumable)
  })

  it.each(paths)('the gateway sends every frame of %s but pong, and answers ping with pong', (path) => {
    const operations = Object.values(document.operations).filter((operation) => operation.channel.$ref === `#/channels/${path}`)
    const send = operations.filter((operation) => operation.action === 'send')
    const receive = operations.filter((operation) => operation.action === 'receive')
    expect(send).toHaveLength(1)
    expect(receive).toHaveLength(1)
    expect(send[0]!.messages.map((ref) => messageOf(ref).name)).toEqual([...frameTypesByPath()[path]].filter((type) => type !== 'pong'))
    for (const ref of [...send[0]!.messages, ...receive[0]!.messages]) expect(ref.$ref.startsWith(`#/channels/${path}/messages/`)).toBe(true)
    expect(receive[0]!.messages.map((ref) => messageOf(ref).name)).toEqual(['ping'])
    expect(receive[0]!.reply?.messages.map((ref) => messageOf(ref).name)).toEqual(['pong'])
  })

  it('gives every message a JSON payload schema whose type is its name, without forbidding added fields', () => {
    for (const message of Object.values(document.components.messages)) {
      expect(message.contentType).toBe('application/json')
      expect(message.payload.type).toBe('object')
      expect(message.payload.properties['type']?.const).toBe(message.name)
      expect(message.payload.required).toContain('type')
      expect(message.payload).not.toHaveProperty('additionalProperties')
      expect(message.payload).not.toHaveProperty('$schema')
    }
  })

  it('keeps amounts as decimal strings in the payloads', () => {
    const priceUpdate = document.components.messages['priceUpdate']!.payload.properties as Record<string, Record<string, unknown>>
    expect(priceUpdate['price']).toMatchObject({ type: 'string', pattern: expect.any(String) })
    expect(priceUpdate['timestamp']).toMatchObject({ type: 'integer', minimum: 0 })
  })

  it('renders pretty-printed JSON with a trailing newline', () => {
    const text = renderAsyncApi(generated)
    expect(text.endsWith('}\n')).toBe(true)
    expect(text.startsWith('{\n  "asyncapi": "3.0.0",')).toBe(true)
    expect(JSON.parse(text)).toEqual(generated)
  })
})
